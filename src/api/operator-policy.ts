import { z } from 'zod';
import {
  brokerName,
  immutable,
  int32,
  rabbitmqClusterReference,
  topologyStatus,
  vhostField,
  withRules,
} from './common.ts';
import { brokerNameColumns, readyColumns } from './columns.ts';
import { defineResource, parseResource, type ObjectOf } from './resource.ts';

export const operatorPolicyApplyTo = ['queues', 'classic_queues', 'quorum_queues', 'streams'] as const;

/** The only keys RabbitMQ accepts in an operator policy: limits an operator may impose on any queue. */
export const operatorPolicyKeys = [
  'expires',
  'message-ttl',
  'max-length',
  'max-length-bytes',
  'max-in-memory-length',
  'max-in-memory-bytes',
  'delivery-limit',
] as const;

const allowedKeys = new Set<string>(operatorPolicyKeys);

const definition = withRules(
  z
    .record(z.string(), z.int().min(0))
    .refine((map) => Object.keys(map).length > 0, 'definition must set at least one key')
    .meta({ minProperties: 1, maxProperties: operatorPolicyKeys.length }),
  [
    {
      rule: `self.all(k, k in [${operatorPolicyKeys.map((k) => `'${k}'`).join(', ')}])`,
      message: `an operator policy may only set ${operatorPolicyKeys.join(', ')}`,
      check: (map) => Object.keys(map).every((key) => allowedKeys.has(key)),
    },
  ],
).describe(
  'The limits to impose, as non-negative integers: any of ' +
    `${operatorPolicyKeys.join(', ')} (the keys RabbitMQ allows in operator policies), for example ` +
    '{"max-length": 10000}. Where a policy sets the same key, the queue gets the lower value.',
);

export const operatorPolicySpecSchema = z
  .object({
    name: immutable(
      brokerName('Name of the operator policy on the broker.'),
      'name is immutable: it is the identity of the operator policy on the broker. Create a new ' +
        'OperatorPolicy instead.',
    ).describe('Name of the operator policy on the broker. Immutable.'),
    vhost: vhostField('Vhost of the operator policy.'),
    pattern: z
      .string()
      .min(1)
      .max(1024)
      .describe('Regular expression matched against queue names, for example "^orders\\." .'),
    applyTo: z
      .enum(operatorPolicyApplyTo)
      .default('queues')
      .describe(
        'What the operator policy applies to: queues (all queue types, the default), classic_queues, ' +
          'quorum_queues or streams. The last three need RabbitMQ 3.12 or later; older brokers refuse them.',
      ),
    priority: int32()
      .default(0)
      .describe(
        'Priority among the operator policies matching the same queue; the highest wins. Defaults to 0.',
      ),
    definition,
    rabbitmqClusterReference,
  })
  .describe('An operator policy on a RabbitMQ broker.');

export const operatorPolicyStatusSchema = topologyStatus;

export type OperatorPolicySpec = z.output<typeof operatorPolicySpecSchema>;
export type OperatorPolicyStatus = z.output<typeof operatorPolicyStatusSchema>;

export const operatorPolicyResource = defineResource({
  kind: 'OperatorPolicy',
  plural: 'operatorpolicies',
  singular: 'operatorpolicy',
  shortNames: ['rmqoppol'],
  description:
    'An operator policy on a RabbitMQ broker: limits (length, TTL, delivery limit) imposed on the queues whose ' +
    'names match a pattern, on top of the policies applications set.',
  specSchema: operatorPolicySpecSchema,
  statusSchema: operatorPolicyStatusSchema,
  printerColumns: readyColumns([
    ...brokerNameColumns('OperatorPolicy', 'operator policy'),
    { name: 'Pattern', type: 'string', jsonPath: '.spec.pattern', description: 'Name pattern.', priority: 1 },
    { name: 'ApplyTo', type: 'string', jsonPath: '.spec.applyTo', description: 'Queue types.', priority: 1 },
  ]),
});

export type OperatorPolicy = ObjectOf<typeof operatorPolicyResource>;

export function parseOperatorPolicy(raw: unknown) {
  return parseResource(operatorPolicyResource, raw);
}
