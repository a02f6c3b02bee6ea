import { z } from 'zod';
import {
  brokerName,
  immutable,
  immutableRule,
  localObjectReference,
  rabbitmqClusterReference,
  topologyStatus,
  withRules,
  type Rule,
} from './common.ts';
import { readyColumns } from './columns.ts';
import { defineResource, parseResource, type ObjectOf } from './resource.ts';

function permissionPattern(what: string) {
  return z
    .string()
    .max(1024)
    .default('')
    .describe(
      `Regular expression of the resources the user may ${what}. Defaults to "", which matches nothing.`,
    );
}

/**
 * How a Permission or TopicPermission names its user: a username or a User in the namespace, exactly one, and
 * neither can change (the user is part of the permission's identity on the broker).
 */
export function permissionUser(kind: string) {
  const fields = {
    user: brokerName(
      'Username on the broker. Exactly one of user and userReference is set. Immutable.',
    ).optional(),
    userReference: localObjectReference
      .optional()
      .describe(
        `A User in this namespace; its username is used, and deleting the User deletes this ${kind}. Exactly ` +
          'one of user and userReference is set. Immutable.',
      ),
  };
  const rules: Rule<{ user?: string | undefined; userReference?: { name: string } | undefined }>[] = [
    {
      rule: 'has(self.user) != has(self.userReference)',
      message: 'set exactly one of user (a username) and userReference (a User in this namespace)',
      check: (spec) => (spec.user === undefined) !== (spec.userReference === undefined),
    },
    {
      ...immutableRule(
        `user is immutable: it is the identity of the permission on the broker. Create a new ${kind} instead.`,
      ),
      rule: 'has(self.user) == has(oldSelf.user) && (!has(self.user) || self.user == oldSelf.user)',
      fieldPath: '.user',
    },
    {
      ...immutableRule(
        'userReference is immutable: it is the identity of the permission on the broker. ' +
          `Create a new ${kind} instead.`,
      ),
      rule:
        'has(self.userReference) == has(oldSelf.userReference) && ' +
        '(!has(self.userReference) || self.userReference == oldSelf.userReference)',
      fieldPath: '.userReference',
    },
  ];
  return { fields, rules };
}

export const permissionSpecSchema = withRules(
  z.object({
    ...permissionUser('Permission').fields,
    vhost: immutable(
      z.string().min(1).max(255),
      'vhost is immutable: it is part of the identity of the permission on the broker. Create a new Permission instead.',
    ).describe('The vhost the permissions apply to. Immutable.'),
    permissions: z
      .object({
        configure: permissionPattern('create, delete and change'),
        write: permissionPattern('publish to'),
        read: permissionPattern('consume from and bind from'),
      })
      .describe('Regular expressions matched against resource names, as in rabbitmqctl set_permissions.'),
    rabbitmqClusterReference,
  }),
  permissionUser('Permission').rules,
).describe('The permissions of one user in one vhost.');

export const permissionStatusSchema = topologyStatus;

export type PermissionSpec = z.output<typeof permissionSpecSchema>;
export type PermissionStatus = z.output<typeof permissionStatusSchema>;

export const permissionResource = defineResource({
  kind: 'Permission',
  plural: 'permissions',
  singular: 'permission',
  shortNames: ['rmqperm'],
  description: 'The configure, write and read permissions of one user in one vhost of a RabbitMQ broker.',
  specSchema: permissionSpecSchema,
  statusSchema: permissionStatusSchema,
  printerColumns: readyColumns([
    { name: 'User', type: 'string', jsonPath: '.spec.user', description: 'Username.', priority: 1 },
    { name: 'Vhost', type: 'string', jsonPath: '.spec.vhost', description: 'Vhost.', priority: 1 },
  ]),
});

export type Permission = ObjectOf<typeof permissionResource>;

export function parsePermission(raw: unknown) {
  return parseResource(permissionResource, raw);
}
