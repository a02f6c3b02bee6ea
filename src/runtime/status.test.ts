import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMergePatch } from './status.ts';

describe('Status merge patches', () => {
  it('are empty when nothing changed, whatever the key order', () => {
    assert.equal(createMergePatch({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 }), undefined);
  });

  it('carry only changed fields, nulls for removed ones, and whole arrays', () => {
    const from = {
      phase: 'Pending',
      conditions: [{ type: 'Ready', status: 'False' }],
      old: 'x',
      nested: { a: 1, b: 2 },
    };
    const to = { phase: 'Ready', conditions: [{ type: 'Ready', status: 'True' }], nested: { a: 1, b: 3 } };
    assert.deepEqual(createMergePatch(from, to), {
      phase: 'Ready',
      conditions: [{ type: 'Ready', status: 'True' }],
      old: null,
      nested: { b: 3 },
    });
  });

  it('treat undefined fields as absent', () => {
    assert.equal(createMergePatch({ a: 1 }, { a: 1, b: undefined }), undefined);
    assert.deepEqual(createMergePatch({ a: 1, b: 2 }, { a: 1, b: undefined }), { b: null });
  });
});
