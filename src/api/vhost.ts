import { z } from 'zod';
import { brokerName, count, immutable, rabbitmqClusterReference, setOf, topologyStatus } from './common.ts';
import { brokerNameColumns, readyColumns } from './columns.ts';
import { queueTypes } from './queue.ts';
import { defineResource, parseResource, type ObjectOf } from './resource.ts';

export const vhostDeletionPolicies = ['delete', 'delete-with-data', 'retain'] as const;

export const vhostSpecSchema = z
  .object({
    name: immutable(
      brokerName('Name of the vhost on the broker.'),
      'name is immutable: it is the identity of the vhost on the broker. Create a new Vhost instead.',
    ).describe('Name of the vhost on the broker. Immutable.'),
    tracing: z
      .boolean()
      .default(false)
      .describe('Whether message tracing (the firehose) is on. Defaults to false.'),
    tags: setOf(z.string().min(1).max(255))
      .max(64)
      .optional()
      .describe('Tags of the vhost, for operators and tools; RabbitMQ gives them no meaning.'),
    defaultQueueType: z
      .enum(queueTypes)
      .optional()
      .describe(
        'The queue type of queues declared in this vhost without one: quorum, classic or stream. Needs RabbitMQ ' +
          '3.11.12 or later. Unset means the broker default (classic).',
      ),
    limits: z
      .object({
        connections: count()
          .optional()
          .describe('Maximum number of client connections to the vhost (max-connections).'),
        queues: count().optional().describe('Maximum number of queues in the vhost (max-queues).'),
      })
      .optional()
      .describe('Vhost limits. Unset means no limit; 0 forbids connections or queues.'),
    deletionPolicy: z
      .enum(vhostDeletionPolicies)
      .default('delete')
      .describe(
        'What happens on the broker when this Vhost is deleted. delete (default): delete the vhost only when none ' +
          'of its queues hold messages; otherwise keep it and report why in an Event. delete-with-data: delete the ' +
          'vhost with everything in it. retain: never delete it. Upstream deletes the vhost and everything in it ' +
          'under delete.',
      ),
    rabbitmqClusterReference,
  })
  .describe('A virtual host on a RabbitMQ broker.');

export const vhostStatusSchema = topologyStatus;

export type VhostSpec = z.output<typeof vhostSpecSchema>;
export type VhostStatus = z.output<typeof vhostStatusSchema>;

export const vhostResource = defineResource({
  kind: 'Vhost',
  plural: 'vhosts',
  singular: 'vhost',
  shortNames: ['rmqvh'],
  description:
    'A virtual host on a RabbitMQ broker. Deleting the Vhost keeps a vhost whose queues still hold messages ' +
    'unless deletionPolicy says otherwise.',
  specSchema: vhostSpecSchema,
  statusSchema: vhostStatusSchema,
  printerColumns: readyColumns([...brokerNameColumns('Vhost')]),
});

export type Vhost = ObjectOf<typeof vhostResource>;

export function parseVhost(raw: unknown) {
  return parseResource(vhostResource, raw);
}
