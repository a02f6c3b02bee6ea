import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareQuantities, parseQuantity } from './quantity.ts';

describe('Kubernetes quantities', () => {
  it('reads binary suffixes', () => {
    assert.equal(parseQuantity('2Gi'), 2147483648);
    assert.equal(parseQuantity('512Mi'), 536870912);
  });

  it('reads decimal suffixes, milli-units and exponents', () => {
    assert.equal(parseQuantity('2G'), 2e9);
    assert.equal(parseQuantity('500m'), 0.5);
    assert.equal(parseQuantity('1.5k'), 1500);
    assert.equal(parseQuantity('1e3'), 1000);
    assert.equal(parseQuantity('0'), 0);
  });

  it('rejects text that is not a quantity', () => {
    assert.equal(parseQuantity('ten gigs'), undefined);
    assert.equal(parseQuantity('10GB'), undefined);
  });

  it('orders quantities written with different suffixes', () => {
    assert.ok(compareQuantities('1Gi', '1G') > 0);
    assert.equal(compareQuantities('1024Mi', '1Gi'), 0);
    assert.ok(compareQuantities('10Gi', '20Gi') < 0);
  });
});
