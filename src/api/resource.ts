// How a kind is described once (names, schemas, printer columns) and how raw API objects become typed ones.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { z } from 'zod';
import { apiVersion, group, version } from './common.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  /** 0 shows in `kubectl get`, 1 only in `kubectl get -o wide`. */
  priority?: 0 | 1;
}

/** Everything that defines one custom resource kind; the runtime reads group/version/plural/kind/namespaced. */
export interface ResourceDefinition<
  Kind extends string = string,
  Spec extends z.ZodType = z.ZodType,
  Status extends z.ZodType = z.ZodType,
> {
  group: typeof group;
  version: typeof version;
  kind: Kind;
  plural: string;
  singular: string;
  shortNames: readonly string[];
  categories: readonly string[];
  namespaced: true;
  /** One paragraph for `kubectl explain <kind>` and the reference. */
  description: string;
  specSchema: Spec;
  statusSchema: Status;
  printerColumns: readonly PrinterColumn[];
}

export function defineResource<Kind extends string, Spec extends z.ZodType, Status extends z.ZodType>(
  definition: Omit<ResourceDefinition<Kind, Spec, Status>, 'group' | 'version' | 'namespaced' | 'categories'>,
): ResourceDefinition<Kind, Spec, Status> {
  return { group, version, namespaced: true, categories: ['warren', 'rabbitmq'], ...definition };
}

/** A custom resource object as reconcilers see it: spec with defaults applied, status as last written. */
export interface KubeObject<Kind extends string, Spec, Status> {
  apiVersion: typeof apiVersion;
  kind: Kind;
  metadata: V1ObjectMeta;
  spec: Spec;
  status?: Status;
}

export type ObjectOf<D> =
  D extends ResourceDefinition<infer Kind, infer Spec, infer Status>
    ? KubeObject<Kind, z.output<Spec>, z.output<Status>>
    : never;

export type ParseResult<T> = { success: true; object: T } | { success: false; message: string };

const metadataSchema = z.looseObject({ name: z.string().min(1), namespace: z.string().optional() });

/**
 * Turns an object read from the API server into a typed one, applying defaults, or explains in one readable line
 * why it does not match the schema (reconcilers report that as InvalidSpec). A status that no longer matches is
 * dropped rather than failing the object: the spec is what the user owns.
 */
export function parseResource<D extends ResourceDefinition>(
  definition: D,
  raw: unknown,
): ParseResult<ObjectOf<D>> {
  const envelope = z
    .object({
      apiVersion: z.literal(apiVersion),
      kind: z.literal(definition.kind),
      metadata: metadataSchema,
      spec: definition.specSchema,
    })
    .safeParse(raw);
  if (!envelope.success)
    return { success: false, message: describeIssues(definition.kind, raw, envelope.error) };
  const rawStatus = (raw as { status?: unknown }).status;
  const status = rawStatus === undefined ? undefined : definition.statusSchema.safeParse(rawStatus);
  const object = {
    apiVersion,
    kind: definition.kind,
    metadata: (raw as { metadata: V1ObjectMeta }).metadata,
    spec: envelope.data.spec,
    ...(status?.success ? { status: status.data } : {}),
  };
  return { success: true, object: object as ObjectOf<D> };
}

function describeIssues(kind: string, raw: unknown, error: z.ZodError): string {
  const meta = (raw as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
  const name = typeof meta?.name === 'string' ? meta.name : '(unnamed)';
  const where = typeof meta?.namespace === 'string' ? `${meta.namespace}/${name}` : name;
  const problems = error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return path === '' ? issue.message : `${path}: ${issue.message}`;
  });
  return `${kind} ${where} does not match the ${apiVersion} schema: ${problems.join('; ')}`;
}
