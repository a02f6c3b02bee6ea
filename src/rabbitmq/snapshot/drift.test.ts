import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffSnapshots } from './drift.ts';
import { buildSnapshot, carryOverUnreadable } from './read.ts';
import { exported, listedVhosts, snapshot } from './testing.ts';

describe('Drift between two snapshots', () => {
  it('reports deleted, changed and created objects by kind and key', () => {
    const next = structuredClone(exported);
    next.queues = next.queues!.filter((q) => q.name !== 'q2');
    next.bindings = next.bindings!.filter((b) => b.destination !== 'q2');
    next.policies![0]!.definition = { 'message-ttl': 2000 };
    next.exchanges!.push({
      name: 'x2',
      vhost: 'orders',
      type: 'fanout',
      durable: true,
      auto_delete: false,
      internal: false,
      arguments: {},
    });
    const changes = diffSnapshots(snapshot(), snapshot(next));
    assert.deepEqual(
      changes.map((c) => [c.kind, c.change, c.key]),
      [
        ['exchange', 'created', '["orders","x2"]'],
        ['queue', 'deleted', '["orders","q2"]'],
        ['binding', 'deleted', '["orders","x1","queue","q2","","{}"]'],
        ['policy', 'changed', '["orders","ttl"]'],
      ],
    );
  });

  it('reports a changed password hash as a changed user', () => {
    const next = structuredClone(exported);
    next.users![0]!.password_hash = 'other';
    assert.deepEqual(
      diffSnapshots(snapshot(), snapshot(next)).map((c) => [c.kind, c.change]),
      [['user', 'changed']],
    );
  });

  it('reports nothing for equal snapshots', () => {
    assert.deepEqual(diffSnapshots(snapshot(), snapshot()), []);
  });

  it('does not count the objects of an unreadable vhost as deleted and carries them over', () => {
    const previous = snapshot();
    const next = buildSnapshot('b', 2, {
      definitions: { ...structuredClone(exported), queues: [], bindings: [] },
      vhosts: listedVhosts,
      unreadableVhosts: ['orders'],
    });
    carryOverUnreadable(next, previous);
    assert.deepEqual(diffSnapshots(previous, next), []);
    assert.equal(next.isReadable('orders'), false);
    assert.ok(next.queue('orders', 'q1'));
  });
});
