import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { vhostKind, type VhostWant } from './vhost.ts';
import { fakeSecrets, noReferences } from './testing.ts';
import type { VhostSpec } from './specs.ts';

function want(over: Partial<VhostSpec> = {}): VhostWant {
  const result = vhostKind.desired(
    { name: 'shop', rabbitmqClusterReference: { name: 'rmq' }, ...over },
    noReferences,
  );
  assert.ok(result.ok);
  return result.want;
}

describe('Vhost', () => {
  it('creates the vhost, then its limits', () => {
    assert.deepEqual(
      vhostKind.write(want({ tags: ['b', 'a'], limits: { queues: 100 } }), undefined, fakeSecrets),
      [
        { method: 'PUT', path: '/api/vhosts/shop', body: { tags: ['a', 'b'], tracing: false } },
        { method: 'PUT', path: '/api/vhost-limits/shop/max-queues', body: { value: 100 } },
      ],
    );
  });

  it('keeps a description set elsewhere when it updates the tags', () => {
    const live = { name: 'shop', description: 'the shop', tags: [], tracing: false, limits: {} };
    const w = want({ tags: ['prod'] });
    assert.deepEqual(vhostKind.compare(live, w, fakeSecrets).changes, ['tags']);
    assert.deepEqual(vhostKind.write(w, live, fakeSecrets), [
      {
        method: 'PUT',
        path: '/api/vhosts/shop',
        body: { description: 'the shop', tags: ['prod'], tracing: false },
      },
    ]);
  });

  it('does not chase a default queue type the broker does not support', () => {
    const live = { name: 'shop', tags: [], default_queue_type: 'undefined', tracing: false, limits: {} };
    assert.deepEqual(vhostKind.compare(live, want({ defaultQueueType: 'quorum' }), fakeSecrets), {
      changes: [],
    });
    assert.deepEqual(
      vhostKind.compare(
        { ...live, default_queue_type: 'classic' },
        want({ defaultQueueType: 'quorum' }),
        fakeSecrets,
      ),
      {
        changes: ['defaultQueueType'],
      },
    );
  });
});

describe('Vhost deletion', () => {
  it('keeps a vhost whose queues still hold messages and names them', () => {
    const step = vhostKind.deletion(want(), 'delete', [
      { name: 'a', durable: true, auto_delete: false, messages: 0 },
      { name: 'b', durable: true, auto_delete: false, messages: 7 },
    ]);
    assert.ok(step.action === 'blocked');
    assert.equal(step.reason, 'DeletionBlockedByMessages');
    assert.match(step.message, /"b" \(7\)/);
  });

  it('deletes an empty vhost, a full one under delete-with-data, and none under retain', () => {
    const full = [{ name: 'b', durable: true, auto_delete: false, messages: 7 }];
    const remove = { action: 'delete', requests: [{ method: 'DELETE', path: '/api/vhosts/shop' }] };
    assert.deepEqual(vhostKind.deletion(want(), 'delete', []), remove);
    assert.deepEqual(vhostKind.deletion(want(), 'delete-with-data', full), remove);
    assert.deepEqual(vhostKind.deletion(want(), 'retain', full), { action: 'retain' });
    assert.deepEqual(vhostKind.deletion(want(), 'delete', undefined), { action: 'gone' });
  });
});
