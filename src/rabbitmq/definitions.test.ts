import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BrokerSnapshot,
  SnapshotCache,
  applyWrite,
  buildSnapshot,
  carryOverUnreadable,
  diffSnapshots,
  type SnapshotRefresh,
} from './definitions.ts';
import type { BrokerWrite, ManagementClient } from './management.ts';
import type { Definitions } from './types.ts';

// An export as RabbitMQ 3.10 produces it (vhosts without settings, vhost limits as parameters).
const exported: Definitions = {
  rabbitmq_version: '3.10.8',
  users: [
    {
      name: 'app',
      password_hash: 'IQyC95hDJab9nOutb6in1ZXJGttkWj8P9BO3CQoyIEcJFThw',
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags: ['monitoring', 'management'],
      limits: { 'max-channels': 10 },
    },
  ],
  vhosts: [{ name: '/' }, { name: 'orders' }],
  permissions: [{ user: 'app', vhost: 'orders', configure: '.*', write: '.*', read: '' }],
  topic_permissions: [{ user: 'app', vhost: 'orders', exchange: 'amq.topic', write: '.*', read: '.*' }],
  parameters: [{ value: { 'max-queues': 10 }, vhost: 'orders', component: 'vhost-limits', name: 'limits' }],
  policies: [
    {
      vhost: 'orders',
      name: 'ttl',
      pattern: '^q',
      'apply-to': 'queues',
      definition: { 'message-ttl': 1000 },
      priority: 1,
    },
  ],
  queues: [
    {
      name: 'q1',
      vhost: 'orders',
      durable: true,
      auto_delete: false,
      arguments: { 'x-queue-type': 'quorum' },
    },
    { name: 'q2', vhost: 'orders', durable: true, auto_delete: false, arguments: {} },
  ],
  exchanges: [
    {
      name: 'x1',
      vhost: 'orders',
      type: 'headers',
      durable: true,
      auto_delete: false,
      internal: false,
      arguments: {},
    },
  ],
  bindings: [
    {
      source: 'x1',
      vhost: 'orders',
      destination: 'q1',
      destination_type: 'queue',
      routing_key: 'k',
      arguments: { 'x-match': 'all', a: 1 },
    },
    {
      source: 'x1',
      vhost: 'orders',
      destination: 'q1',
      destination_type: 'queue',
      routing_key: 'k',
      arguments: {},
    },
    {
      source: 'x1',
      vhost: 'orders',
      destination: 'q2',
      destination_type: 'queue',
      routing_key: '',
      arguments: {},
    },
  ],
};

const listedVhosts = [
  {
    name: '/',
    description: 'Default virtual host',
    tags: [],
    tracing: false,
    default_queue_type: 'undefined',
  },
  { name: 'orders', description: 'd', tags: ['b', 'a'], tracing: true, default_queue_type: 'quorum' },
];

function snapshot(definitions: Definitions = exported, fetchedAt = 1): BrokerSnapshot {
  return buildSnapshot('http://broker:15672', fetchedAt, {
    definitions: structuredClone(definitions),
    vhosts: listedVhosts,
  });
}

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
    applyWrite(s, { kind: 'queue', op: 'delete', vhost: 'orders', name: 'q1' });
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

describe('Writes applied to a snapshot', () => {
  it('removes the bindings of a deleted queue and only those', () => {
    const s = snapshot();
    applyWrite(s, { kind: 'queue', op: 'delete', vhost: 'orders', name: 'q1' });
    assert.equal(s.queue('orders', 'q1'), undefined);
    assert.equal(s.allBindings.size, 1);
  });

  it('removes everything in a deleted vhost', () => {
    const s = snapshot();
    applyWrite(s, { kind: 'vhost', op: 'delete', name: 'orders' });
    assert.equal(s.size, 2); // vhost "/" and user "app" remain
  });

  it('removes the permissions of a deleted user', () => {
    const s = snapshot();
    applyWrite(s, { kind: 'user', op: 'delete', name: 'app' });
    assert.equal(s.permissions.size + s.topicPermissions.size, 0);
  });

  it('keeps the arguments of an exchange that exists, as the broker does on redeclare', () => {
    const s = snapshot();
    applyWrite(s, {
      kind: 'exchange',
      op: 'put',
      value: {
        name: 'x1',
        vhost: 'orders',
        type: 'headers',
        durable: true,
        auto_delete: false,
        internal: false,
        arguments: { a: 1 },
      },
    });
    assert.deepEqual(s.exchange('orders', 'x1')?.arguments, {});
  });

  it('sets and removes limits without touching the rest of the vhost', () => {
    const s = snapshot();
    applyWrite(s, { kind: 'vhostLimit', op: 'put', vhost: 'orders', limit: 'max-connections', value: 5 });
    applyWrite(s, { kind: 'vhostLimit', op: 'delete', vhost: 'orders', limit: 'max-queues' });
    assert.deepEqual(s.vhost('orders')?.limits, { 'max-connections': 5 });
    assert.equal(s.vhost('orders')?.tracing, true);
  });

  it('makes a written object equal to the same object read back from the broker', () => {
    const s = snapshot({ ...exported, queues: [] });
    applyWrite(s, {
      kind: 'queue',
      op: 'put',
      value: {
        name: 'q1',
        vhost: 'orders',
        durable: true,
        auto_delete: false,
        arguments: { 'x-queue-type': 'quorum' },
      },
    });
    assert.deepEqual(
      diffSnapshots(s, snapshot()).filter((c) => c.kind === 'queue' && c.change !== 'created'),
      [],
    );
  });
});

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

