// SuperStream: a direct exchange <name>, one stream <name>-<routing key> per partition, and one binding per
// partition carrying its routing key and its place in the partition order (x-stream-partition-order), as
// `rabbitmq-streams add_super_stream` declares them. Missing parts are declared; partitions are only ever
// added. The partitions the broker has are read from the exchange's bindings, so a spec that lists fewer
// (a lower count, a removed or reordered routing key) is refused and nothing is deleted.
import { superStreamResource, type SuperStreamSpec } from '../../api/index.ts';
import { snapshotKeys } from '../../rabbitmq/snapshot/index.ts';
import type { Binding, Exchange, Queue, QueueDetails } from '../../rabbitmq/types.ts';
import { queueTypeOf } from './queue.ts';
import type { BrokerOp, Conflict, DeletionStep, TopologyKind } from './types.ts';

export interface SuperStreamWant {
  vhost: string;
  name: string;
  /** One per partition, in partition order. */
  routingKeys: string[];
}

/** What the broker has of a super stream; `partitions` and `bound` follow the spec's routing keys. */
export interface SuperStreamLive {
  exchange: Exchange | undefined;
  partitions: (Queue | undefined)[];
  bound: boolean[];
  /** Partition bindings of the exchange that the spec does not ask for. */
  strays: Binding[];
}

/** What a deletion reads right before deleting: the exchange and each partition with its message count. */
export interface SuperStreamFresh {
  exchange: Exchange | undefined;
  partitions: { name: string; queue: QueueDetails | undefined }[];
}

const orderArgument = 'x-stream-partition-order';

/** The routing keys a spec asks for: its own, or "0" … "partitions - 1". */
export function routingKeysOf(spec: Pick<SuperStreamSpec, 'partitions' | 'routingKeys'>): string[] {
  return spec.routingKeys ?? Array.from({ length: spec.partitions }, (_, i) => String(i));
}

export const partitionName = (want: { name: string }, routingKey: string) => `${want.name}-${routingKey}`;

export function partitionBinding(want: SuperStreamWant, routingKey: string, order: number): Binding {
  return {
    vhost: want.vhost,
    source: want.name,
    destination: partitionName(want, routingKey),
    destination_type: 'queue',
    routing_key: routingKey,
    arguments: { [orderArgument]: order },
  };
}

const describe = (s: { vhost: string; name: string }) => `super stream "${s.name}" in vhost "${s.vhost}"`;

function conflictOf(live: SuperStreamLive, want: SuperStreamWant): Conflict | undefined {
  const what = describe(want);
  if (live.exchange && (live.exchange.type !== 'direct' || !live.exchange.durable)) {
    return {
      reason: 'SuperStreamExchangeConflict',
      message:
        `${what} needs a durable direct exchange "${want.name}", but the broker has a ` +
        `${live.exchange.durable ? 'durable' : 'transient'} ${live.exchange.type} exchange of that name. ` +
        'Choose another name, or delete that exchange on the broker.',
    };
  }
  const notStreams = live.partitions
    .map((queue, i) => (queue && queueTypeOf(queue) !== 'stream' ? want.routingKeys[i] : undefined))
    .filter((key) => key !== undefined);
  if (notStreams.length > 0) {
    const names = notStreams.map((key) => `"${partitionName(want, key)}"`).join(', ');
    return {
      reason: 'SuperStreamPartitionConflict',
      message:
        `${what} needs streams for its partitions, but ${names} exist as other queue types. Warren never ` +
        'deletes a queue to recreate it: choose another name or routing keys, or delete those queues yourself.',
    };
  }
  const partitionNames = new Set(want.routingKeys.map((key) => partitionName(want, key)));
  const removed = live.strays.filter((b) => !partitionNames.has(b.destination));
  if (removed.length > 0) {
    const removedNames = [...new Set(removed.map((b) => b.destination))];
    const onBroker = live.bound.filter(Boolean).length + removedNames.length;
    const names = removedNames.map((name) => `"${name}"`).join(', ');
    return {
      reason: 'SuperStreamShrinkRefused',
      message:
        `${what} has ${onBroker} partitions ` +
        `on the broker and the spec asks for ${want.routingKeys.length}: it can grow but never shrink, and ` +
        `Warren deleted nothing. Partitions the spec no longer lists: ${names}. Restore their routing keys ` +
        'and partition count, or delete those streams on the broker yourself if their messages may go.',
    };
  }
  if (live.strays.length > 0) {
    const keys = live.strays.map((b) => `"${b.routing_key}"`).join(', ');
    return {
      reason: 'SuperStreamPartitionOrderConflict',
      message:
        `${what} routes with other routing keys or in another partition order on the broker (bindings ${keys}) ` +
        'than the spec asks for. Keys can only be appended: restore the order the broker has.',
    };
  }
  return undefined;
}

