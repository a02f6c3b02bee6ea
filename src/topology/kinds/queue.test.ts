import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { queueKind, type QueueWant } from './queue.ts';
import { fakeSecrets, noReferences } from './testing.ts';
import type { QueueSpec } from './specs.ts';

const spec = (over: Partial<QueueSpec> = {}): QueueSpec => ({
  name: 'orders',
  vhost: '/',
  durable: true,
  autoDelete: false,
  deletionPolicy: 'delete',
  rabbitmqClusterReference: { name: 'rmq' },
  ...over,
});

function want(over: Partial<QueueSpec> = {}): QueueWant {
  const result = queueKind.desired(spec(over), noReferences);
  assert.ok(result.ok);
  return result.want;
}

describe('Queue desired state', () => {
  it('declares the type as the x-queue-type argument', () => {
    const requests = queueKind.write(
      want({ type: 'quorum', arguments: { 'x-max-length': 10 } }),
      undefined,
      fakeSecrets,
    );
    assert.deepEqual(requests, [
      {
        method: 'PUT',
        path: '/api/queues/%2F/orders',
        body: {
          durable: true,
          auto_delete: false,
          arguments: { 'x-max-length': 10, 'x-queue-type': 'quorum' },
        },
      },
    ]);
  });

  it('leaves the type to the vhost default when the spec has none', () => {
    const [request] = queueKind.write(want(), undefined, fakeSecrets);
    assert.deepEqual(request?.body, { durable: true, auto_delete: false, arguments: {} });
  });

  it('never writes to an existing queue', () => {
    const live = { name: 'orders', durable: true, auto_delete: false, arguments: {} };
    assert.deepEqual(queueKind.write(want(), live, fakeSecrets), []);
  });
});

describe('Queue comparison', () => {
  it('finds a queue declared with the same properties in sync, whatever the argument order', () => {
    const live = {
      name: 'orders',
      type: 'quorum',
      durable: true,
      auto_delete: false,
      arguments: { b: 2, a: 1, 'x-queue-type': 'quorum' },
    };
    assert.deepEqual(
      queueKind.compare(live, want({ type: 'quorum', arguments: { a: 1, b: 2 } }), fakeSecrets),
      { changes: [] },
    );
  });

  it('ignores the type when the spec leaves it to the broker', () => {
    const live = {
      name: 'orders',
      type: 'quorum',
      durable: true,
      auto_delete: false,
      arguments: { 'x-queue-type': 'quorum' },
    };
    assert.equal(queueKind.compare(live, want(), fakeSecrets).conflict, undefined);
  });

  it('reports another type as a conflict that says what differs and what to do', () => {
    const live = { name: 'orders', type: 'classic', durable: true, auto_delete: false, arguments: {} };
    const { conflict, changes } = queueKind.compare(live, want({ type: 'quorum' }), fakeSecrets);
    assert.deepEqual(changes, []);
    assert.equal(conflict?.reason, 'QueuePropertiesImmutable');
    assert.match(conflict.message, /type is classic, the spec asks for quorum/);
    assert.match(conflict.message, /never deletes a queue to recreate it/);
  });

  it('reports other arguments and durability as a conflict', () => {
    const live = { name: 'orders', durable: false, auto_delete: false, arguments: { 'x-message-ttl': 1000 } };
    const { conflict } = queueKind.compare(live, want({ arguments: { 'x-message-ttl': 2000 } }), fakeSecrets);
    assert.match(conflict?.message ?? '', /durable is false, the spec asks for true/);
    assert.match(conflict?.message ?? '', /argument x-message-ttl is 1000, the spec asks for 2000/);
  });
});

describe('Queue deletion', () => {
  const classic = (messages: number) => ({
    name: 'orders',
    type: 'classic',
    durable: true,
    auto_delete: false,
    messages,
  });

  it('keeps a queue that still holds messages', () => {
    const step = queueKind.deletion(want(), 'delete', classic(3));
    assert.ok(step.action === 'blocked');
    assert.equal(step.reason, 'DeletionBlockedByMessages');
    assert.match(step.message, /3 message\(s\)/);
  });

  it('deletes an empty classic queue with if-empty, so that the broker refuses it if messages arrive meanwhile', () => {
    assert.deepEqual(queueKind.deletion(want(), 'delete', classic(0)), {
      action: 'delete',
      requests: [{ method: 'DELETE', path: '/api/queues/%2F/orders?if-empty=true' }],
    });
  });

  it('deletes an empty quorum queue without the flags quorum queues reject', () => {
    const live = { name: 'orders', type: 'quorum', durable: true, auto_delete: false, messages: 0 };
    assert.deepEqual(queueKind.deletion(want({ type: 'quorum' }), 'delete', live), {
      action: 'delete',
      requests: [{ method: 'DELETE', path: '/api/queues/%2F/orders' }],
    });
  });

  it('waits for a quorum queue to report its message count before deleting it', () => {
    const live = { name: 'orders', type: 'quorum', durable: true, auto_delete: false };
    assert.equal(queueKind.deletion(want({ type: 'quorum' }), 'delete', live).action, 'blocked');
  });

  it('deletes a queue with its messages under delete-with-data', () => {
    assert.deepEqual(queueKind.deletion(want(), 'delete-with-data', classic(5)), {
      action: 'delete',
      requests: [{ method: 'DELETE', path: '/api/queues/%2F/orders' }],
    });
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
