import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { vhostSpecSchema } from '../../api/index.ts';
import type { Vhost } from '../../rabbitmq/types.ts';
import { vhostKind, type VhostWant } from './vhost.ts';
import { fakeSecrets, noReferences } from './testing.ts';

function want(spec: Record<string, unknown> = {}): VhostWant {
  const parsed = vhostSpecSchema.parse({ name: 'shop', rabbitmqClusterReference: { name: 'rmq' }, ...spec });
  const result = vhostKind.desired(parsed, noReferences);
  assert.ok(result.ok);
  return result.want;
}

const live = (over: Partial<Vhost> = {}): Vhost => ({
  name: 'shop',
  description: '',
  tags: [],
  tracing: false,
  limits: {},
  ...over,
});

describe('Vhost', () => {
  it('creates the vhost, then its limits', () => {
    assert.deepEqual(
      vhostKind.write(want({ tags: ['b', 'a'], limits: { queues: 100 } }), undefined, fakeSecrets),
      [
        { op: 'putVhost', name: 'shop', settings: { tags: ['a', 'b'], tracing: false } },
        { op: 'putVhostLimit', vhost: 'shop', limit: 'max-queues', value: 100 },
      ],
    );
  });

  it('keeps a description set elsewhere when it updates the tags', () => {
    const current = live({ description: 'the shop' });
    const w = want({ tags: ['prod'] });
    assert.deepEqual(vhostKind.compare(current, w, fakeSecrets).changes, ['tags']);
    assert.deepEqual(vhostKind.write(w, current, fakeSecrets), [
      { op: 'putVhost', name: 'shop', settings: { description: 'the shop', tags: ['prod'], tracing: false } },
    ]);
  });

  it('only touches limits when only limits differ', () => {
    const w = want({ limits: { connections: 5 } });
    assert.deepEqual(vhostKind.write(w, live({ limits: { 'max-queues': 1 } }), fakeSecrets), [
      { op: 'putVhostLimit', vhost: 'shop', limit: 'max-connections', value: 5 },
      { op: 'deleteVhostLimit', vhost: 'shop', limit: 'max-queues' },
    ]);
  });

  it('does not chase a default queue type the broker does not support', () => {
    assert.deepEqual(vhostKind.compare(live(), want({ defaultQueueType: 'quorum' }), fakeSecrets), {
      changes: [],
    });
    assert.deepEqual(
      vhostKind.compare(
        live({ default_queue_type: 'classic' }),
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
  const queue = (name: string, messages: number) => ({
    name,
    vhost: 'shop',
    durable: true,
    auto_delete: false,
    arguments: {},
    messages,
  });

  it('keeps a vhost whose queues still hold messages and names them', () => {
    const step = vhostKind.deletion(want(), 'delete', [queue('a', 0), queue('b', 7)]);
    assert.ok(step.action === 'blocked');
    assert.equal(step.reason, 'DeletionBlockedByMessages');
    assert.match(step.message, /"b" \(7\)/);
  });

  it('deletes an empty vhost after its queues, each with if-empty; a full one under delete-with-data; none under retain', () => {
    const full = [queue('b', 7)];
    const deleteVhost = { op: 'deleteVhost', name: 'shop' };
    assert.deepEqual(vhostKind.deletion(want(), 'delete', [queue('a', 0)]), {
      action: 'delete',
      ops: [{ op: 'deleteQueue', vhost: 'shop', name: 'a', ifEmpty: true, ifUnused: false }, deleteVhost],
    });
    assert.deepEqual(vhostKind.deletion(want(), 'delete', []), { action: 'delete', ops: [deleteVhost] });
    assert.deepEqual(vhostKind.deletion(want(), 'delete-with-data', full), {
      action: 'delete',
      ops: [deleteVhost],
    });
    assert.deepEqual(vhostKind.deletion(want(), 'retain', full), { action: 'retain' });
    assert.deepEqual(vhostKind.deletion(want(), 'delete', undefined), { action: 'gone' });
  });

  it('keeps a vhost while any queue, classic ones too, has not reported its message count', () => {
    const { messages: _unknown, ...uncounted } = queue('fresh', 0);
    const step = vhostKind.deletion(want(), 'delete', [queue('a', 0), uncounted]);
    assert.ok(step.action === 'blocked');
    assert.equal(step.reason, 'DeletionPending');
    assert.match(step.message, /"fresh"/);
    assert.match(step.message, /delete-with-data or retain/);
  });
});
