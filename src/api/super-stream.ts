import { z } from 'zod';
import {
  brokerName,
  immutable,
  rabbitmqClusterReference,
  topologyStatus,
  vhostField,
  withRules,
} from './common.ts';
import { brokerNameColumns, readyColumns } from './columns.ts';
import { defineResource, parseResource, type ObjectOf } from './resource.ts';

/** A bound that keeps the CEL rules over the routing keys cheap; far more partitions than a super stream needs. */
export const maxSuperStreamPartitions = 128;

export const superStreamDeletionPolicies = ['delete', 'delete-with-data', 'retain'] as const;

const routingKeys = withRules(
  z
    .array(z.string().min(1).max(200))
    .min(1)
    .max(maxSuperStreamPartitions)
    .meta({ 'x-kubernetes-list-type': 'atomic' }),
  [
    {
      rule: 'self.all(k, self.exists_one(other, other == k))',
      message: 'routingKeys must be distinct: each names one partition',
      check: (keys) => new Set(keys).size === keys.length,
    },
  ],
);

export const superStreamSpecSchema = withRules(
  z.object({
    name: immutable(
      brokerName('Name of the super stream: its exchange, and the prefix of its partition streams.'),
      'name is immutable: it is the identity of the super stream on the broker. Create a new SuperStream ' +
        'instead.',
    ).describe(
      'Name of the super stream on the broker: the direct exchange applications publish to; partition ' +
        '<routing key> is the stream <name>-<routing key>. Immutable.',
    ),
    vhost: vhostField('Vhost of the super stream.'),
    partitions: withRules(z.int().min(1).max(maxSuperStreamPartitions).default(3), [
      {
        rule: 'self >= oldSelf',
        message:
          'partitions can grow but never shrink: a partition is a stream that holds messages. Delete the ' +
          'partition streams on the broker yourself if their messages may go, then create a new SuperStream.',
      },
    ]).describe(
      'Number of partitions (streams). Defaults to 3. Can grow, never shrink: Warren refuses to delete a ' +
        'partition and its messages.',
    ),
    routingKeys: routingKeys
      .optional()
      .describe(
        'Routing key of each partition, in partition order; as many as partitions. Unset: "0", "1", ... up to ' +
          'partitions - 1. Keys can be appended, never removed or reordered.',
      ),
    deletionPolicy: z
      .enum(superStreamDeletionPolicies)
      .default('delete')
      .describe(
        'What happens on the broker when this SuperStream is deleted. delete (default): delete the exchange ' +
          'and the partition streams only when no partition holds messages; otherwise nothing is deleted and ' +
          'the SuperStream waits, Ready=False, saying which partitions hold messages. delete-with-data: delete ' +
          'them with their messages. retain: keep them. The official operator has no such field and deletes ' +
          'the partitions with their messages.',
      ),
    rabbitmqClusterReference,
  }),
  [
    {
      rule: '!has(self.routingKeys) || size(self.routingKeys) == self.partitions',
      message: 'routingKeys names one key per partition: set partitions to the number of routingKeys',
      fieldPath: '.routingKeys',
      check: (spec) => spec.routingKeys === undefined || spec.routingKeys.length === spec.partitions,
    },
    {
      rule:
        '!has(oldSelf.routingKeys) || (has(self.routingKeys) && oldSelf.routingKeys.all(k, ' +
        'self.routingKeys.indexOf(k) == oldSelf.routingKeys.indexOf(k)))',
      message:
        'routingKeys can only be appended to: each key names a partition stream that holds messages, in a ' +
        'fixed order. Keep the existing keys in their order and add new ones at the end.',
      fieldPath: '.routingKeys',
    },
  ],
).describe('A super stream: a partitioned stream on a RabbitMQ broker.');

export const superStreamStatusSchema = topologyStatus;

export type SuperStreamSpec = z.output<typeof superStreamSpecSchema>;
export type SuperStreamStatus = z.output<typeof superStreamStatusSchema>;

export const superStreamResource = defineResource({
  kind: 'SuperStream',
  plural: 'superstreams',
  singular: 'superstream',
  shortNames: ['rmqss'],
  description:
    'A super stream on a RabbitMQ broker: partition streams behind one direct exchange that routes each ' +
    'message to a partition by its routing key. Partitions can be added, never removed.',
  specSchema: superStreamSpecSchema,
  statusSchema: superStreamStatusSchema,
  printerColumns: readyColumns([
    ...brokerNameColumns('SuperStream', 'super stream'),
    {
      name: 'Partitions',
      type: 'integer',
      jsonPath: '.spec.partitions',
      description: 'Number of partitions.',
      priority: 1,
    },
  ]),
});

export type SuperStream = ObjectOf<typeof superStreamResource>;

export function parseSuperStream(raw: unknown) {
  return parseResource(superStreamResource, raw);
}
