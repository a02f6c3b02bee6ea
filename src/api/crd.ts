// Renders a kind's zod schemas into a CustomResourceDefinition (pure: definition in, object out).
// The JSON Schema that zod emits for OpenAPI 3.0 is close to what Kubernetes wants; the post-pass below turns the
// few constructs Kubernetes reads differently into their structural forms (see reference §4.4).
import { z } from 'zod';
import type { ResourceDefinition } from './resource.ts';

export type JsonSchema = { [key: string]: unknown };

/** zod marks every int with the bounds of a safe integer; they say nothing to the API server. */
const safeIntegerBound = Number.MAX_SAFE_INTEGER;

/** The structural OpenAPI schema of one zod schema. */
export function openApiSchema(schema: z.ZodType): JsonSchema {
  const emitted = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io: 'input',
    reused: 'inline',
    cycles: 'throw',
  });
  return structural(emitted);
}

function isObject(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Rewrites one node and, depth first, everything under it. */
function structural(node: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema' || key === 'propertyNames') continue;
    if ((key === 'minimum' || key === 'maximum') && Math.abs(value as number) === safeIntegerBound) continue;
    if (key === 'additionalProperties' && value === false) continue;
    if (key === 'properties' && isObject(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, child]) => [name, structural(child as JsonSchema)]),
      );
    } else if ((key === 'items' || key === 'additionalProperties') && isObject(value)) {
      out[key] = structural(value);
    } else {
      out[key] = value;
    }
  }
  return boundEnum(preserveUnknownFields(intOrString(out)));
}

/** CEL estimates the cost of comparing strings from maxLength, which an enum implies but does not state. */
function boundEnum(node: JsonSchema): JsonSchema {
  if (node.type !== 'string' || !Array.isArray(node.enum) || node.maxLength !== undefined) return node;
  return { ...node, maxLength: Math.max(...node.enum.map((value) => String(value).length)) };
}

/** `int | string` becomes `x-kubernetes-int-or-string`, keeping the string branch's pattern. */
function intOrString(node: JsonSchema): JsonSchema {
  const branches = node.anyOf;
  if (!Array.isArray(branches) || branches.length !== 2) return node;
  const types = branches.map((branch) => (isObject(branch) ? branch.type : undefined));
  if (!types.includes('integer') || !types.includes('string')) return node;
  const branch = (type: string) => branches.find((b) => isObject(b) && b.type === type) as JsonSchema;
  const { pattern } = branch('string');
  const { minimum, maximum } = branch('integer');
  const bound = (value: unknown) => typeof value === 'number' && Math.abs(value) !== safeIntegerBound;
  const { anyOf: _anyOf, ...rest } = node;
  // Kubernetes applies pattern to strings only and minimum/maximum to numbers only, so both can sit side by side.
  return {
    ...rest,
    'x-kubernetes-int-or-string': true,
    ...(pattern === undefined ? {} : { pattern }),
    ...(bound(minimum) ? { minimum } : {}),
    ...(bound(maximum) ? { maximum } : {}),
  };
}

/** An object open to any keys with any values (free-form records, loose objects) keeps whatever it is given. */
function preserveUnknownFields(node: JsonSchema): JsonSchema {
  const extra = node.additionalProperties;
  if (node.type !== 'object' || !isObject(extra) || Object.keys(extra).length > 0) return node;
  const { additionalProperties: _additional, properties, ...rest } = node;
  const keepsProperties = isObject(properties) && Object.keys(properties).length > 0;
  return {
    ...rest,
    ...(keepsProperties ? { properties } : {}),
    'x-kubernetes-preserve-unknown-fields': true,
  };
}

/** The CustomResourceDefinition of one kind. */
export function renderCrd(definition: ResourceDefinition): JsonSchema {
  const spec = openApiSchema(definition.specSchema);
  const status = openApiSchema(definition.statusSchema);
  const specDefaulted = 'default' in spec;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${definition.plural}.${definition.group}`,
      labels: { 'app.kubernetes.io/part-of': 'warren' },
    },
    spec: {
      group: definition.group,
      names: {
        kind: definition.kind,
        listKind: `${definition.kind}List`,
        plural: definition.plural,
        singular: definition.singular,
        shortNames: [...definition.shortNames],
        categories: [...definition.categories],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: definition.version,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: definition.description,
              properties: {
                apiVersion: {
                  type: 'string',
                  description: `APIVersion of this object: ${definition.group}/${definition.version}.`,
                },
                kind: { type: 'string', description: `Kind of this object: ${definition.kind}.` },
                metadata: { type: 'object' },
                spec,
                status,
              },
              ...(specDefaulted ? {} : { required: ['spec'] }),
            },
          },
          subresources: { status: {} },
          additionalPrinterColumns: definition.printerColumns.map((column) => ({ ...column })),
        },
      ],
    },
  };
}
