// TopicPermission: identity (vhost, user, exchange); the write and read routing-key patterns are updated in
// place.
import { topicPermissionResource, type TopicPermissionSpec } from '../../api/index.ts';
import { snapshotKeys } from '../../rabbitmq/snapshot/index.ts';
import type { TopicPermission } from '../../rabbitmq/types.ts';
import { permissionUser, permissionUserWatches, preparePermissionUser } from './permission-user.ts';
import type { TopologyKind } from './types.ts';

export interface TopicPermissionWant {
  vhost: string;
  user: string;
  exchange: string;
  write: string;
  read: string;
}

export const topicPermissionKind: TopologyKind<TopicPermissionSpec, TopicPermissionWant, TopicPermission> = {
  kind: 'TopicPermission',
  resource: topicPermissionResource,
  prepare: preparePermissionUser,
  watches: permissionUserWatches,
  deletionPolicy: () => 'delete',
  desired: (spec, refs) => {
    const user = permissionUser(spec, refs);
    if (!user.ok) return user;
    const { exchange, write, read } = spec.permissions;
    return { ok: true, want: { vhost: spec.vhost, user: user.user, exchange, write, read } };
  },
  brokerKey: (p) => ({
    kind: 'topicPermission',
    key: snapshotKeys.topicPermission(p.vhost, p.user, p.exchange),
  }),
  describe: (p) => `topic permissions of user "${p.user}" on exchange "${p.exchange}" in vhost "${p.vhost}"`,
  dependencies: (p) => [
    { type: 'vhost', name: p.vhost },
    { type: 'user', name: p.user },
  ],
  live: (state, p) => state.topicPermission(p.vhost, p.user, p.exchange),
  compare: (live, want) => ({ changes: (['write', 'read'] as const).filter((k) => live[k] !== want[k]) }),
  write: (want) => [
    {
      op: 'putTopicPermission',
      vhost: want.vhost,
      user: want.user,
      settings: { exchange: want.exchange, write: want.write, read: want.read },
    },
  ],
  deletion: (want, _policy, fresh) =>
    fresh === undefined
      ? { action: 'gone' }
      : {
          action: 'delete',
          ops: [{ op: 'deleteTopicPermission', vhost: want.vhost, user: want.user, exchange: want.exchange }],
        },
};
