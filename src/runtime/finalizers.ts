// Finalizers added and removed with JSON patches whose `test` operation pins what we read, so a concurrent
// writer's finalizers are never clobbered: if the list changed, the patch fails and the reconcile retries.
import { ApiError, isConflict, isNotFound } from './kube-client.ts';
import type { JsonPatchOp, KubeClient } from './kube-client.ts';
import { keyOf } from './resource.ts';
import type { KubeObject, ResourceRef } from './resource.ts';

export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata.finalizers?.includes(finalizer) ?? false;
}

export function isDeleting(obj: KubeObject): boolean {
  return obj.metadata.deletionTimestamp !== undefined;
}

/** The patch adding `finalizer`, or undefined if present. */
export function addFinalizerPatch(obj: KubeObject, finalizer: string): JsonPatchOp[] | undefined {
  const current = obj.metadata.finalizers;
  if (current?.includes(finalizer)) return undefined;
  if (!current || current.length === 0) {
    return [
      { op: 'test', path: '/metadata/resourceVersion', value: obj.metadata.resourceVersion },
      { op: 'add', path: '/metadata/finalizers', value: [finalizer] },
    ];
  }
  return [
    { op: 'test', path: '/metadata/finalizers', value: current },
    { op: 'add', path: '/metadata/finalizers/-', value: finalizer },
  ];
}

/** The patch removing `finalizer`, or undefined if absent. */
export function removeFinalizerPatch(obj: KubeObject, finalizer: string): JsonPatchOp[] | undefined {
  const current = obj.metadata.finalizers ?? [];
  const index = current.indexOf(finalizer);
  if (index === -1) return undefined;
  return [
    { op: 'test', path: '/metadata/finalizers', value: current },
    { op: 'remove', path: `/metadata/finalizers/${index}` },
  ];
}

/**
 * Adds `finalizer` if missing; resolves with the object as it now is, or undefined if it is gone. When `obj`
 * is a stale read (the cache has not seen the last write yet, common under load), the guarded patch fails
 * and the object is read afresh once instead of failing the reconcile; the caller compares the generation
 * of what it gets with what it read.
 */
export async function ensureFinalizer<T extends KubeObject>(
  client: KubeClient,
  resource: ResourceRef,
  obj: T,
  finalizer: string,
): Promise<T | undefined> {
  const patch = addFinalizerPatch(obj, finalizer);
  if (!patch) return obj;
  try {
    return await client.jsonPatch<T>(resource, keyOf(obj), patch);
  } catch (err) {
    if (!isStaleRead(err)) throw err;
  }
  const fresh = await client.get<T>(resource, keyOf(obj));
  if (!fresh) return undefined;
  const retry = addFinalizerPatch(fresh, finalizer);
  return retry ? client.jsonPatch<T>(resource, keyOf(fresh), retry) : fresh;
}

/** A guarded patch refused because the object changed since it was read (a failed `test` is a 422). */
function isStaleRead(err: unknown): boolean {
  return isConflict(err) || (err instanceof ApiError && err.code === 422);
}

/** Removes `finalizer` if present; resolves with the object, or undefined if it is gone. */
export async function removeFinalizer<T extends KubeObject>(
  client: KubeClient,
  resource: ResourceRef,
  obj: T,
  finalizer: string,
): Promise<T | undefined> {
  const patch = removeFinalizerPatch(obj, finalizer);
  if (!patch) return obj;
  try {
    return await client.jsonPatch<T>(resource, keyOf(obj), patch);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * The usual finalizer dance in one call. For a live object: make sure the finalizer is there and resolve
 * `{ deleting: false, obj }`. For an object being deleted that still carries it: run `cleanup` (which must be
 * idempotent: it runs again if removing the finalizer fails), remove the finalizer, resolve
 * `{ deleting: true }`. A deleted object without our finalizer resolves `{ deleting: true }` at once.
 */
export async function handleFinalizer<T extends KubeObject>(
  client: KubeClient,
  resource: ResourceRef,
  obj: T,
  finalizer: string,
  cleanup: () => Promise<void>,
): Promise<{ deleting: false; obj: T } | { deleting: true }> {
  if (!isDeleting(obj)) {
    const current = await ensureFinalizer(client, resource, obj, finalizer);
    return current ? { deleting: false, obj: current } : { deleting: true };
  }
  if (hasFinalizer(obj, finalizer)) {
    await cleanup();
    await removeFinalizer(client, resource, obj, finalizer);
  }
  return { deleting: true };
}
