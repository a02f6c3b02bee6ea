import { z } from 'zod';
import {
  brokerName,
  count,
  immutable,
  localObjectReference,
  rabbitmqClusterReference,
  topologyStatus,
  vhostField,
} from './common.ts';
import { brokerNameColumns, readyColumns } from './columns.ts';
import { defineResource, parseResource, type ObjectOf } from './resource.ts';
import { parameterDeletionPolicies, shovelAckModes } from './shovel.ts';

export const federationSpecSchema = z
  .object({
    name: immutable(
      brokerName('Name of the federation upstream on the broker.'),
      'name is immutable: it is the identity of the federation upstream on the broker. Create a new Federation ' +
        'instead.',
    ).describe(
      'Name of the federation upstream on the broker; a policy applies it with federation-upstream. Immutable.',
    ),
    vhost: vhostField('Vhost of the federation upstream (the downstream vhost).'),
    uriSecret: localObjectReference.describe(
      'A Secret in this namespace with the key uri: the AMQP URI of the upstream broker, or several separated by ' +
        'commas (tried in turn). The URI stays in the Secret; Warren follows changes to it.',
    ),
    'prefetch-count': count()
      .optional()
      .describe('Messages in flight on the link from the upstream (hyphenated, as upstream spells it).'),
    ackMode: z
      .enum(shovelAckModes)
      .optional()
      .describe('When the link acknowledges upstream: on-confirm (broker default), on-publish or no-ack.'),
    expires: count()
      .optional()
      .describe(
        'Milliseconds after which the upstream queue of an exchange link expires while disconnected.',
      ),
    messageTTL: count()
      .optional()
      .describe('Milliseconds messages live in the upstream queue of an exchange link.'),
    maxHops: count()
      .optional()
      .describe('How many federation links a message may cross before it is dropped. Broker default 1.'),
    reconnectDelay: count()
      .optional()
      .describe('Seconds to wait before reconnecting after a failure. Broker default 5.'),
    trustUserId: z
      .boolean()
      .optional()
      .describe('Keep the user-id of federated messages (needs the same users on both brokers).'),
    exchange: brokerName(
      'The upstream exchange to federate from; defaults to the name of the downstream exchange.',
    ).optional(),
    queue: brokerName(
      'The upstream queue to federate from; defaults to the name of the downstream queue.',
    ).optional(),
    queueType: z
      .enum(['classic', 'quorum'])
      .optional()
      .describe('Type of the upstream queue of an exchange link (RabbitMQ 3.13 and later).'),
    resourceCleanupMode: z
      .enum(['default', 'never'])
      .optional()
      .describe(
        'never keeps the upstream queue of an exchange link when the link is removed (RabbitMQ 3.13 and later).',
      ),
    deletionPolicy: z
      .enum(parameterDeletionPolicies)
      .default('delete')
      .describe('What happens on the broker when this Federation is deleted: delete (default) or retain.'),
    rabbitmqClusterReference,
  })
  .describe(
    'A federation upstream on a RabbitMQ broker: a remote broker that exchanges or queues federate from.',
  );

export const federationStatusSchema = topologyStatus;

export type FederationSpec = z.output<typeof federationSpecSchema>;
export type FederationStatus = z.output<typeof federationStatusSchema>;

export const federationResource = defineResource({
  kind: 'Federation',
  plural: 'federations',
  singular: 'federation',
  shortNames: ['rmqfed'],
  description:
    'A federation upstream on a RabbitMQ broker. A Policy with the key federation-upstream (or ' +
    'federation-upstream-set) federates the exchanges or queues it matches from it. The URI comes from a Secret.',
  specSchema: federationSpecSchema,
  statusSchema: federationStatusSchema,
  printerColumns: readyColumns([...brokerNameColumns('Upstream', 'federation upstream')]),
});

export type Federation = ObjectOf<typeof federationResource>;

export function parseFederation(raw: unknown) {
  return parseResource(federationResource, raw);
}
