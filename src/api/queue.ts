import { z } from 'zod';
import {
  reservedPrefixFreeName,
  argumentMap,
  immutableRule,
  rabbitmqClusterReference,
  topologyStatus,
  vhostField,
  withRules,
} from './common.ts';
import { defineResource, parseResource, type ObjectOf } from './resource.ts';
import { brokerNameColumns, readyColumns } from './columns.ts';

export const queueTypes = ['quorum', 'classic', 'stream'] as const;
export const queueDeletionPolicies = ['delete', 'delete-with-data', 'retain'] as const;

const recreate =
  'Create a new queue under another name and move consumers to it, or delete and recreate this one.';

export const queueSpecSchema = withRules(
  z.object({
    name: reservedPrefixFreeName('queue', 'Queue'),
    vhost: vhostField('Vhost of the queue.'),
    type: z
      .enum(queueTypes)
      .optional()
      .describe(
        'Queue type: quorum (replicated, the choice for data that matters), classic or stream. Unset means the ' +
          "vhost's default queue type. Warren writes it as the x-queue-type argument. Immutable: RabbitMQ cannot " +
          'change the type of an existing queue.',
      ),
    durable: z
      .boolean()
      .default(true)
      .describe(
        'Whether the queue survives a broker restart. Defaults to true (upstream defaults to false when its webhook ' +
          'is off). Quorum queues and streams are always durable. Immutable.',
      ),
    autoDelete: z
      .boolean()
      .default(false)
      .describe(
        'Whether the broker deletes the queue when its last consumer unsubscribes. Not supported by quorum queues ' +
          'and streams. Defaults to false. Immutable.',
      ),
    arguments: argumentMap()
      .optional()
      .describe(
        'Optional queue arguments (x-max-length, x-message-ttl, x-dead-letter-exchange, ...), as in the management ' +
          'UI. Immutable, because the broker keeps the arguments a queue was declared with: use a Policy for ' +
          'settings that must change later.',
      ),
    deletionPolicy: z
      .enum(queueDeletionPolicies)
      .default('delete')
      .describe(
        'What happens on the broker when this Queue is deleted. delete (default): delete the queue only when it ' +
          'holds no messages; a queue with messages is kept and the deletion is reported in an Event. ' +
          'delete-with-data: delete the queue and any messages in it. retain: never delete the queue. Upstream ' +
          'deletes non-empty queues under delete; Warren keeps them.',
      ),
    deleteIfEmpty: z
      .boolean()
      .optional()
      .describe(
        'Accepted for compatibility with the official operator: when true the queue is deleted only if empty, ' +
          'which is already what deletionPolicy delete does.',
      ),
    deleteIfUnused: z
      .boolean()
      .optional()
      .describe(
        'When true, a queue that still has consumers is kept on deletion (in addition to the deletionPolicy rule). ' +
          'Accepted for compatibility with the official operator.',
      ),
    rabbitmqClusterReference,
  }),
  [
    {
      rule: "self.durable || !has(self.type) || self.type == 'classic'",
      message: 'quorum queues and streams are always durable: remove durable: false or use type: classic',
      fieldPath: '.durable',
      check: (spec) => spec.durable || (spec.type ?? 'classic') === 'classic',
    },
    {
      rule: "!self.autoDelete || !has(self.type) || self.type == 'classic'",
      message:
        'quorum queues and streams cannot be auto-delete: remove autoDelete: true or use type: classic',
      fieldPath: '.autoDelete',
      check: (spec) => !spec.autoDelete || (spec.type ?? 'classic') === 'classic',
    },
    {
      ...immutableRule(
        `type is immutable: RabbitMQ cannot change the type of an existing queue. ${recreate}`,
      ),
      rule: 'has(self.type) == has(oldSelf.type) && (!has(self.type) || self.type == oldSelf.type)',
      fieldPath: '.type',
    },
    {
      ...immutableRule(`durable is immutable: RabbitMQ cannot change it on an existing queue. ${recreate}`),
      rule: 'self.durable == oldSelf.durable',
      fieldPath: '.durable',
    },
    {
      ...immutableRule(
        `autoDelete is immutable: RabbitMQ cannot change it on an existing queue. ${recreate}`,
      ),
      rule: 'self.autoDelete == oldSelf.autoDelete',
      fieldPath: '.autoDelete',
    },
    {
      ...immutableRule(
        'arguments are immutable: RabbitMQ keeps the arguments a queue was declared with. Use a Policy for ' +
          `settings that change, or ${recreate.charAt(0).toLowerCase()}${recreate.slice(1)}`,
      ),
      rule:
        'has(self.arguments) == has(oldSelf.arguments) && ' +
        '(!has(self.arguments) || self.arguments == oldSelf.arguments)',
      fieldPath: '.arguments',
    },
  ],
)
  // CEL cannot read single keys of the free-form arguments, so these two checks live here only: parse rejects
  // such a spec and the reconciler reports InvalidSpec.
  .refine((spec) => spec.durable || (effectiveType(spec) ?? 'classic') === 'classic', {
    error: 'a quorum queue or stream set through arguments.x-queue-type must be durable',
    path: ['durable'],
  })
  .refine(
    (spec) =>
      spec.type === undefined ||
      spec.arguments?.['x-queue-type'] === undefined ||
      spec.arguments['x-queue-type'] === spec.type,
    {
      error: 'arguments.x-queue-type contradicts type: set the queue type in one place, preferably type',
      path: ['arguments'],
    },
  )
  .describe('A queue on a RabbitMQ broker.');

/** The queue type the broker will see: spec.type, else an x-queue-type argument, else the vhost default. */
export function effectiveType(spec: {
  type?: string | undefined;
  arguments?: Record<string, unknown> | undefined;
}) {
  const fromArguments = spec.arguments?.['x-queue-type'];
  return spec.type ?? (typeof fromArguments === 'string' ? fromArguments : undefined);
}

export const queueStatusSchema = topologyStatus;

export type QueueSpec = z.output<typeof queueSpecSchema>;
export type QueueStatus = z.output<typeof queueStatusSchema>;

export const queueResource = defineResource({
  kind: 'Queue',
  plural: 'queues',
  singular: 'queue',
  shortNames: ['rmqq'],
  description:
    'A queue on a RabbitMQ broker. Durable by default; deleting the Queue keeps a queue that still holds messages ' +
    'unless deletionPolicy says otherwise.',
  specSchema: queueSpecSchema,
  statusSchema: queueStatusSchema,
  printerColumns: readyColumns([
    ...brokerNameColumns('Queue', 'queue'),
    { name: 'Type', type: 'string', jsonPath: '.spec.type', description: 'Queue type.', priority: 1 },
  ]),
});

export type Queue = ObjectOf<typeof queueResource>;

export function parseQueue(raw: unknown) {
  return parseResource(queueResource, raw);
}
