// Vhost: identity (name); tags, default queue type, tracing and limits are updated in place.
import { snapshotKeys } from '../../rabbitmq/snapshot/index.ts';
import { type VhostSpec, vhostResource } from '../../api/index.ts';
import type { QueueDetails, Vhost } from '../../rabbitmq/types.ts';
import { normaliseTags, sameJson } from '../../rabbitmq/normalise.ts';
import { limitChanges, limitOps } from './common.ts';
import type { BrokerOp, DeletionStep, TopologyKind } from './types.ts';

export interface VhostWant {
  name: string;
  tags: string[];
  defaultQueueType: string | undefined;
  tracing: boolean;
  limits: Record<string, number>;
}

const describe = (v: { name: string }) => `vhost "${v.name}"`;

function settingChanges(live: Vhost, want: VhostWant): string[] {
  const changes: string[] = [];
  if (!sameJson(live.tags, want.tags)) changes.push('tags');
  // A broker that reports no default queue type (before 3.11.12) ignores the setting: comparing would
  // rewrite it on every pass.
  if (
    want.defaultQueueType !== undefined &&
    live.default_queue_type !== undefined &&
    live.default_queue_type !== want.defaultQueueType
  ) {
    changes.push('defaultQueueType');
  }
  if (live.tracing !== want.tracing) changes.push('tracing');
  return changes;
}

export const vhostKind: TopologyKind<VhostSpec, VhostWant, Vhost> = {
  kind: 'Vhost',
  resource: vhostResource,
  deletionPolicy: (spec) => spec.deletionPolicy,
  desired: (spec) => {
    const limits: Record<string, number> = {};
    if (spec.limits?.connections !== undefined) limits['max-connections'] = spec.limits.connections;
    if (spec.limits?.queues !== undefined) limits['max-queues'] = spec.limits.queues;
    return {
      ok: true,
      want: {
        name: spec.name,
        tags: normaliseTags(spec.tags),
        defaultQueueType: spec.defaultQueueType,
        tracing: spec.tracing,
        limits,
      },
    };
  },
  brokerKey: (v) => ({ kind: 'vhost', key: snapshotKeys.vhost(v.name) }),
  describe,
  dependencies: () => [],
  live: (state, v) => state.vhost(v.name),
  compare: (live, want) => ({
    changes: [...settingChanges(live, want), ...limitChanges(want.limits, live.limits)],
  }),
  write: (want, live) => {
    const ops: BrokerOp[] = [];
    if (!live || settingChanges(live, want).length > 0) {
      ops.push({
        op: 'putVhost',
        name: want.name,
        settings: {
          // PUT replaces the metadata: send the description back so that one set elsewhere survives.
          ...(live?.description ? { description: live.description } : {}),
          tags: want.tags,
          ...(want.defaultQueueType ? { default_queue_type: want.defaultQueueType } : {}),
          tracing: want.tracing,
        },
      });
    }
    ops.push(...limitOps({ vhost: want.name }, want.limits, live?.limits ?? {}));
    return ops;
  },
  fresh: (client, v, _live, signal) => client.listQueues(v.name, signal),
  deletion: (want, policy, fresh) => vhostDeletion(want, policy, fresh as QueueDetails[] | undefined),
};

/**
 * A vhost goes with everything in it, so under the default policy it is deleted only when every queue is known
 * to be empty: a count not reported yet (stats lag, stats turned off, the queue's node down) blocks, whatever
 * the queue type. Its queues are then deleted with if-empty first, which the broker checks as it deletes, so a
 * message that arrives after the count stops the deletion before the vhost goes.
 */
export function vhostDeletion(
  want: VhostWant,
  policy: string,
  queues: QueueDetails[] | undefined,
): DeletionStep {
  if (policy === 'retain') return { action: 'retain' };
  if (queues === undefined) return { action: 'gone' };
  const deleteVhost: BrokerOp = { op: 'deleteVhost', name: want.name };
  if (policy === 'delete-with-data') return { action: 'delete', ops: [deleteVhost] };
  const withMessages = queues.filter((q) => (q.messages ?? 0) > 0);
  if (withMessages.length > 0) {
    const names = withMessages.slice(0, 5).map((q) => `"${q.name}" (${q.messages})`);
    const more = withMessages.length > 5 ? ` and ${withMessages.length - 5} more` : '';
    return {
      action: 'blocked',
      reason: 'DeletionBlockedByMessages',
      message:
        `${describe(want)} still holds messages in ${withMessages.length} queue(s): ${names.join(', ')}${more}. ` +
        'It is kept (deletionPolicy: delete) until they are empty; set deletionPolicy to delete-with-data to ' +
        'delete it with its messages, or to retain to keep it and let the Vhost go.',
    };
  }
  const uncounted = queues.filter((q) => q.messages === undefined);
  if (uncounted.length > 0) {
    const names = uncounted.slice(0, 5).map((q) => `"${q.name}"`);
    const more = uncounted.length > 5 ? ` and ${uncounted.length - 5} more` : '';
    return {
      action: 'blocked',
      reason: 'DeletionPending',
      message:
        `${describe(want)} has ${uncounted.length} queue(s) whose message count is not known yet: ` +
        `${names.join(', ')}${more}. It is kept until every count is known; deletion is retried. If the broker ` +
        'never reports counts (statistics turned off), set deletionPolicy to delete-with-data or retain.',
    };
  }
  const emptyQueues: BrokerOp[] = queues.map((q) => ({
    op: 'deleteQueue',
    vhost: want.name,
    name: q.name,
    ifEmpty: true,
    ifUnused: false,
  }));
  return { action: 'delete', ops: [...emptyQueues, deleteVhost] };
}
