// An indexed view of one broker's topology, built from the shapes the management API returns in bulk.
import type {
  BrokerState,
  LiveBinding,
  LiveExchange,
  LivePermission,
  LivePolicy,
  LiveQueue,
  LiveUser,
  LiveVhost,
} from './kinds/types.ts';

/** Everything a snapshot holds; every list is optional so that partial snapshots (and tests) stay short. */
export interface BrokerDefinitions {
  vhosts?: LiveVhost[];
  users?: LiveUser[];
  permissions?: LivePermission[];
  exchanges?: LiveExchange[];
  queues?: LiveQueue[];
  bindings?: LiveBinding[];
  policies?: LivePolicy[];
  /** `GET /api/vhost-limits`: `[{vhost, value: {max-queues: 10}}]`. */
  vhostLimits?: { vhost: string; value: Record<string, number> }[];
  /** `GET /api/user-limits`: `[{user, value: {max-channels: 5}}]`. */
  userLimits?: { user: string; value: Record<string, number> }[];
}

const key = (...parts: string[]) => parts.join('\0');

export function brokerState(defs: BrokerDefinitions): BrokerState {
  const vhostLimits = new Map((defs.vhostLimits ?? []).map((l) => [l.vhost, l.value]));
  const userLimits = new Map((defs.userLimits ?? []).map((l) => [l.user, l.value]));
  const vhosts = new Map(
    (defs.vhosts ?? []).map((v) => [v.name, { ...v, limits: v.limits ?? vhostLimits.get(v.name) ?? {} }]),
  );
  const users = new Map(
    (defs.users ?? []).map((u) => [u.name, { ...u, limits: u.limits ?? userLimits.get(u.name) ?? {} }]),
  );
  const permissions = new Map((defs.permissions ?? []).map((p) => [key(p.vhost, p.user), p]));
  const exchanges = new Map((defs.exchanges ?? []).map((x) => [key(x.vhost ?? '/', x.name), x]));
  const queues = new Map((defs.queues ?? []).map((q) => [key(q.vhost ?? '/', q.name), q]));
  const policies = new Map((defs.policies ?? []).map((p) => [key(p.vhost ?? '/', p.name), p]));
  const bindings = new Map<string, LiveBinding[]>();
  for (const b of defs.bindings ?? []) {
    const k = key(b.vhost ?? '/', b.source, b.destination_type, b.destination);
    const list = bindings.get(k);
    if (list) list.push(b);
    else bindings.set(k, [b]);
  }
  return {
    vhost: (name) => vhosts.get(name),
    user: (name) => users.get(name),
    permission: (vhost, user) => permissions.get(key(vhost, user)),
    exchange: (vhost, name) => exchanges.get(key(vhost, name)),
    queue: (vhost, name) => queues.get(key(vhost, name)),
    bindings: (vhost, source, type, destination) => bindings.get(key(vhost, source, type, destination)) ?? [],
    policy: (vhost, name) => policies.get(key(vhost, name)),
  };
}
