import type { PrinterColumn } from './resource.ts';

const age: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since the object was created.',
};

/** Ready, Reason, the given extra columns (wide output), then Age: the columns of every topology kind. */
export function readyColumns(extra: readonly PrinterColumn[]): PrinterColumn[] {
  return [
    {
      name: 'Ready',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
      description: 'Whether the broker matches the spec.',
    },
    {
      name: 'Reason',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
      description: 'Why the object is or is not ready.',
    },
    ...extra,
    age,
  ];
}

/**
 * The wide-output columns naming an object on the broker: its name under the given column title and, for
 * vhost-scoped kinds, its vhost.
 */
export function brokerNameColumns(title: string, vhostOf?: string): PrinterColumn[] {
  const name: PrinterColumn = {
    name: title,
    type: 'string',
    jsonPath: '.spec.name',
    description: 'Name on the broker.',
    priority: 1,
  };
  if (vhostOf === undefined) return [name];
  return [
    name,
    {
      name: 'Vhost',
      type: 'string',
      jsonPath: '.spec.vhost',
      description: `Vhost of the ${vhostOf}.`,
      priority: 1,
    },
  ];
}

export { age as ageColumn };
