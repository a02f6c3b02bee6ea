// Vhost: identity (name); tags, default queue type, tracing and limits are updated in place.
import { apiPath, limitChanges, limitRequests, sameJson, tagList } from './common.ts';
import { liveQueueType } from './queue.ts';
import type { VhostSpec } from './specs.ts';
import type { BrokerRequest, DeletionStep, LiveQueue, LiveVhost, TopologyKind } from './types.ts';

export interface VhostWant {
  name: string;
  tags: string[];
  defaultQueueType: string | undefined;
  tracing: boolean;
  limits: Record<string, number>;
}

const describe = (v: { name: string }) => `vhost "${v.name}"`;

/** The default queue type a broker reports, if it supports one at all (3.11.12+). */
function liveDefaultQueueType(live: LiveVhost): string | undefined {
  const value = live.default_queue_type ?? live.metadata?.default_queue_type;
  return value === undefined || value === 'undefined' ? undefined : value;
}

function vhostFieldChanges(live: LiveVhost, want: VhostWant): string[] {
  const changes: string[] = [];
  if (!sameJson(tagList(live.tags ?? live.metadata?.tags), want.tags)) changes.push('tags');
  // A broker that reports no default queue type ignores the setting; comparing would rewrite it forever.
  const liveType = liveDefaultQueueType(live);
  if (want.defaultQueueType !== undefined && liveType !== undefined && liveType !== want.defaultQueueType) {
    changes.push('defaultQueueType');
  }
  if (live.tracing !== undefined && live.tracing !== want.tracing) changes.push('tracing');
  return changes;
}

export const vhostKind: TopologyKind<VhostSpec, VhostWant, LiveVhost> = {
  kind: 'Vhost',
  deletionPolicy: (spec) => spec.deletionPolicy ?? 'delete',
  desired: (spec) => {
    const limits: Record<string, number> = {};
    if (spec.limits?.connections !== undefined) limits['max-connections'] = spec.limits.connections;
    if (spec.limits?.queues !== undefined) limits['max-queues'] = spec.limits.queues;
    return {
      ok: true,
      want: {
        name: spec.name,
        tags: tagList(spec.tags),
        defaultQueueType: spec.defaultQueueType,
        tracing: spec.tracing ?? false,
        limits,
      },
    };
  },
  brokerKey: (v) => `vhost\0${v.name}`,
  describe,
  dependencies: () => [],
  live: (state, v) => state.vhost(v.name),
  compare: (live, want) => ({
    changes: [...vhostFieldChanges(live, want), ...limitChanges(want.limits, live.limits)],
  }),
  write: (want, live) => {
    const requests: BrokerRequest[] = [];
    if (!live || vhostFieldChanges(live, want).length > 0) {
      // PUT replaces the metadata: send the description back so that a description set elsewhere survives.
      const description = live?.description ?? live?.metadata?.description;
      requests.push({
        method: 'PUT',
        path: apiPath('vhosts', want.name),
        body: {
          ...(description ? { description } : {}),
          tags: want.tags,
          ...(want.defaultQueueType ? { default_queue_type: want.defaultQueueType } : {}),
          tracing: want.tracing,
        },
      });
    }
    requests.push(...limitRequests(['vhost-limits', want.name], want.limits, live?.limits));
    return requests;
  },
  // The queues of the vhost with their message counts: what a safe deletion has to look at.
  freshRead: (v) => `${apiPath('queues', v.name)}?columns=name,type,messages,arguments`,
  deletion: (want, policy, fresh) => vhostDeletion(want, policy, fresh as LiveQueue[] | undefined),
};

export function vhostDeletion(
  want: VhostWant,
  policy: string,
  queues: LiveQueue[] | undefined,
): DeletionStep {
  if (policy === 'retain') return { action: 'retain' };
  if (queues === undefined) return { action: 'gone' };
  const remove: DeletionStep = {
    action: 'delete',
    requests: [{ method: 'DELETE', path: apiPath('vhosts', want.name) }],
  };
  if (policy === 'delete-with-data') return remove;
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
  const unknown = queues.filter((q) => q.messages === undefined && liveQueueType(q) !== 'classic');
  if (unknown.length > 0) {
    return {
      action: 'blocked',
      reason: 'DeletionPending',
      message: `${describe(want)} has queues that have not reported their message count yet; deletion is retried.`,
    };
  }
  return remove;
}
