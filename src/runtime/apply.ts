// Child objects are written with server-side apply under one field manager, forcing ownership of the fields
// Warren sets, so the operator never fights other controllers over fields it does not set.
import type { KubeClient } from './kube-client.ts';
import type { KubeObject, OwnerReference, ResourceRef } from './resource.ts';

export const FIELD_MANAGER = 'warren-operator';

/** The owner reference that makes `owner` the controller of a child (garbage-collected with it). */
export function controllerOwnerRef(owner: KubeObject): OwnerReference {
  const { apiVersion, kind } = owner;
  const { name, uid } = owner.metadata;
  if (!apiVersion || !kind || !name || !uid) {
    throw new Error("an owner reference needs the owner's apiVersion, kind, name and uid");
  }
  return { apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true };
}

/** `child` with `owner` as its controller (replacing any other controller reference). */
export function withOwner<T extends KubeObject>(child: T, owner: KubeObject): T {
  const ref = controllerOwnerRef(owner);
  const others = (child.metadata.ownerReferences ?? []).filter(
    (r) => r.controller !== true && r.uid !== ref.uid,
  );
  return { ...child, metadata: { ...child.metadata, ownerReferences: [...others, ref] } };
}

/** Server-side applies `obj` (a full intent: apiVersion, kind, metadata.name, the fields Warren owns). */
export async function applyObject<T extends KubeObject>(
  client: KubeClient,
  resource: ResourceRef,
  obj: KubeObject,
  fieldManager: string = FIELD_MANAGER,
): Promise<T> {
  return client.apply<T>(resource, obj, { fieldManager, force: true });
}
