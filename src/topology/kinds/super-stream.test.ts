import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { superStreamSpecSchema } from '../../api/index.ts';
import type { Definitions } from '../../rabbitmq/types.ts';
import { planConverge } from '../plan.ts';
import { partitionBinding, superStreamKind, type SuperStreamWant } from './super-stream.ts';
import { fakeSecrets, noReferences, stateOf } from './testing.ts';

const ref = { rabbitmqClusterReference: { name: 'rmq' } };
const want: SuperStreamWant = { vhost: 'shop', name: 'orders', routingKeys: ['0', '1', '2'] };

const exchange = {
  name: 'orders',
  vhost: 'shop',
  type: 'direct',
  durable: true,
  auto_delete: false,
  internal: false,
  arguments: { 'x-super-stream': true },
};
const stream = (name: string) => ({
  name,
  vhost: 'shop',
  durable: true,
  auto_delete: false,
  arguments: { 'x-queue-type': 'stream' },
});

/** A super stream of `keys` as the broker would export it. */
function onBroker(keys: string[], extra: Definitions = {}): Definitions {
  const of = { ...want, routingKeys: keys };
  return {
    vhosts: [{ name: 'shop' }],
    exchanges: [exchange],
    queues: keys.map((k) => stream(`orders-${k}`)),
    bindings: keys.map((k, i) => partitionBinding(of, k, i)),
    ...extra,
  };
}

