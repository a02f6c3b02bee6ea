import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canAcquire, microTime } from './leader-election.ts';

describe('Leader lease acquisition', () => {
  it('takes a lease nobody holds, or one it holds itself', () => {
    assert.equal(canAcquire(undefined, 'me', 0, 0), true);
    assert.equal(canAcquire({ holderIdentity: '' }, 'me', 0, 0), true);
    assert.equal(canAcquire({ holderIdentity: 'me', leaseDurationSeconds: 15 }, 'me', 0, 1), true);
  });

  it('waits a full lease duration after it last saw the holder renew', () => {
    const spec = { holderIdentity: 'other', leaseDurationSeconds: 15 };
    assert.equal(canAcquire(spec, 'me', 1000, 15_999), false);
    assert.equal(canAcquire(spec, 'me', 1000, 16_000), true);
  });

  it('writes MicroTime with six fractional digits', () => {
    assert.equal(microTime(new Date('2026-01-01T00:00:00.123Z')), '2026-01-01T00:00:00.123000Z');
  });
});
