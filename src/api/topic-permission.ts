import { z } from 'zod';
import { immutable, rabbitmqClusterReference, topologyStatus, withRules } from './common.ts';
import { readyColumns } from './columns.ts';
import { permissionUser } from './permission.ts';
import { defineResource, parseResource, type ObjectOf } from './resource.ts';

function routingKeyPattern(what: string) {
  return z
    .string()
    .max(1024)
    .default('')
    .describe(
      `Regular expression of the routing keys the user may ${what} on this topic exchange. Defaults to "", ` +
        'which matches only the empty routing key.',
    );
}

const user = permissionUser('TopicPermission');

export const topicPermissionSpecSchema = withRules(
  z.object({
    ...user.fields,
    vhost: immutable(
      z.string().min(1).max(255),
      'vhost is immutable: it is part of the identity of the topic permission on the broker. Create a new ' +
        'TopicPermission instead.',
    ).describe('The vhost of the topic exchange. Immutable.'),
    permissions: z
      .object({
        exchange: immutable(
          z.string().min(1).max(255),
          'permissions.exchange is immutable: it is part of the identity of the topic permission on the ' +
            'broker. Create a new TopicPermission instead.',
        ).describe('The topic exchange the patterns apply to. Immutable.'),
        write: routingKeyPattern('publish with'),
        read: routingKeyPattern('bind queues with'),
      })
      .describe('Routing-key patterns on one topic exchange, as in rabbitmqctl set_topic_permissions.'),
    rabbitmqClusterReference,
  }),
  user.rules,
).describe('The topic permissions of one user on one topic exchange in one vhost.');

export const topicPermissionStatusSchema = topologyStatus;

export type TopicPermissionSpec = z.output<typeof topicPermissionSpecSchema>;
export type TopicPermissionStatus = z.output<typeof topicPermissionStatusSchema>;

export const topicPermissionResource = defineResource({
  kind: 'TopicPermission',
  plural: 'topicpermissions',
  singular: 'topicpermission',
  shortNames: ['rmqtopicperm'],
  description:
    'The routing keys one user may publish and bind with on one topic exchange of a RabbitMQ broker (topic ' +
    'authorisation).',
  specSchema: topicPermissionSpecSchema,
  statusSchema: topicPermissionStatusSchema,
  printerColumns: readyColumns([
    { name: 'User', type: 'string', jsonPath: '.spec.user', description: 'Username.', priority: 1 },
    { name: 'Vhost', type: 'string', jsonPath: '.spec.vhost', description: 'Vhost.', priority: 1 },
    {
      name: 'Exchange',
      type: 'string',
      jsonPath: '.spec.permissions.exchange',
      description: 'Topic exchange.',
      priority: 1,
    },
  ]),
});

export type TopicPermission = ObjectOf<typeof topicPermissionResource>;

export function parseTopicPermission(raw: unknown) {
  return parseResource(topicPermissionResource, raw);
}