describe('SuperStream', () => {
  it('has three partitions named "0", "1" and "2" unless the spec says otherwise', () => {
    const spec = superStreamSpecSchema.parse({ name: 'orders', vhost: 'shop', ...ref });
    assert.deepEqual(superStreamKind.desired(spec, noReferences), { ok: true, want });
    const keyed = superStreamSpecSchema.parse({
      name: 'orders',
      partitions: 2,
      routingKeys: ['eu', 'us'],
      ...ref,
    });
    assert.deepEqual(superStreamKind.desired(keyed, noReferences), {
      ok: true,
      want: { vhost: '/', name: 'orders', routingKeys: ['eu', 'us'] },
    });
    assert.equal(superStreamKind.deletionPolicy(spec), 'delete');
  });

  it('refuses routing keys that do not name one partition each', () => {
    const parse = (spec: object) =>
      superStreamSpecSchema.safeParse({ name: 'orders', ...ref, ...spec }).success;
    assert.equal(parse({ routingKeys: ['eu', 'us'] }), false, 'two keys for the default three partitions');
    assert.equal(parse({ partitions: 2, routingKeys: ['eu', 'eu'] }), false);
    assert.equal(parse({ partitions: 0 }), false);
  });

  it('declares the durable direct exchange, a stream per partition and a binding per partition in order', () => {
    const plan = planConverge(
      superStreamKind,
      want,
      stateOf({ vhosts: [{ name: 'shop' }] }),
      fakeSecrets,
      false,
    );
    assert.ok(plan.type === 'write');
    assert.deepEqual(plan.changes, ['missing']);
    assert.deepEqual(plan.ops, [
      {
        op: 'putExchange',
        vhost: 'shop',
        name: 'orders',
        settings: {
          type: 'direct',
          durable: true,
          auto_delete: false,
          arguments: { 'x-super-stream': true },
        },
      },
      ...['0', '1', '2'].map((k) => ({
        op: 'putQueue',
        vhost: 'shop',
        name: `orders-${k}`,
        settings: { durable: true, auto_delete: false, arguments: { 'x-queue-type': 'stream' } },
      })),
      ...['0', '1', '2'].map((k, i) => ({
        op: 'createBinding',
        binding: {
          vhost: 'shop',
          source: 'orders',
          destination: `orders-${k}`,
          destination_type: 'queue',
          routing_key: k,
          arguments: { 'x-stream-partition-order': i },
        },
      })),
    ]);
  });

  it('is in sync when every part is there, and waits for its vhost', () => {
    assert.deepEqual(
      planConverge(superStreamKind, want, stateOf(onBroker(['0', '1', '2'])), fakeSecrets, true),
      {
        type: 'in-sync',
      },
    );
    assert.equal(planConverge(superStreamKind, want, stateOf({}), fakeSecrets, false).type, 'waiting');
  });

  it('grows by declaring only the new partitions and their bindings', () => {
    const grown = { ...want, routingKeys: ['0', '1', '2', '3'] };
    const plan = planConverge(superStreamKind, grown, stateOf(onBroker(['0', '1', '2'])), fakeSecrets, false);
    assert.ok(plan.type === 'write');
    assert.equal(plan.verb, 'update');
    assert.deepEqual(plan.changes, ['partitions.3']);
    assert.deepEqual(
      plan.ops.map((op) => op.op),
      ['putQueue', 'createBinding'],
    );
    assert.deepEqual(plan.ops[1], { op: 'createBinding', binding: partitionBinding(grown, '3', 3) });
  });

  it('restores a partition deleted behind its back, with its binding', () => {
    // Deleting a stream takes its binding with it.
    const full = onBroker(['0', '1', '2']);
    const state = stateOf({
      ...full,
      queues: full.queues?.filter((q) => q.name !== 'orders-1'),
      bindings: full.bindings?.filter((b) => b.destination !== 'orders-1'),
    });
    const plan = planConverge(superStreamKind, want, state, fakeSecrets, true);
    assert.ok(plan.type === 'write');
    assert.equal(plan.verb, 'restore');
    assert.deepEqual(plan.changes, ['partitions.1']);
    assert.deepEqual(
      plan.ops.map((op) => op.op),
      ['putQueue', 'createBinding'],
    );
  });

  it('refuses to shrink: fewer partitions than the broker has is a conflict, and nothing is written', () => {
    const fewer = { ...want, routingKeys: ['0', '1'] };
    const plan = planConverge(superStreamKind, fewer, stateOf(onBroker(['0', '1', '2'])), fakeSecrets, true);
    assert.ok(plan.type === 'conflict');
    assert.equal(plan.reason, 'SuperStreamShrinkRefused');
    assert.match(plan.message, /has 3 partitions on the broker and the spec asks for 2/);
    assert.match(plan.message, /"orders-2"/);

    const renamed = { ...want, routingKeys: ['eu', 'us', 'asia'] };
    const other = planConverge(
      superStreamKind,
      renamed,
      stateOf(onBroker(['0', '1', '2'])),
      fakeSecrets,
      true,
    );
    assert.ok(other.type === 'conflict');
    assert.equal(other.reason, 'SuperStreamShrinkRefused');
  });

  it('refuses a reordering, another exchange type and a partition that is not a stream', () => {
    const reordered = { ...want, routingKeys: ['1', '0', '2'] };
    const plan = planConverge(
      superStreamKind,
      reordered,
      stateOf(onBroker(['0', '1', '2'])),
      fakeSecrets,
      true,
    );
    assert.equal(plan.type === 'conflict' && plan.reason, 'SuperStreamPartitionOrderConflict');

    const topic = stateOf({ ...onBroker(['0', '1', '2']), exchanges: [{ ...exchange, type: 'topic' }] });
    const exchangePlan = planConverge(superStreamKind, want, topic, fakeSecrets, true);
    assert.equal(exchangePlan.type === 'conflict' && exchangePlan.reason, 'SuperStreamExchangeConflict');

    const classic = stateOf({
      vhosts: [{ name: 'shop' }],
      queues: [{ ...stream('orders-0'), arguments: {} }],
    });
    const queuePlan = planConverge(superStreamKind, want, classic, fakeSecrets, false);
    assert.equal(queuePlan.type === 'conflict' && queuePlan.reason, 'SuperStreamPartitionConflict');
  });

  it('watches every partition stream and binding for drift', () => {
    const parts = superStreamKind.parts?.(want) ?? [];
    assert.deepEqual(
      parts.map((p) => p.kind),
      ['queue', 'binding', 'queue', 'binding', 'queue', 'binding'],
    );
  });

  describe('deletion', () => {
    const details = (name: string, messages: number | undefined) => ({
      ...stream(name),
      type: 'stream',
      ...(messages === undefined ? {} : { messages }),
    });
    const fresh = (counts: (number | undefined)[]) => ({
      exchange,
      partitions: counts.map((messages, i) => ({
        name: `orders-${i}`,
        queue: details(`orders-${i}`, messages),
      })),
    });

    it('deletes the exchange, then every empty partition', () => {
      const step = superStreamKind.deletion(want, 'delete', fresh([0, 0, 0]));
      assert.ok(step.action === 'delete');
      assert.deepEqual(step.ops[0], { op: 'deleteExchange', vhost: 'shop', name: 'orders' });
      assert.deepEqual(
        step.ops.slice(1).map((op) => op.op === 'deleteQueue' && [op.name, op.ifEmpty]),
        [
          ['orders-0', true],
          ['orders-1', true],
          ['orders-2', true],
        ],
      );
    });

    it('deletes nothing while any partition holds messages or has no count yet', () => {
      const holding = superStreamKind.deletion(want, 'delete', fresh([0, 12, 0]));
      assert.ok(holding.action === 'blocked');
      assert.equal(holding.reason, 'DeletionBlockedByMessages');
      assert.match(holding.message, /"orders-1" holds 12 message\(s\)/);
      const unknown = superStreamKind.deletion(want, 'delete', fresh([0, undefined, 0]));
      assert.equal(unknown.action === 'blocked' && unknown.reason, 'DeletionPending');
    });

    it('deletes partitions with their messages under delete-with-data, and keeps everything under retain', () => {
      const step = superStreamKind.deletion(want, 'delete-with-data', fresh([5, 12, 0]));
      assert.ok(step.action === 'delete');
      assert.equal(step.ops.length, 4);
      assert.ok(step.ops.every((op) => op.op !== 'deleteQueue' || !op.ifEmpty));
      assert.deepEqual(superStreamKind.deletion(want, 'retain', fresh([5, 12, 0])), { action: 'retain' });
    });

    it('is done when nothing of it is left', () => {
      const gone = { exchange: undefined, partitions: [{ name: 'orders-0', queue: undefined }] };
      assert.deepEqual(superStreamKind.deletion(want, 'delete', gone), { action: 'gone' });
    });
  });
});
