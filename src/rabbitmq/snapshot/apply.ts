// Our own writes applied to a snapshot as they succeed (write-through), mirroring what the broker does with
// each operation: the next reconcile sees a write without a refetch, which at 10,000 objects would be
// quadratic. The operation is the one the client sent (operations.ts), never something read back from a path.
import type { BrokerOp } from '../operations.ts';
import { normaliseTags } from '../normalise.ts';
import { queueType } from './read.ts';
import { snapshotKeys, vhostScopedObjects, type BrokerSnapshot } from './snapshot.ts';

function removeWhere<T>(map: Map<string, T>, predicate: (value: T) => boolean): void {
  for (const [key, value] of map) if (predicate(value)) map.delete(key);
}

function withLimit(limits: Record<string, number>, limit: string, value?: number): Record<string, number> {
  const entries = Object.entries(limits).filter(([name]) => name !== limit);
  if (value !== undefined) entries.push([limit, value]);
  return Object.fromEntries(entries);
}

/** Records a successful operation in a snapshot, mirroring what the broker does with it. */
export function applyOp(snapshot: BrokerSnapshot, op: BrokerOp): void {
  switch (op.op) {
    case 'deleteVhost': {
      const name = op.name;
      snapshot.vhosts.delete(name);
      // Deleting a vhost deletes everything in it.
      for (const kind of vhostScopedObjects) removeWhere(snapshot.map(kind), (value) => value.vhost === name);
      snapshot.removeBindingsWhere((binding) => binding.vhost === name);
      removeWhere(snapshot.permissions, (value) => value.vhost === name);
      removeWhere(snapshot.topicPermissions, (value) => value.vhost === name);
      snapshot.unreadableVhosts.delete(name);
      return;
    }
    case 'putVhost': {
      const existing = snapshot.vhosts.get(op.name);
      const { settings } = op;
      const defaultQueueType = queueType(settings.default_queue_type ?? existing?.default_queue_type);
      snapshot.vhosts.set(op.name, {
        name: op.name,
        description: settings.description ?? existing?.description ?? '',
        tags: normaliseTags(settings.tags ?? existing?.tags),
        tracing: settings.tracing ?? existing?.tracing ?? false,
        ...(defaultQueueType === undefined ? {} : { default_queue_type: defaultQueueType }),
        limits: { ...existing?.limits },
      });
      return;
    }
    case 'putVhostLimit':
    case 'deleteVhostLimit': {
      const vhost = snapshot.vhosts.get(op.vhost);
      if (vhost === undefined) return;
      const value = op.op === 'putVhostLimit' ? op.value : undefined;
      snapshot.vhosts.set(op.vhost, { ...vhost, limits: withLimit(vhost.limits, op.limit, value) });
      return;
    }
    case 'deleteUser':
      snapshot.users.delete(op.name);
      removeWhere(snapshot.permissions, (value) => value.user === op.name);
      removeWhere(snapshot.topicPermissions, (value) => value.user === op.name);
      return;
    case 'putUser': {
      const existing = snapshot.users.get(op.name);
      snapshot.users.set(op.name, {
        name: op.name,
        password_hash: op.settings.password_hash,
        hashing_algorithm: op.settings.hashing_algorithm,
        tags: normaliseTags(op.settings.tags),
        limits: { ...existing?.limits },
      });
      return;
    }
    case 'putUserLimit':
    case 'deleteUserLimit': {
      const user = snapshot.users.get(op.user);
      if (user === undefined) return;
      const value = op.op === 'putUserLimit' ? op.value : undefined;
      snapshot.users.set(op.user, { ...user, limits: withLimit(user.limits, op.limit, value) });
      return;
    }
    case 'putPermission':
      snapshot.permissions.set(snapshotKeys.permission(op.vhost, op.user), {
        vhost: op.vhost,
        user: op.user,
        ...op.settings,
      });
      return;
    case 'deletePermission':
      snapshot.permissions.delete(snapshotKeys.permission(op.vhost, op.user));
      return;
    case 'putTopicPermission': {
      const key = snapshotKeys.topicPermission(op.vhost, op.user, op.settings.exchange);
      snapshot.topicPermissions.set(key, { vhost: op.vhost, user: op.user, ...op.settings });
      return;
    }
    case 'deleteTopicPermission':
      removeWhere(
        snapshot.topicPermissions,
        (value) =>
          value.vhost === op.vhost &&
          value.user === op.user &&
          (op.exchange === undefined || value.exchange === op.exchange),
      );
      return;
    case 'putExchange': {
      const key = snapshotKeys.exchange(op.vhost, op.name);
      const existing = snapshot.exchanges.get(key);
      const { type, durable, auto_delete, internal } = op.settings;
      snapshot.exchanges.set(key, {
        name: op.name,
        vhost: op.vhost,
        type,
        durable,
        auto_delete,
        internal: internal ?? false,
        // The broker keeps an existing exchange's arguments on redeclare; so does the snapshot.
        arguments: existing === undefined ? op.settings.arguments : existing.arguments,
      });
      return;
    }
    case 'deleteExchange':
      snapshot.exchanges.delete(snapshotKeys.exchange(op.vhost, op.name));
      snapshot.removeBindingsWhere(
        (b) =>
          b.vhost === op.vhost &&
          (b.source === op.name || (b.destination_type === 'exchange' && b.destination === op.name)),
      );
      return;
    case 'putQueue':
      snapshot.queues.set(snapshotKeys.queue(op.vhost, op.name), {
        name: op.name,
        vhost: op.vhost,
        ...op.settings,
      });
      return;
    case 'deleteQueue':
      snapshot.queues.delete(snapshotKeys.queue(op.vhost, op.name));
      snapshot.removeBindingsWhere(
        (b) => b.vhost === op.vhost && b.destination_type === 'queue' && b.destination === op.name,
      );
      return;
    case 'createBinding':
      snapshot.addBinding(op.binding);
      return;
    case 'deleteBinding':
      snapshot.removeBinding(snapshotKeys.binding(op.binding));
      return;
    case 'putPolicy':
      snapshot.policies.set(snapshotKeys.policy(op.vhost, op.name), {
        name: op.name,
        vhost: op.vhost,
        ...op.settings,
      });
      return;
    case 'deletePolicy':
      snapshot.policies.delete(snapshotKeys.policy(op.vhost, op.name));
      return;
    case 'putOperatorPolicy':
      snapshot.operatorPolicies.set(snapshotKeys.operatorPolicy(op.vhost, op.name), {
        name: op.name,
        vhost: op.vhost,
        ...op.settings,
      });
      return;
    case 'deleteOperatorPolicy':
      snapshot.operatorPolicies.delete(snapshotKeys.operatorPolicy(op.vhost, op.name));
      return;
    case 'putParameter': {
      const { component, vhost, name, value } = op;
      snapshot.parameters.set(snapshotKeys.parameter(component, vhost, name), {
        component,
        vhost,
        name,
        value,
      });
      return;
    }
    case 'deleteParameter':
      snapshot.parameters.delete(snapshotKeys.parameter(op.component, op.vhost, op.name));
      return;
  }
}
