// How a Permission or TopicPermission finds its user: a username, or a User in the namespace whose username
// it waits for, and whose changes wake it.
import { userResource } from '../../api/index.ts';
import { targets } from '../dependencies.ts';
import type { KindWatch, Prepare, References } from './types.ts';

interface NamesUser {
  user?: string | undefined;
  userReference?: { name: string } | undefined;
}

/** The broker username, or why there is none yet. */
export function permissionUser(
  spec: NamesUser,
  refs: References,
): { ok: true; user: string } | { ok: false; reason: string; message: string } {
  if (spec.user !== undefined) return { ok: true, user: spec.user };
  if (spec.userReference === undefined)
    return { ok: false, reason: 'InvalidSpec', message: 'Set one of user and userReference.' };
  const user = refs.userName(spec.userReference.name);
  if (user === undefined) {
    return {
      ok: false,
      reason: 'DependencyNotFound',
      message: `User "${spec.userReference.name}" does not exist in this namespace or has no username yet; waiting for it.`,
    };
  }
  return { ok: true, user };
}

/** Depends on the referenced User, so that its username appearing or changing wakes the object. */
export const preparePermissionUser: Prepare<NamesUser> = (obj, spec, _connection, ctx) => {
  const namespace = obj.metadata.namespace ?? '';
  const ref = spec.userReference?.name;
  return Promise.resolve({
    refs: ctx.references,
    dependsOn: ref === undefined ? [] : [targets.user(namespace, ref)],
  });
};

export const permissionUserWatches: readonly KindWatch[] = [
  {
    resource: userResource,
    target: (user) => targets.user(user.metadata.namespace ?? '', user.metadata.name ?? ''),
  },
];
