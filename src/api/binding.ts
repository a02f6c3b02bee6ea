import { z } from 'zod';
import { argumentMap, rabbitmqClusterReference, topologyStatus, vhostField, withRules } from './common.ts';
import { readyColumns } from './columns.ts';
import { defineResource, parseResource, type ObjectOf } from './resource.ts';

export const bindingDestinationTypes = ['queue', 'exchange'] as const;

export const bindingSpecSchema = withRules(
  z.object({
    vhost: vhostField('Vhost of the binding.'),
    source: z
      .string()
      .min(1)
      .max(255)
      .describe('Name of the source exchange. The default exchange ("") cannot be bound. Immutable.'),
    destination: z.string().min(1).max(255).describe('Name of the destination queue or exchange. Immutable.'),
    destinationType: z
      .enum(bindingDestinationTypes)
      .describe('Whether destination names a queue or an exchange. Immutable.'),
    routingKey: z
      .string()
      .max(255)
      .default('')
      .describe('Routing key (binding key) of the binding. Defaults to "". Immutable.'),
    arguments: argumentMap()
      .optional()
      .describe(
        'Optional binding arguments, for example the x-match and header values of a headers exchange. Immutable.',
      ),
    rabbitmqClusterReference,
  }),
  [
    {
      rule: 'self == oldSelf',
      message:
        'a Binding cannot change in place: source, destination, routing key and arguments are its identity on the ' +
        'broker. Create a new Binding and delete this one.',
    },
  ],
).describe(
  'A binding on a RabbitMQ broker. Everything in the spec is immutable: a binding has no identity apart from its fields.',
);

export const bindingStatusSchema = topologyStatus;

export type BindingSpec = z.output<typeof bindingSpecSchema>;
export type BindingStatus = z.output<typeof bindingStatusSchema>;

export const bindingResource = defineResource({
  kind: 'Binding',
  plural: 'bindings',
  singular: 'binding',
  shortNames: ['rmqb'],
  description:
    'A binding from an exchange to a queue or exchange on a RabbitMQ broker. Immutable: to change a binding, ' +
    'create the new one and delete the old one.',
  specSchema: bindingSpecSchema,
  statusSchema: bindingStatusSchema,
  printerColumns: readyColumns([
    {
      name: 'Source',
      type: 'string',
      jsonPath: '.spec.source',
      description: 'Source exchange.',
      priority: 1,
    },
    {
      name: 'Destination',
      type: 'string',
      jsonPath: '.spec.destination',
      description: 'Destination.',
      priority: 1,
    },
    { name: 'Key', type: 'string', jsonPath: '.spec.routingKey', description: 'Routing key.', priority: 1 },
  ]),
});

export type Binding = ObjectOf<typeof bindingResource>;

export function parseBinding(raw: unknown) {
  return parseResource(bindingResource, raw);
}
