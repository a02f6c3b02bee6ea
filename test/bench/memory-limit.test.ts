import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryBytes } from './memory-limit.ts';

describe('Memory quantities', () => {
  it('read as Kubernetes writes them', () => {
    assert.equal(memoryBytes('512Mi'), 512 * 2 ** 20);
    assert.equal(memoryBytes('1Gi'), 2 ** 30);
    assert.equal(memoryBytes('1.5G'), 1.5e9);
    assert.equal(memoryBytes('1048576'), 2 ** 20);
    assert.throws(() => memoryBytes('lots'), /not a memory quantity/);
  });
});
