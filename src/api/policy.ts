import { z } from 'zod';
import {
  brokerName,
  argumentMap,
  immutable,
  int32,
  rabbitmqClusterReference,
  topologyStatus,
  vhostField,
} from './common.ts';
import { brokerNameColumns, readyColumns } from './columns.ts';
import { defineResource, parseResource, type ObjectOf } from './resource.ts';

export const policyApplyTo = [
  'queues',
  'classic_queues',
  'quorum_queues',
  'streams',
  'exchanges',
  'all',
] as const;

export const policySpecSchema = z
  .object({
    name: immutable(
      brokerName('Name of the policy on the broker.'),
      'name is immutable: it is the identity of the policy on the broker. Create a new Policy instead.',
    ).describe('Name of the policy on the broker. Immutable.'),
    vhost: vhostField('Vhost of the policy.'),
    pattern: z
      .string()
      .min(1)
      .max(1024)
      .describe(
        'Regular expression matched against the names of queues and exchanges, for example "^orders\\." .',
      ),
    applyTo: z
      .enum(policyApplyTo)
      .default('all')
      .describe(
        'What the policy applies to: queues (all queue types), classic_queues, quorum_queues, streams, exchanges ' +
          'or all (default).',
      ),
    priority: int32()
      .default(0)
      .describe('Priority among the policies matching the same object; the highest wins. Defaults to 0.'),
    definition: argumentMap()
      .refine((definition) => Object.keys(definition).length > 0, 'definition must set at least one key')
      .meta({ minProperties: 1 })
      .describe(
        'The policy definition as in the management UI, for example {"max-length": 10000, "dead-letter-exchange": ' +
          '"dlx"}. The broker validates the keys.',
      ),
    rabbitmqClusterReference,
  })
  .describe('A policy on a RabbitMQ broker.');

export const policyStatusSchema = topologyStatus;

export type PolicySpec = z.output<typeof policySpecSchema>;
export type PolicyStatus = z.output<typeof policyStatusSchema>;

export const policyResource = defineResource({
  kind: 'Policy',
  plural: 'policies',
  singular: 'policy',
  shortNames: ['rmqpol'],
  description:
    'A policy on a RabbitMQ broker: settings applied to the queues or exchanges whose names match a pattern.',
  specSchema: policySpecSchema,
  statusSchema: policyStatusSchema,
  printerColumns: readyColumns([
    ...brokerNameColumns('Policy', 'policy'),
    { name: 'Pattern', type: 'string', jsonPath: '.spec.pattern', description: 'Name pattern.', priority: 1 },
  ]),
});

export type Policy = ObjectOf<typeof policyResource>;

export function parsePolicy(raw: unknown) {
  return parseResource(policyResource, raw);
}
