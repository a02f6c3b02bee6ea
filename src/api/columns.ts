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

export { age as ageColumn };
