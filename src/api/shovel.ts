import { z } from 'zod';
import {
  argumentMap,
  brokerName,
  count,
  immutable,
  localObjectReference,
  rabbitmqClusterReference,
  topologyStatus,
  vhostField,
  withRules,
} from './common.ts';
import { brokerNameColumns, readyColumns } from './columns.ts';
import { defineResource, parseResource, type ObjectOf } from './resource.ts';

export const shovelProtocols = ['amqp091', 'amqp10'] as const;
export const shovelAckModes = ['on-confirm', 'on-publish', 'no-ack'] as const;
export const parameterDeletionPolicies = ['delete', 'retain'] as const;

/** `never`, `queue-length` or a number of messages, as a string (the upstream field is a string). */
export const deleteAfterPattern = /^(never|queue-length|[0-9]+)$/;

function deleteAfter(what: string) {
  return z
    .string()
    .regex(deleteAfterPattern, 'must be never, queue-length or a number of messages')
    .optional()
    .describe(
      `${what}: "never" (default), "queue-length" (the messages in the source queue when the shovel starts) or ` +
        'a number of messages, written as a string.',
    );
}

function options(description: string) {
  return argumentMap().optional().describe(description);
}

const amqp10 = (self: string) => `has(${self}) && ${self} == 'amqp10'`;

