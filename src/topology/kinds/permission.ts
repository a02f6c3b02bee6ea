// Permission: identity (vhost, user); the configure, write and read patterns are updated in place.
import { snapshotKeys } from '../../rabbitmq/snapshot/index.ts';
import { permissionResource, type PermissionSpec } from '../../api/index.ts';
import { permissionUser, permissionUserWatches, preparePermissionUser } from './permission-user.ts';
import type { Permission } from '../../rabbitmq/types.ts';
import type { TopologyKind } from './types.ts';

export interface PermissionWant {
  vhost: string;
  user: string;
  configure: string;
  write: string;
  read: string;
}

export const permissionKind: TopologyKind<PermissionSpec, PermissionWant, Permission> = {
  kind: 'Permission',
  resource: permissionResource,
  // A Permission that names its User by reference waits for it, and is woken when it changes.
  prepare: preparePermissionUser,
  watches: permissionUserWatches,
  deletionPolicy: () => 'delete',
  desired: (spec, refs) => {
    const user = permissionUser(spec, refs);
    if (!user.ok) return user;
    const { configure, write, read } = spec.permissions;
    return { ok: true, want: { vhost: spec.vhost, user: user.user, configure, write, read } };
  },
  brokerKey: (p) => ({ kind: 'permission', key: snapshotKeys.permission(p.vhost, p.user) }),
  describe: (p) => `permissions of user "${p.user}" in vhost "${p.vhost}"`,
  dependencies: (p) => [
    { type: 'vhost', name: p.vhost },
    { type: 'user', name: p.user },
  ],
  live: (state, p) => state.permission(p.vhost, p.user),
  compare: (live, want) => ({
    changes: (['configure', 'write', 'read'] as const).filter((k) => live[k] !== want[k]),
  }),
  write: (want) => [
    {
      op: 'putPermission',
      vhost: want.vhost,
      user: want.user,
      settings: { configure: want.configure, write: want.write, read: want.read },
    },
  ],
  deletion: (want, _policy, fresh) =>
    fresh === undefined
      ? { action: 'gone' }
      : { action: 'delete', ops: [{ op: 'deletePermission', vhost: want.vhost, user: want.user }] },
};
