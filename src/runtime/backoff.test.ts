import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Backoff,
  ItemExponentialBackoff,
  KeyedBackoff,
  MaxOf,
  TokenBucket,
  exponentialDelay,
  jittered,
  jitteredBackoff,
} from './backoff.ts';

describe('Retry delays', () => {
  it('double from 5 ms and stop at the cap', () => {
    assert.equal(exponentialDelay(5, 1_000_000, 0), 5);
    assert.equal(exponentialDelay(5, 1_000_000, 10), 5120);
    assert.equal(exponentialDelay(5, 300_000, 30), 300_000);
    assert.equal(exponentialDelay(5, 300_000, 5000), 300_000, 'no overflow to Infinity or NaN');
  });

  it('let a token bucket pass a burst, then space requests at its rate', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 3, () => now);
    assert.deepEqual([bucket.when(), bucket.when(), bucket.when()], [0, 0, 0]);
    assert.equal(bucket.when(), 100);
    assert.equal(bucket.when(), 200);
    now = 1000;
    assert.equal(bucket.when(), 0, 'tokens refill over time');
  });

  it('take the longer of the per-item and overall delays', () => {
    const now = 0;
    const limiter = new MaxOf(new ItemExponentialBackoff(5, 1000), new TokenBucket(1, 1, () => now));
    assert.equal(limiter.when('a'), 5);
    assert.equal(limiter.when('b'), 1000, 'the bucket is empty: one token a second');
    assert.equal(limiter.numRequeues('a'), 1);
    limiter.forget('a');
    assert.equal(limiter.numRequeues('a'), 0);
  });

  it('jitter within the upper half of an exponentially growing window and reset', () => {
    const b = new Backoff(100, 1000);
    assert.equal(
      b.next(() => 0),
      50,
    );
    assert.equal(
      b.next(() => 1),
      200,
    );
    assert.equal(
      b.next(() => 0.5),
      300,
    );
    b.reset();
    assert.equal(
      b.next(() => 1),
      100,
    );
    assert.equal(
      jittered(1000, 0.1, () => 1),
      1100,
    );
  });

  it('count failures per key, each call with its own cap, the same curve as everywhere else', () => {
    const retries = new KeyedBackoff(1000);
    assert.equal(
      retries.next('a', 15_000, () => 1),
      1000,
    );
    assert.equal(
      retries.next('a', 15_000, () => 1),
      2000,
    );
    assert.equal(
      retries.next('b', 15_000, () => 0),
      500,
    );
    assert.equal(
      retries.next('a', 3000, () => 0),
      1500,
    );
    retries.reset('a');
    assert.equal(
      retries.next('a', 15_000, () => 1),
      1000,
    );
    assert.equal(
      jitteredBackoff(250, 8000, 10, () => 0.5),
      6000,
    );
  });
});
