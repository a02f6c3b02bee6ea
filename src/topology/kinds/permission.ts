// Permission: identity (vhost, user); the three patterns are updated in place.
import { apiPath } from './common.ts';
import type { PermissionSpec } from './specs.ts';
import type { LivePermission, TopologyKind } from './types.ts';

export interface PermissionWant {
  vhost: string;
  user: string;
  configure: string;
  write: string;
  read: string;
}

const describe = (p: { vhost: string; user: string }) =>
  `permissions of user "${p.user}" in vhost "${p.vhost}"`;

export const permissionKind: TopologyKind<PermissionSpec, PermissionWant, LivePermission> = {
  kind: 'Permission',
  deletionPolicy: () => 'delete',
  desired: (spec, refs) => {
    let user = spec.user;
    if (user === undefined && spec.userReference) {
      user = refs.userName(spec.userReference.name);
      if (user === undefined) {
        return {
          ok: false,
          reason: 'DependencyNotFound',
          message: `User "${spec.userReference.name}" does not exist or has no username yet; waiting for it.`,
        };
      }
    }
    if (user === undefined) {
      return { ok: false, reason: 'InvalidSpec', message: 'set one of user and userReference' };
    }
    const { configure = '', write = '', read = '' } = spec.permissions;
    return { ok: true, want: { vhost: spec.vhost, user, configure, write, read } };
  },
  brokerKey: (p) => `permission\0${p.vhost}\0${p.user}`,
  describe,
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
      method: 'PUT',
      path: apiPath('permissions', want.vhost, want.user),
      body: { configure: want.configure, write: want.write, read: want.read },
    },
  ],
  freshRead: (p) => apiPath('permissions', p.vhost, p.user),
  deletion: (want, _policy, fresh) =>
    fresh === undefined
      ? { action: 'gone' }
      : {
          action: 'delete',
          requests: [{ method: 'DELETE', path: apiPath('permissions', want.vhost, want.user) }],
        },
};
