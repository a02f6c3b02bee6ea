import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { queueSpecSchema } from '../../api/index.ts';
import type { Queue } from '../../rabbitmq/types.ts';
import { queueKind, type QueueWant } from './queue.ts';
import { fakeSecrets, noReferences } from './testing.ts';

function want(spec: Record<string, unknown> = {}): QueueWant {
  const parsed = queueSpecSchema.parse({
    name: 'orders',
    rabbitmqClusterReference: { name: 'rmq' },
    ...spec,
  });
  const result = queueKind.desired(parsed, noReferences);
  assert.ok(result.ok);
  return result.want;
}

const live = (over: Partial<Queue> = {}): Queue => ({
  name: 'orders',
  vhost: '/',
  durable: true,
  auto_delete: false,
  arguments: {},
  ...over,
});

describe('Queue desired state', () => {
  it('declares a durable queue by default, with the type as the x-queue-type argument', () => {
    assert.deepEqual(
      queueKind.write(want({ type: 'quorum', arguments: { 'x-max-length': 10 } }), undefined, fakeSecrets),
      [
        {
          op: 'putQueue',
          vhost: '/',
          name: 'orders',
          settings: {
            durable: true,
            auto_delete: false,
            arguments: { 'x-max-length': 10, 'x-queue-type': 'quorum' },
          },
        },
      ],
    );
  });

  it('leaves the type to the vhost default when the spec has none', () => {
    const [op] = queueKind.write(want(), undefined, fakeSecrets);
    assert.ok(op?.op === 'putQueue');
    assert.deepEqual(op.settings.arguments, {});
  });

  it('never writes to an existing queue', () => {
    assert.deepEqual(queueKind.write(want(), live(), fakeSecrets), []);
  });
});

describe('Queue comparison', () => {
  it('finds a queue declared with the same properties in sync, whatever the argument order', () => {
    const current = live({ arguments: { b: 2, a: 1, 'x-queue-type': 'quorum' } });
    assert.deepEqual(
      queueKind.compare(current, want({ type: 'quorum', arguments: { a: 1, b: 2 } }), fakeSecrets),
      {
        changes: [],
      },
    );
  });

  it('ignores the type when the spec leaves it to the broker', () => {
    const current = live({ arguments: { 'x-queue-type': 'quorum' } });
    assert.equal(queueKind.compare(current, want(), fakeSecrets).conflict, undefined);
  });

  it('reports another type as a conflict that says what differs and what to do', () => {
    const { conflict, changes } = queueKind.compare(live(), want({ type: 'quorum' }), fakeSecrets);
    assert.deepEqual(changes, []);
    assert.equal(conflict?.reason, 'QueuePropertiesImmutable');
    assert.match(conflict.message, /type is classic, the spec asks for quorum/);
    assert.match(conflict.message, /never deletes a queue to recreate it/);
  });

  it('reports other arguments and durability as a conflict', () => {
    const current = live({ durable: false, arguments: { 'x-message-ttl': 1000 } });
    const { conflict } = queueKind.compare(
      current,
      want({ arguments: { 'x-message-ttl': 2000 } }),
      fakeSecrets,
    );
    assert.match(conflict?.message ?? '', /durable is false, the spec asks for true/);
    assert.match(conflict?.message ?? '', /argument x-message-ttl is 1000, the spec asks for 2000/);
  });
});

describe('Queue deletion', () => {
  const classic = (messages: number) => ({ ...live(), type: 'classic', messages, consumers: 0 });
  const deleteOp = (ifEmpty: boolean) => ({
    action: 'delete',
    ops: [{ op: 'deleteQueue', vhost: '/', name: 'orders', ifEmpty, ifUnused: false }],
  });

  it('keeps a queue that still holds messages', () => {
    const step = queueKind.deletion(want(), 'delete', classic(3));
    assert.ok(step.action === 'blocked');
    assert.equal(step.reason, 'DeletionBlockedByMessages');
    assert.match(step.message, /3 message\(s\)/);
  });

  it('deletes an empty queue with if-empty, so that the broker refuses it if messages arrive meanwhile', () => {
    assert.deepEqual(queueKind.deletion(want(), 'delete', classic(0)), deleteOp(true));
  });

  it('waits for a quorum queue to report its message count before deleting it', () => {
    const fresh = { ...live({ arguments: { 'x-queue-type': 'quorum' } }), type: 'quorum' };
    assert.equal(queueKind.deletion(want({ type: 'quorum' }), 'delete', fresh).action, 'blocked');
  });

  it('deletes a queue with its messages under delete-with-data', () => {
    assert.deepEqual(queueKind.deletion(want(), 'delete-with-data', classic(5)), deleteOp(false));
  });

  it('keeps a consumed queue when deleteIfUnused is set', () => {
    const step = queueKind.deletion(want({ deleteIfUnused: true }), 'delete', {
      ...classic(0),
      consumers: 2,
    });
    assert.ok(step.action === 'blocked');
    assert.equal(step.reason, 'DeletionBlockedByConsumers');
  });

  it('leaves the queue alone under retain and is done when the queue is already gone', () => {
    assert.deepEqual(queueKind.deletion(want(), 'retain', classic(5)), { action: 'retain' });
    assert.deepEqual(queueKind.deletion(want(), 'delete', undefined), { action: 'gone' });
  });
});