export const superStreamKind: TopologyKind<SuperStreamSpec, SuperStreamWant, SuperStreamLive> = {
  kind: 'SuperStream',
  resource: superStreamResource,
  deletionPolicy: (spec) => spec.deletionPolicy,
  desired: (spec) => ({
    ok: true,
    want: { vhost: spec.vhost, name: spec.name, routingKeys: routingKeysOf(spec) },
  }),
  brokerKey: (s) => ({ kind: 'exchange', key: snapshotKeys.exchange(s.vhost, s.name) }),
  parts: (s) =>
    s.routingKeys.flatMap((key, i) => [
      { kind: 'queue', key: snapshotKeys.queue(s.vhost, partitionName(s, key)) },
      { kind: 'binding', key: snapshotKeys.binding(partitionBinding(s, key, i)) },
    ]),
  describe,
  dependencies: (s) => [{ type: 'vhost', name: s.vhost }],
  live: (state, want) => {
    const exchange = state.exchange(want.vhost, want.name);
    const partitions = want.routingKeys.map((key) => state.queue(want.vhost, partitionName(want, key)));
    const wanted = want.routingKeys.map((key, i) => partitionBinding(want, key, i));
    const wantedKeys = new Set(wanted.map((b) => snapshotKeys.binding(b)));
    const strays = state
      .bindingsFrom(want.vhost, want.name)
      .filter((b) => orderArgument in b.arguments && !wantedKeys.has(snapshotKeys.binding(b)));
    if (exchange === undefined && partitions.every((q) => q === undefined) && strays.length === 0) {
      return undefined;
    }
    return { exchange, partitions, bound: wanted.map((b) => state.hasBinding(b)), strays };
  },
  compare: (live, want) => {
    const conflict = conflictOf(live, want);
    if (conflict) return { changes: [], conflict };
    const changes: string[] = [];
    if (live.exchange === undefined) changes.push('exchange');
    want.routingKeys.forEach((key, i) => {
      if (live.partitions[i] === undefined) changes.push(`partitions.${key}`);
      else if (!live.bound[i]) changes.push(`bindings.${key}`);
    });
    return { changes };
  },
  write: (want, live) => {
    const ops: BrokerOp[] = [];
    if (live?.exchange === undefined) {
      ops.push({
        op: 'putExchange',
        vhost: want.vhost,
        name: want.name,
        settings: {
          type: 'direct',
          durable: true,
          auto_delete: false,
          arguments: { 'x-super-stream': true },
        },
      });
    }
    want.routingKeys.forEach((key, i) => {
      if (live?.partitions[i] !== undefined) return;
      ops.push({
        op: 'putQueue',
        vhost: want.vhost,
        name: partitionName(want, key),
        settings: { durable: true, auto_delete: false, arguments: { 'x-queue-type': 'stream' } },
      });
    });
    want.routingKeys.forEach((key, i) => {
      if (live?.bound[i] === true) return;
      ops.push({ op: 'createBinding', binding: partitionBinding(want, key, i) });
    });
    return ops;
  },
  fresh: async (client, want, _live, signal): Promise<SuperStreamFresh> => {
    const names = want.routingKeys.map((key) => partitionName(want, key));
    const [exchange, ...queues] = await Promise.all([
      client.getExchange(want.vhost, want.name, signal),
      ...names.map((name) => client.getQueue(want.vhost, name, signal)),
    ]);
    return { exchange, partitions: names.map((name, i) => ({ name, queue: queues[i] })) };
  },
  deletion: (want, policy, fresh) => superStreamDeletion(want, policy, fresh as SuperStreamFresh),
};

/**
 * Deletes the exchange first (publishers stop reaching the partitions), then the partition streams. Under
 * `delete` nothing at all is deleted while any partition holds messages or has not reported a count: a super
 * stream is deleted whole or not at all. The broker ignores `if-empty` for streams (3.10 deletes a stream
 * that holds messages), so the fresh counts are the guard.
 */
export function superStreamDeletion(
  want: SuperStreamWant,
  policy: string,
  fresh: SuperStreamFresh,
): DeletionStep {
  if (policy === 'retain') return { action: 'retain' };
  const present = fresh.partitions.filter((p) => p.queue !== undefined);
  if (fresh.exchange === undefined && present.length === 0) return { action: 'gone' };
  if (policy !== 'delete-with-data') {
    const unknown = present.filter((p) => p.queue?.messages === undefined);
    if (unknown.length > 0) {
      return {
        action: 'blocked',
        reason: 'DeletionPending',
        message:
          `${describe(want)}: partitions ${unknown.map((p) => `"${p.name}"`).join(', ')} have not reported ` +
          'their message counts yet; deletion is retried until they have.',
      };
    }
    const holding = present.filter((p) => (p.queue?.messages ?? 0) > 0);
    if (holding.length > 0) {
      const counts = holding.map((p) => `"${p.name}" holds ${p.queue?.messages} message(s)`).join(', ');
      return {
        action: 'blocked',
        reason: 'DeletionBlockedByMessages',
        message:
          `${describe(want)} is kept whole, nothing was deleted: ${counts} (deletionPolicy: delete). Set ` +
          'deletionPolicy to delete-with-data to delete the partitions with their messages, or to retain to ' +
          'keep them and let the SuperStream go.',
      };
    }
  }
  const ops: BrokerOp[] = [];
  if (fresh.exchange !== undefined) ops.push({ op: 'deleteExchange', vhost: want.vhost, name: want.name });
  for (const p of present) {
    ops.push({
      op: 'deleteQueue',
      vhost: want.vhost,
      name: p.name,
      ifEmpty: policy !== 'delete-with-data',
      ifUnused: false,
    });
  }
  return { action: 'delete', ops };
}
