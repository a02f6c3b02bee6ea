import { z } from 'zod';
import { conditions, count, localObjectReference, rabbitmqClusterReference, setOf } from './common.ts';
import { readyColumns } from './columns.ts';
import { defineResource, parseResource, type ObjectOf } from './resource.ts';

export const userTags = ['management', 'policymaker', 'monitoring', 'administrator', 'impersonator'] as const;

export const userSpecSchema = z
  .object({
    tags: setOf(z.enum(userTags))
      .max(userTags.length)
      .optional()
      .describe(
        'Tags that grant management permissions: management, policymaker, monitoring, administrator, and ' +
          'impersonator (lets the user set the user_id of messages to another user; upstream lacks it).',
      ),
    importCredentialsSecret: localObjectReference
      .optional()
      .describe(
        'A Secret in this namespace holding the credentials: username (required), and passwordHash (a RabbitMQ ' +
          'password hash; "" makes a passwordless user) or password. Warren follows changes to the Secret. ' +
          'Unset: Warren generates a username and password once and stores them in <name>-user-credentials.',
      ),
    limits: z
      .object({
        connections: count()
          .optional()
          .describe('Maximum number of connections of the user (max-connections).'),
        channels: count().optional().describe('Maximum number of channels of the user (max-channels).'),
      })
      .optional()
      .describe('User limits. Unset means no limit.'),
    rabbitmqClusterReference,
  })
  .describe('A user on a RabbitMQ broker.');

export const userStatusSchema = z
  .object({
    observedGeneration: z.int().min(0).optional().describe('The metadata.generation the status describes.'),
    conditions: conditions
      .optional()
      .describe(
        'Ready is True when the broker matches the spec; its reason and message say why not otherwise.',
      ),
    username: z.string().optional().describe('The username on the broker.'),
    credentials: localObjectReference
      .optional()
      .describe('The Secret holding the credentials in use (keys username and password).'),
  })
  .describe('Observed state, written by Warren.');

export type UserSpec = z.output<typeof userSpecSchema>;
export type UserStatus = z.output<typeof userStatusSchema>;

export const userResource = defineResource({
  kind: 'User',
  plural: 'users',
  singular: 'user',
  shortNames: ['rmqu'],
  description:
    'A user on a RabbitMQ broker, with credentials from a Secret you provide or generated once by Warren. ' +
    'Grant it access with a Permission.',
  specSchema: userSpecSchema,
  statusSchema: userStatusSchema,
  printerColumns: readyColumns([
    { name: 'Username', type: 'string', jsonPath: '.status.username', description: 'Username.', priority: 1 },
  ]),
});

export type User = ObjectOf<typeof userResource>;

export function parseUser(raw: unknown) {
  return parseResource(userResource, raw);
}
