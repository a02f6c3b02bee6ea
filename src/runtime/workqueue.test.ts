import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ItemExponentialBackoff } from './backoff.ts';
import { WorkQueue } from './workqueue.ts';

function queue(): WorkQueue {
  return new WorkQueue({ rateLimiter: new ItemExponentialBackoff(5, 1000) });
}

describe('Work queue', () => {
  it('hands out a key added many times before a worker takes it once', async () => {
    const q = queue();
    q.add('ns/a');
    q.add('ns/a');
    q.add('ns/b');
    q.add('ns/a');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'ns/a');
    assert.equal(await q.get(), 'ns/b');
    assert.equal(q.length, 0);
  });

  it('never hands the same key to two workers at once, and runs a re-add after done()', async () => {
    const q = queue();
    q.add('ns/a');
    const first = await q.get();
    assert.equal(first, 'ns/a');
    q.add('ns/a');
    assert.equal(q.length, 0, 'a key being processed is not queued again yet');
    q.done('ns/a');
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'ns/a');
  });

  it('resolves a waiting worker as soon as a key arrives', async () => {
    const q = queue();
    const waiting = q.get();
    q.add('ns/late');
    assert.equal(await waiting, 'ns/late');
  });

  it('adds a delayed key after its delay, keeping the earliest due time', async () => {
    const q = queue();
    q.addAfter('ns/a', 10_000);
    q.addAfter('ns/a', 20);
    assert.equal(q.length, 0);
    assert.equal(q.delayed, 1);
    assert.equal(await q.get(), 'ns/a');
    assert.equal(q.delayed, 0);
  });

  it('backs off a failing key exponentially until forgotten', () => {
    const limiter = new ItemExponentialBackoff(5, 1000);
    const delays = [1, 2, 3, 4, 5].map(() => limiter.when('ns/a'));
    assert.deepEqual(delays, [5, 10, 20, 40, 80]);
    assert.equal(limiter.numRequeues('ns/a'), 5);
    assert.equal(limiter.when('ns/b'), 5, 'keys back off independently');
    limiter.forget('ns/a');
    assert.equal(limiter.when('ns/a'), 5);
  });

  it('counts rate-limited retries per key and resets them on forget()', async () => {
    const q = queue();
    q.addRateLimited('ns/a');
    q.addRateLimited('ns/a');
    assert.equal(q.numRequeues('ns/a'), 2);
    assert.equal(await q.get(), 'ns/a');
    q.done('ns/a');
    q.forget('ns/a');
    assert.equal(q.numRequeues('ns/a'), 0);
  });

  it('stops handing out keys after shutdown and drops what was queued', async () => {
    const q = queue();
    const waiting = q.get();
    q.shutDown();
    assert.equal(await waiting, undefined, 'an idle worker is released');
    const q2 = queue();
    q2.add('ns/a');
    q2.addAfter('ns/b', 10);
    q2.shutDown();
    assert.equal(await q2.get(), undefined);
    q2.add('ns/c');
    assert.equal(await q2.get(), undefined);
    assert.equal(q2.delayed, 0);
  });

  it('reports when in-flight work is drained', async () => {
    const q = queue();
    q.add('ns/a');
    const key = await q.get();
    let drained = false;
    const done = q.drained().then(() => (drained = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(drained, false);
    q.done(key!);
    await done;
    assert.equal(drained, true);
  });

  it('reports adds, depth, waits, work and retries to its observer', async () => {
    const seen = { adds: 0, depth: [] as number[], queued: 0, worked: 0, retries: 0 };
    const q = new WorkQueue({
      rateLimiter: new ItemExponentialBackoff(1, 10),
      observer: {
        add: () => seen.adds++,
        depth: (n) => seen.depth.push(n),
        queued: () => seen.queued++,
        worked: () => seen.worked++,
        retry: () => seen.retries++,
      },
    });
    q.add('a');
    q.add('a');
    const key = await q.get();
    q.done(key!);
    q.addRateLimited('a');
    assert.equal(seen.adds, 1);
    assert.equal(seen.queued, 1);
    assert.equal(seen.worked, 1);
    assert.equal(seen.retries, 1);
    assert.deepEqual(seen.depth, [1, 0]);
  });
});