export const shovelSpecSchema = withRules(
  z.object({
    name: immutable(
      brokerName('Name of the shovel on the broker.'),
      'name is immutable: it is the identity of the shovel on the broker. Create a new Shovel instead.',
    ).describe('Name of the shovel on the broker. Immutable.'),
    vhost: vhostField('Vhost the shovel is declared in.'),
    uriSecret: localObjectReference.describe(
      'A Secret in this namespace with the keys srcUri and destUri: the AMQP URI of the source and of the ' +
        'destination, each one URI or several separated by commas (tried in turn). The URIs stay in the Secret; ' +
        'Warren follows changes to it.',
    ),
    ackMode: z
      .enum(shovelAckModes)
      .optional()
      .describe(
        'When messages are acknowledged at the source: on-confirm (after the destination confirms, the ' +
          "broker's default), on-publish (after publishing) or no-ack (never; fastest, messages can be lost).",
      ),
    prefetchCount: count()
      .optional()
      .describe('Messages in flight between source and destination (the older name of srcPrefetchCount).'),
    reconnectDelay: count()
      .optional()
      .describe(
        'Seconds to wait before reconnecting after a failure; 0 does not reconnect. Broker default 5.',
      ),
    addForwardHeaders: z
      .boolean()
      .optional()
      .describe('Add x-shovelled headers to shovelled messages (the older name of destAddForwardHeaders).'),
    deleteAfter: deleteAfter('When the shovel deletes itself (the older name of srcDeleteAfter)'),
    srcDeleteAfter: deleteAfter('When the shovel deletes itself'),
    srcPrefetchCount: count().optional().describe('Messages in flight between source and destination.'),
    destAddForwardHeaders: z
      .boolean()
      .optional()
      .describe('Add x-shovelled headers naming the shovel, source and destination to shovelled messages.'),
    destAddTimestampHeader: z
      .boolean()
      .optional()
      .describe('Add an x-shovelled-timestamp header with the time the message was shovelled.'),
    destProtocol: z
      .enum(shovelProtocols)
      .optional()
      .describe('Protocol of the destination: amqp091 (default) or amqp10 (then destAddress is required).'),
    destQueue: brokerName('AMQP 0-9-1: the queue to publish to (declared if missing).').optional(),
    destExchange: brokerName('AMQP 0-9-1: the exchange to publish to.').optional(),
    destExchangeKey: z
      .string()
      .max(255)
      .optional()
      .describe('AMQP 0-9-1: the routing key to publish with; unset keeps each message’s own.'),
    destPublishProperties: options('AMQP 0-9-1: message properties to set on shovelled messages.'),
    destQueueArgs: options('AMQP 0-9-1: arguments of destQueue when the shovel declares it.'),
    destAddress: z.string().min(1).max(255).optional().describe('AMQP 1.0: the address to send to.'),
    destApplicationProperties: options('AMQP 1.0: application properties to set on shovelled messages.'),
    destProperties: options('AMQP 1.0: properties to set on shovelled messages.'),
    destMessageAnnotations: options('AMQP 1.0: message annotations to set on shovelled messages.'),
    srcProtocol: z
      .enum(shovelProtocols)
      .optional()
      .describe('Protocol of the source: amqp091 (default) or amqp10 (then srcAddress is required).'),
    srcQueue: brokerName('AMQP 0-9-1: the queue to consume from (declared if missing).').optional(),
    srcExchange: brokerName(
      'AMQP 0-9-1: the exchange to consume from, through a queue the shovel declares and binds.',
    ).optional(),
    srcExchangeKey: z
      .string()
      .max(255)
      .optional()
      .describe('AMQP 0-9-1: the routing key that binds srcExchange to the shovel’s queue.'),
    srcConsumerArgs: options('AMQP 0-9-1: consumer arguments of the shovel’s consumer.'),
    srcQueueArgs: options('AMQP 0-9-1: arguments of srcQueue when the shovel declares it.'),
    srcAddress: z.string().min(1).max(255).optional().describe('AMQP 1.0: the address to receive from.'),
    deletionPolicy: z
      .enum(parameterDeletionPolicies)
      .default('delete')
      .describe('What happens on the broker when this Shovel is deleted: delete (default) or retain.'),
    rabbitmqClusterReference,
  }),
  [
    {
      rule: `!(${amqp10('self.srcProtocol')}) || has(self.srcAddress)`,
      message: 'srcAddress is required when srcProtocol is amqp10',
      fieldPath: '.srcAddress',
      check: (s) => s.srcProtocol !== 'amqp10' || s.srcAddress !== undefined,
    },
    {
      rule: `(${amqp10('self.srcProtocol')}) || has(self.srcQueue) != has(self.srcExchange)`,
      message: 'set exactly one of srcQueue and srcExchange for an AMQP 0-9-1 source',
      check: (s) =>
        s.srcProtocol === 'amqp10' || (s.srcQueue === undefined) !== (s.srcExchange === undefined),
    },
    {
      rule: `!(${amqp10('self.destProtocol')}) || has(self.destAddress)`,
      message: 'destAddress is required when destProtocol is amqp10',
      fieldPath: '.destAddress',
      check: (s) => s.destProtocol !== 'amqp10' || s.destAddress !== undefined,
    },
    {
      rule: '!(has(self.destQueue) && has(self.destExchange))',
      message: 'set at most one of destQueue and destExchange',
      check: (s) => s.destQueue === undefined || s.destExchange === undefined,
    },
  ],
).describe('A dynamic shovel on a RabbitMQ broker: it moves messages from a source to a destination.');

export const shovelStatusSchema = topologyStatus;

export type ShovelSpec = z.output<typeof shovelSpecSchema>;
export type ShovelStatus = z.output<typeof shovelStatusSchema>;

export const shovelResource = defineResource({
  kind: 'Shovel',
  plural: 'shovels',
  singular: 'shovel',
  shortNames: ['rmqshovel'],
  description:
    'A dynamic shovel on a RabbitMQ broker, moving messages from a queue or exchange to another, on the same ' +
    'broker or another one. The URIs come from a Secret.',
  specSchema: shovelSpecSchema,
  statusSchema: shovelStatusSchema,
  printerColumns: readyColumns([
    ...brokerNameColumns('Shovel', 'shovel'),
    { name: 'Source', type: 'string', jsonPath: '.spec.srcQueue', description: 'Source queue.', priority: 1 },
    {
      name: 'Destination',
      type: 'string',
      jsonPath: '.spec.destQueue',
      description: 'Destination queue.',
      priority: 1,
    },
  ]),
});

export type Shovel = ObjectOf<typeof shovelResource>;

export function parseShovel(raw: unknown) {
  return parseResource(shovelResource, raw);
}
