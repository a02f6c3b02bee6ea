// Queue: identity (vhost, name); every property is fixed at declaration, so a difference is a conflict.
import { apiPath, differingKeys, show } from './common.ts';
import type { QueueSpec } from './specs.ts';
import type { DeletionStep, LiveQueue, TopologyKind } from './types.ts';

export interface QueueWant {
  vhost: string;
  name: string;
  /** Unset: the vhost's default type, whatever the broker picks. */
  type: string | undefined;
  durable: boolean;
  autoDelete: boolean;
  /** Arguments other than x-queue-type, which `type` carries. */
  arguments: Record<string, unknown>;
  deleteIfUnused: boolean;
}

const queueTypeArgument = 'x-queue-type';

function withoutType(args: Record<string, unknown> | undefined): Record<string, unknown> {
  const { [queueTypeArgument]: _type, ...rest } = args ?? {};
  return rest;
}

/** The type the broker reports, or derives from the arguments; classic when it says nothing. */
export function liveQueueType(live: LiveQueue): string {
  const fromArgs = live.arguments?.[queueTypeArgument];
  return live.type ?? (typeof fromArgs === 'string' ? fromArgs : 'classic');
}

const describe = (q: { vhost: string; name: string }) => `queue "${q.name}" in vhost "${q.vhost}"`;

export const queueKind: TopologyKind<QueueSpec, QueueWant, LiveQueue> = {
  kind: 'Queue',
  deletionPolicy: (spec) => spec.deletionPolicy,
  desired: (spec) => ({
    ok: true,
    want: {
      vhost: spec.vhost,
      name: spec.name,
      type: spec.type ?? (spec.arguments?.[queueTypeArgument] as string | undefined),
      durable: spec.durable,
      autoDelete: spec.autoDelete,
      arguments: withoutType(spec.arguments),
      deleteIfUnused: spec.deleteIfUnused ?? false,
    },
  }),
  brokerKey: (q) => `queue\0${q.vhost}\0${q.name}`,
  describe,
  dependencies: (q) => [{ type: 'vhost', name: q.vhost }],
  live: (state, q) => state.queue(q.vhost, q.name),
  compare: (live, want) => {
    const differences: string[] = [];
    if (want.type !== undefined && liveQueueType(live) !== want.type) {
      differences.push(`type is ${liveQueueType(live)}, the spec asks for ${want.type}`);
    }
    if (live.durable !== want.durable)
      differences.push(`durable is ${live.durable}, the spec asks for ${want.durable}`);
    if (live.auto_delete !== want.autoDelete) {
      differences.push(`autoDelete is ${live.auto_delete}, the spec asks for ${want.autoDelete}`);
    }
    const liveArgs = withoutType(live.arguments);
    for (const key of differingKeys(liveArgs, want.arguments)) {
      differences.push(
        `argument ${key} is ${show(liveArgs[key])}, the spec asks for ${show(want.arguments[key])}`,
      );
    }
    if (differences.length === 0) return { changes: [] };
    return {
      changes: [],
      conflict: {
        reason: 'QueuePropertiesImmutable',
        message:
          `${describe(want)} exists with other properties: ${differences.join('; ')}. RabbitMQ cannot change a ` +
          'queue in place and Warren never deletes a queue to recreate it. Align the spec with the queue, use a ' +
          'Policy for settings that change, or create a queue under a new name and move consumers to it.',
      },
    };
  },
  write: (want, live) => {
    if (live) return []; // an existing queue cannot be altered; compare() reports any difference
    const args =
      want.type === undefined ? want.arguments : { ...want.arguments, [queueTypeArgument]: want.type };
    return [
      {
        method: 'PUT',
        path: apiPath('queues', want.vhost, want.name),
        body: { durable: want.durable, auto_delete: want.autoDelete, arguments: args },
      },
    ];
  },
  freshRead: (q) => apiPath('queues', q.vhost, q.name),
  deletion: (want, policy, fresh) => queueDeletion(want, policy, fresh as FreshQueue | undefined),
};

interface FreshQueue extends LiveQueue {
  consumers?: number;
}

/**
 * Deletes a queue only as far as the policy allows. `if-empty` makes the broker itself refuse a classic queue
 * that filled up since the fresh read; quorum queues and streams reject that flag, so for them the fresh
 * message count is the check.
 */
export function queueDeletion(want: QueueWant, policy: string, fresh: FreshQueue | undefined): DeletionStep {
  if (policy === 'retain') return { action: 'retain' };
  if (fresh === undefined) return { action: 'gone' };
  const path = apiPath('queues', want.vhost, want.name);
  if (policy === 'delete-with-data') return { action: 'delete', requests: [{ method: 'DELETE', path }] };
  const type = liveQueueType(fresh);
  if (fresh.messages === undefined && type !== 'classic') {
    return {
      action: 'blocked',
      reason: 'DeletionPending',
      message: `${describe(want)} has not reported its message count yet; deletion is retried until it has.`,
    };
  }
  if ((fresh.messages ?? 0) > 0) {
    return {
      action: 'blocked',
      reason: 'DeletionBlockedByMessages',
      message:
        `${describe(want)} still holds ${fresh.messages} message(s), so it is kept (deletionPolicy: delete). ` +
        'Deletion completes once it is empty; set deletionPolicy to delete-with-data to delete it with its ' +
        'messages, or to retain to keep it and let the Queue go.',
    };
  }
  if (want.deleteIfUnused && (fresh.consumers ?? 0) > 0) {
    return {
      action: 'blocked',
      reason: 'DeletionBlockedByConsumers',
      message:
        `${describe(want)} still has ${fresh.consumers} consumer(s) and deleteIfUnused is set, so it is kept ` +
        'until they leave.',
    };
  }
  const flags =
    type === 'classic' ? ['if-empty=true', ...(want.deleteIfUnused ? ['if-unused=true'] : [])] : [];
  return {
    action: 'delete',
    requests: [{ method: 'DELETE', path: flags.length ? `${path}?${flags.join('&')}` : path }],
  };
}
