import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyOp } from './apply.ts';
import { buildSnapshot } from './read.ts';
import { snapshot } from './testing.ts';

describe('Broker snapshot indexing', () => {
  it('finds every object by its identity', () => {
    const s = snapshot();
    assert.equal(s.brokerVersion, '3.10.8');
    assert.equal(s.queue('orders', 'q1')?.arguments['x-queue-type'], 'quorum');
    assert.equal(s.queue('/', 'q1'), undefined);
    assert.equal(s.exchange('orders', 'x1')?.type, 'headers');
    assert.equal(s.policy('orders', 'ttl')?.priority, 1);
    assert.deepEqual(s.permission('orders', 'app'), {
      user: 'app',
      vhost: 'orders',
      configure: '.*',
      write: '.*',
      read: '',
    });
    assert.equal(s.topicPermission('orders', 'app', 'amq.topic')?.write, '.*');
    assert.equal(s.size, 2 + 1 + 1 + 1 + 1 + 2 + 3 + 1);
  });

  it('joins vhost settings from the vhost list and limits from the vhost-limits parameter', () => {
    const s = snapshot();
    assert.deepEqual(s.vhost('orders'), {
      name: 'orders',
      description: 'd',
      tags: ['a', 'b'],
      tracing: true,
      default_queue_type: 'quorum',
      limits: { 'max-queues': 10 },
    });
    assert.equal(s.vhost('/')?.default_queue_type, undefined);
    assert.equal(s.parameters.size, 0);
  });

  it('keeps user hash, algorithm, sorted tags and limits', () => {
    assert.deepEqual(snapshot().user('app'), {
      name: 'app',
      password_hash: 'IQyC95hDJab9nOutb6in1ZXJGttkWj8P9BO3CQoyIEcJFThw',
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags: ['management', 'monitoring'],
      limits: { 'max-channels': 10 },
    });
  });

  it('tells bindings apart by routing key and arguments, in any key order', () => {
    const s = snapshot();
    const base = {
      vhost: 'orders',
      source: 'x1',
      destination: 'q1',
      destination_type: 'queue' as const,
      routing_key: 'k',
    };
    assert.equal(s.hasBinding({ ...base, arguments: { a: 1, 'x-match': 'all' } }), true);
    assert.equal(s.hasBinding({ ...base, arguments: {} }), true);
    assert.equal(s.hasBinding({ ...base, arguments: { a: 2, 'x-match': 'all' } }), false);
    assert.equal(s.hasBinding({ ...base, routing_key: 'other', arguments: {} }), false);
  });

  it('lists the bindings between a source and a destination, and forgets removed ones', () => {
    const s = snapshot();
    assert.equal(s.bindings('orders', 'x1', 'queue', 'q1').length, 2);
    assert.equal(s.bindings('orders', 'x1', 'exchange', 'q1').length, 0);
    applyOp(s, { op: 'deleteQueue', vhost: 'orders', name: 'q1', ifEmpty: false, ifUnused: false });
    assert.deepEqual(s.bindings('orders', 'x1', 'queue', 'q1'), []);
    assert.equal(s.bindings('orders', 'x1', 'queue', 'q2').length, 1);
  });

  it('fills in the vhost of objects from a per-vhost export', () => {
    const s = buildSnapshot('b', 1, {
      definitions: {},
      vhosts: [{ name: 'v' }],
      vhostDefinitions: new Map([
        ['v', { queues: [{ name: 'q', durable: true, auto_delete: false, arguments: {} } as never] }],
      ]),
    });
    assert.equal(s.queue('v', 'q')?.vhost, 'v');
    assert.deepEqual(s.vhost('v')?.limits, {});
  });
});