// A client stand-in: the cache only uses brokerId, closed and onWrite.
function fakeClient(): ManagementClient & { write(w: BrokerWrite): void } {
  const listeners = new Set<(w: BrokerWrite) => void>();
  return {
    brokerId: 'http://broker:15672',
    closed: false,
    onWrite(listener: (w: BrokerWrite) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    write(w: BrokerWrite) {
      for (const l of listeners) l(w);
    },
  } as unknown as ManagementClient & { write(w: BrokerWrite): void };
}

const newQueue: BrokerWrite = {
  kind: 'queue',
  op: 'put',
  value: { name: 'new', vhost: 'orders', durable: true, auto_delete: false, arguments: {} },
};

describe('Snapshot cache', () => {
  it('shares one fetch among concurrent callers', async () => {
    let fetches = 0;
    const cache = new SnapshotCache({
      refreshIntervalMs: 0,
      fetch: () => (fetches++, Promise.resolve(snapshot())),
    });
    const client = fakeClient();
    const [a, b, c] = await Promise.all([cache.get(client), cache.get(client), cache.get(client)]);
    assert.equal(fetches, 1);
    assert.equal(a, b);
    assert.equal(b, c);
    cache.close();
  });

  it('refetches when invalidated or older than the age asked for', async () => {
    let fetches = 0;
    const cache = new SnapshotCache({
      refreshIntervalMs: 0,
      fetch: () => (fetches++, Promise.resolve(snapshot(exported, Date.now()))),
    });
    const client = fakeClient();
    await cache.get(client);
    await cache.get(client);
    assert.equal(fetches, 1);
    cache.invalidate(client.brokerId);
    await cache.get(client);
    assert.equal(fetches, 2);
    await cache.get(client, { maxAgeMs: -1 });
    assert.equal(fetches, 3);
    cache.close();
  });

  it('applies writes to the cached snapshot without a refetch', async () => {
    let fetches = 0;
    const cache = new SnapshotCache({
      refreshIntervalMs: 0,
      fetch: () => (fetches++, Promise.resolve(snapshot(exported, Date.now()))),
    });
    const client = fakeClient();
    await cache.get(client);
    client.write(newQueue);
    assert.ok((await cache.get(client)).queue('orders', 'new'));
    assert.equal(fetches, 1);
    cache.close();
  });

  it('replays writes made during a fetch onto its result', async () => {
    let release!: () => void;
    const cache = new SnapshotCache({
      refreshIntervalMs: 0,
      fetch: () => new Promise((resolve) => (release = () => resolve(snapshot(exported, Date.now())))),
    });
    const client = fakeClient();
    const pending = cache.get(client);
    client.write(newQueue); // the broker answered the export before this write landed
    release();
    assert.ok((await pending).queue('orders', 'new'));
    cache.close();
  });

  it('hands the previous and the new snapshot with their differences to the listener', async () => {
    const refreshes: SnapshotRefresh[] = [];
    const versions = [exported, { ...exported, queues: [] }];
    const cache = new SnapshotCache({
      refreshIntervalMs: 0,
      onRefresh: (refresh) => refreshes.push(refresh),
      fetch: () => Promise.resolve(snapshot(versions.shift(), Date.now())),
    });
    const client = fakeClient();
    const first = await cache.get(client);
    assert.equal(refreshes.length, 0);
    const second = await cache.refresh(client);
    assert.equal(refreshes.length, 1);
    assert.equal(refreshes[0]!.previous, first);
    assert.equal(refreshes[0]!.snapshot, second);
    assert.deepEqual(
      refreshes[0]!.changes.filter((c) => c.change === 'deleted').map((c) => c.kind),
      ['queue', 'queue'],
    );
    cache.close();
  });

  it('answers with a failed fetch for a while instead of asking the broker again', async () => {
    let fetches = 0;
    let fail = true;
    const cache = new SnapshotCache({
      refreshIntervalMs: 0,
      failureHoldMs: 50,
      fetch: () => {
        fetches += 1;
        return fail ? Promise.reject(new Error('too slow')) : Promise.resolve(snapshot(exported, Date.now()));
      },
    });
    const client = fakeClient();
    await assert.rejects(cache.get(client), /too slow/);
    fail = false;
    await assert.rejects(cache.get(client), /too slow/);
    assert.equal(fetches, 1);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.ok(await cache.get(client));
    assert.equal(fetches, 2);
    cache.close();
  });

  it('passes a failed fetch to the callers and fetches again next time', async () => {
    let fail = true;
    const cache = new SnapshotCache({
      refreshIntervalMs: 0,
      fetch: () =>
        fail ? Promise.reject(new Error('down')) : Promise.resolve(snapshot(exported, Date.now())),
    });
    const client = fakeClient();
    await assert.rejects(cache.get(client), /down/);
    fail = false;
    assert.ok(await cache.get(client));
    cache.close();
  });
});
