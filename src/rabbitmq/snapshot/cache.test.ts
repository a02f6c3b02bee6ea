import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ManagementClient } from '../management/client.ts';
import type { BrokerOp } from '../operations.ts';
import { SnapshotCache, type SnapshotRefresh } from './cache.ts';
import { exported, snapshot } from './testing.ts';

// A client stand-in: the cache only uses brokerId, closed and onWrite.
function fakeClient(): ManagementClient & { write(w: BrokerOp): void } {
  const listeners = new Set<(w: BrokerOp) => void>();
  return {
    brokerId: 'http://broker:15672',
    closed: false,
    onWrite(listener: (w: BrokerOp) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    write(w: BrokerOp) {
      for (const l of listeners) l(w);
    },
  } as unknown as ManagementClient & { write(w: BrokerOp): void };
}

const newQueue: BrokerOp = {
  op: 'putQueue',
  vhost: 'orders',
  name: 'new',
  settings: { durable: true, auto_delete: false, arguments: {} },
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
