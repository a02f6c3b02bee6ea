// Queue: identity (vhost, name). Every property is fixed when the queue is declared, so a difference is a
// conflict to report, never a reason to delete and recreate a queue that may hold messages.
import { snapshotKeys } from '../../rabbitmq/snapshot/index.ts';
import { type QueueSpec, queueResource } from '../../api/index.ts';
import type { Queue, QueueDetails } from '../../rabbitmq/types.ts';
import { differingKeys } from '../../rabbitmq/normalise.ts';
import { show } from './common.ts';
import type { DeletionStep, TopologyKind } from './types.ts';

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

const typeArgument = 'x-queue-type';

function withoutType(args: Record<string, unknown> | undefined): Record<string, unknown> {
  const { [typeArgument]: _type, ...rest } = args ?? {};
  return rest;
}

/** The type a queue reports, or carries in its arguments; classic when it says nothing. */
export function queueTypeOf(queue: { type?: string; arguments?: Record<string, unknown> }): string {
  const fromArgs = queue.arguments?.[typeArgument];
  return queue.type ?? (typeof fromArgs === 'string' ? fromArgs : 'classic');
}

export const describeQueue = (q: { vhost: string; name: string }) =>
  `queue "${q.name}" in vhost "${q.vhost}"`;

export const queueKind: TopologyKind<QueueSpec, QueueWant, Queue> = {
  kind: 'Queue',
  resource: queueResource,
  deletionPolicy: (spec) => spec.deletionPolicy,
  desired: (spec) => {
    const typeArg = spec.arguments?.[typeArgument];
    return {
      ok: true,
      want: {
        vhost: spec.vhost,
        name: spec.name,
        type: spec.type ?? (typeof typeArg === 'string' ? typeArg : undefined),
        durable: spec.durable,
        autoDelete: spec.autoDelete,
        arguments: withoutType(spec.arguments),
        deleteIfUnused: spec.deleteIfUnused ?? false,
      },
    };
  },
  brokerKey: (q) => ({ kind: 'queue', key: snapshotKeys.queue(q.vhost, q.name) }),
  describe: describeQueue,
  dependencies: (q) => [{ type: 'vhost', name: q.vhost }],
  live: (state, q) => state.queue(q.vhost, q.name),
  compare: (live, want) => {
    const differences: string[] = [];
    if (want.type !== undefined && queueTypeOf(live) !== want.type) {
      differences.push(`type is ${queueTypeOf(live)}, the spec asks for ${want.type}`);
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
          `${describeQueue(want)} exists with other properties: ${differences.join('; ')}. RabbitMQ cannot change ` +
          'a queue in place and Warren never deletes a queue to recreate it. Align the spec with the queue, use ' +
          'a Policy for settings that change, or create a queue under a new name and move consumers to it.',
      },
    };
  },
  write: (want, live) => {
    if (live) return []; // an existing queue cannot be altered; compare() reports any difference
    const args = want.type === undefined ? want.arguments : { ...want.arguments, [typeArgument]: want.type };
    return [
      {
        op: 'putQueue',
        vhost: want.vhost,
        name: want.name,
        settings: { durable: want.durable, auto_delete: want.autoDelete, arguments: args },
      },
    ];
  },
  // A classic queue is deleted with if-empty (and if-unused), which the broker checks as it deletes: the
  // snapshot's queue says enough. Quorum queues and streams refuse those flags, so their counts are read now.
  fresh: (client, q, live, signal) =>
    live === undefined || queueTypeOf(live) === 'classic'
      ? Promise.resolve(live)
      : client.getQueue(q.vhost, q.name, signal),
  deletion: (want, policy, fresh) => queueDeletion(want, policy, fresh as QueueDetails | undefined),
};

/**
 * Deletes a queue only as far as the policy allows, judged on a fresh read. `if-empty` also makes the broker
 * refuse a classic queue that filled up since that read (the client falls back to a count check for quorum
 * queues and streams, which reject the flag).
 */
export function queueDeletion(
  want: QueueWant,
  policy: string,
  fresh: QueueDetails | undefined,
): DeletionStep {
  if (policy === 'retain') return { action: 'retain' };
  if (fresh === undefined) return { action: 'gone' };
  const remove = (ifEmpty: boolean): DeletionStep => ({
    action: 'delete',
    ops: [
      {
        op: 'deleteQueue',
        vhost: want.vhost,
        name: want.name,
        ifEmpty,
        ifUnused: ifEmpty && want.deleteIfUnused,
      },
    ],
  });
  if (policy === 'delete-with-data') return remove(false);
  if (fresh.messages === undefined && queueTypeOf(fresh) !== 'classic') {
    return {
      action: 'blocked',
      reason: 'DeletionPending',
      message: `${describeQueue(want)} has not reported its message count yet; deletion is retried until it has.`,
    };
  }
  if ((fresh.messages ?? 0) > 0) return blockedByMessages(want, fresh.messages ?? 0);
  if (want.deleteIfUnused && (fresh.consumers ?? 0) > 0) {
    return {
      action: 'blocked',
      reason: 'DeletionBlockedByConsumers',
      message:
        `${describeQueue(want)} still has ${fresh.consumers} consumer(s) and deleteIfUnused is set, so it is ` +
        'kept until they leave.',
    };
  }
  return remove(true);
}

export function blockedByMessages(
  want: { vhost: string; name: string },
  messages: number | undefined,
): DeletionStep {
  const count = messages === undefined ? 'messages' : `${messages} message(s)`;
  return {
    action: 'blocked',
    reason: 'DeletionBlockedByMessages',
    message:
      `${describeQueue(want)} still holds ${count}, so it is kept (deletionPolicy: delete). Deletion completes ` +
      'once it is empty; set deletionPolicy to delete-with-data to delete it with its messages, or to retain ' +
      'to keep it and let the Queue go.',
  };
}
