// Status writes only when something changed, as a JSON merge patch of the difference to the cached status,
// guarded by the cached resourceVersion: a write based on a stale read fails with 409 and is retried.
import { isDeepStrictEqual } from 'node:util';
import type { KubeClient } from './kube-client.ts';
import { keyOf } from './resource.ts';
import type { KubeObject, ResourceRef } from './resource.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The RFC 7386 merge patch that turns `from` into `to`, or undefined if they are equal. Keys missing from
 * `to` become null; arrays and scalars are replaced whole.
 */
export function createMergePatch(from: unknown, to: unknown): unknown {
  if (isPlainObject(from) && isPlainObject(to)) {
    const patch: Record<string, unknown> = {};
    for (const key of Object.keys(from)) {
      if (!(key in to) || to[key] === undefined) {
        if (from[key] !== undefined) patch[key] = null;
      }
    }
    for (const [key, value] of Object.entries(to)) {
      if (value === undefined) continue;
      if (!(key in from) || from[key] === undefined) {
        patch[key] = value;
        continue;
      }
      const sub = createMergePatch(from[key], value);
      if (sub !== undefined) patch[key] = sub;
    }
    return Object.keys(patch).length === 0 ? undefined : patch;
  }
  return isDeepStrictEqual(normalize(from), normalize(to)) ? undefined : to;
}

// undefined-valued keys do not survive JSON; compare as the server would see them.
function normalize(value: unknown): Json {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as Json);
}

/**
 * Writes `status` to the `/status` subresource if it differs from `obj.status` (the cached object).
 * Resolves with the updated object, or undefined when nothing needed writing.
 */
export async function writeStatus<T extends KubeObject>(
  client: KubeClient,
  resource: ResourceRef,
  obj: T,
  status: Record<string, unknown>,
): Promise<T | undefined> {
  const patch = createMergePatch(obj.status ?? {}, status);
  if (patch === undefined) return undefined;
  return client.mergePatch<T>(
    resource,
    keyOf(obj),
    { metadata: { resourceVersion: obj.metadata.resourceVersion }, status: patch },
    'status',
  );
}
