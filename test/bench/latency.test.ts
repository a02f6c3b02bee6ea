import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { percentile, summary } from './latency.ts';

describe('Percentiles of latencies', () => {
  it('are nearest-rank values of the sample, whatever its order', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1
    assert.equal(percentile(hundred, 50), 50);
    assert.equal(percentile(hundred, 99), 99);
    assert.equal(percentile(hundred, 100), 100);
    assert.equal(percentile(hundred, 0), 1);
  });

  it('of a small sample, p99 is its slowest value', () => {
    assert.equal(percentile([12, 40, 9], 99), 40);
    assert.equal(percentile([12, 40, 9], 50), 12);
  });

  it('refuse an empty sample', () => {
    assert.throws(() => percentile([], 50), /no values/);
  });

  it('summarise a run as count, p50, p99 and the slowest, in rounded milliseconds', () => {
    assert.deepEqual(summary([10.123, 20.456, 30.789]), { count: 3, p50: 20.46, p99: 30.79, max: 30.79 });
  });
});
