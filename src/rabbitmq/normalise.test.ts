import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, differingKeys, normaliseTags, sameArguments, sameJson } from './normalise.ts';

describe('Tags', () => {
  it("are a sorted set, from an array or the broker's comma-separated string", () => {
    assert.deepEqual(normaliseTags(['b', 'a', 'b', ' c ', '']), ['a', 'b', 'c']);
    assert.deepEqual(normaliseTags('management, administrator,,management'), ['administrator', 'management']);
    assert.deepEqual(normaliseTags(undefined), []);
  });
});

describe('Binding arguments', () => {
  it('compares arguments regardless of key order', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: 2, c: [3] } }), '{"a":{"c":[3],"d":2},"b":1}');
    assert.equal(sameArguments({ 'x-match': 'all', a: 1 }, { a: 1, 'x-match': 'all' }), true);
    assert.equal(sameArguments({ a: 1 }, { a: '1' }), false);
    assert.equal(sameArguments(undefined, {}), true);
  });

  it('names the keys whose values differ', () => {
    assert.equal(sameJson({ a: [1, { y: 1, x: 2 }] }, { a: [1, { x: 2, y: 1 }] }), true);
    assert.deepEqual(differingKeys({ a: 1, b: { c: 1 }, d: 1 }, { b: { c: 2 }, a: 1, e: 1 }), [
      'b',
      'd',
      'e',
    ]);
  });
});
