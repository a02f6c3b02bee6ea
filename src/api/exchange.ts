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
import { brokerNameColumns, readyColumns } from './columns.ts';
import { defineResource, parseResource, type ObjectOf } from './resource.ts';

export const exchangeDeletionPolicies = ['delete', 'retain'] as const;

const recreate = 'Create a new exchange under another name, or delete and recreate this one.';

export const exchangeSpecSchema = withRules(
  z.object({
    name: reservedPrefixFreeName('exchange', 'Exchange'),
    vhost: vhostField('Vhost of the exchange.'),
    type: z
      .string()
      .min(1)
      .max(255)
      .default('direct')
      .describe(
        'Exchange type: direct (default), fanout, topic, headers, or a type added by a plugin such as ' +
          'x-delayed-message or x-consistent-hash. Immutable.',
      ),
    durable: z
      .boolean()
      .default(true)
      .describe(
        'Whether the exchange survives a broker restart. Defaults to true; upstream defaults to false, which loses ' +
          'the exchange (and its bindings) on the first restart. Immutable.',
      ),
    autoDelete: z
      .boolean()
      .default(false)
      .describe(
        'Whether the broker deletes the exchange when its last binding is removed. Defaults to false. Immutable.',
      ),
    arguments: argumentMap()
      .optional()
      .describe(
        'Optional exchange arguments (alternate-exchange, x-delayed-type, ...). Immutable, because the broker keeps ' +
          'the arguments an exchange was declared with and silently ignores new ones (upstream accepts the change ' +
          'and loses it). Use a Policy for settings that must change later.',
      ),
    deletionPolicy: z
      .enum(exchangeDeletionPolicies)
      .default('delete')
      .describe(
        'What happens on the broker when this Exchange is deleted: delete (default) removes the exchange, retain ' +
          'keeps it. A Warren extension; upstream always deletes.',
      ),
    rabbitmqClusterReference,
  }),
  [
    {
      ...immutableRule(
        `type is immutable: RabbitMQ cannot change the type of an existing exchange. ${recreate}`,
      ),
      rule: 'self.type == oldSelf.type',
      fieldPath: '.type',
    },
    {
      ...immutableRule(
        `durable is immutable: RabbitMQ cannot change it on an existing exchange. ${recreate}`,
      ),
      rule: 'self.durable == oldSelf.durable',
      fieldPath: '.durable',
    },
    {
      ...immutableRule(
        `autoDelete is immutable: RabbitMQ cannot change it on an existing exchange. ${recreate}`,
      ),
      rule: 'self.autoDelete == oldSelf.autoDelete',
      fieldPath: '.autoDelete',
    },
    {
      ...immutableRule(
        'arguments are immutable: RabbitMQ keeps the arguments an exchange was declared with. Use a Policy for ' +
          'settings that change, or create a new exchange.',
      ),
      rule:
        'has(self.arguments) == has(oldSelf.arguments) && ' +
        '(!has(self.arguments) || self.arguments == oldSelf.arguments)',
      fieldPath: '.arguments',
    },
  ],
).describe('An exchange on a RabbitMQ broker.');

export const exchangeStatusSchema = topologyStatus;

export type ExchangeSpec = z.output<typeof exchangeSpecSchema>;
export type ExchangeStatus = z.output<typeof exchangeStatusSchema>;

export const exchangeResource = defineResource({
  kind: 'Exchange',
  plural: 'exchanges',
  singular: 'exchange',
  shortNames: ['rmqx'],
  description: 'An exchange on a RabbitMQ broker. Durable by default.',
  specSchema: exchangeSpecSchema,
  statusSchema: exchangeStatusSchema,
  printerColumns: readyColumns([
    ...brokerNameColumns('Exchange', 'exchange'),
    { name: 'Type', type: 'string', jsonPath: '.spec.type', description: 'Exchange type.', priority: 1 },
  ]),
});

export type Exchange = ObjectOf<typeof exchangeResource>;

export function parseExchange(raw: unknown) {
  return parseResource(exchangeResource, raw);
}
