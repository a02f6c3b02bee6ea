// Drift: what differs between two snapshots of one broker, object by object. The cache reports it after every
// refetch, and the topology controllers enqueue exactly the objects whose broker object changed.
import { isDeepStrictEqual } from 'node:util';
import { objectKinds, type BrokerSnapshot, type ObjectKind, type ObjectShapes } from './snapshot.ts';

export type ChangeType = 'created' | 'changed' | 'deleted';

export type SnapshotChange = {
  [K in ObjectKind]: {
    kind: K;
    key: string;
    change: ChangeType;
    before?: ObjectShapes[K];
    after?: ObjectShapes[K];
  };
}[ObjectKind];

function vhostOf(kind: ObjectKind, value: unknown): string | undefined {
  return kind === 'vhost' || kind === 'user' ? undefined : (value as { vhost: string }).vhost;
}

/**
 * What differs between two snapshots of one broker, object by object. Objects in a vhost the
 * newer snapshot could not read are left out: unknown is not deleted.
 */
export function diffSnapshots(previous: BrokerSnapshot, next: BrokerSnapshot): SnapshotChange[] {
  const changes: SnapshotChange[] = [];
  for (const kind of objectKinds) {
    const before = previous.map(kind) as Map<string, unknown>;
    const after = next.map(kind) as Map<string, unknown>;
    for (const [key, old] of before) {
      const vhost = vhostOf(kind, old);
      if (vhost !== undefined && next.unreadableVhosts.has(vhost)) continue;
      const current = after.get(key);
      if (current === undefined)
        changes.push({ kind, key, change: 'deleted', before: old } as SnapshotChange);
      else if (!isDeepStrictEqual(old, current)) {
        changes.push({ kind, key, change: 'changed', before: old, after: current } as SnapshotChange);
      }
    }
    for (const [key, current] of after) {
      if (!before.has(key)) changes.push({ kind, key, change: 'created', after: current } as SnapshotChange);
    }
  }
  return changes;
}
