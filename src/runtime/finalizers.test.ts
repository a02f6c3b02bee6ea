import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addFinalizerPatch, hasFinalizer, removeFinalizerPatch } from './finalizers.ts';

const F = 'warren.dev/cleanup';

describe('Finalizer patches', () => {
  it('add the first finalizer only if the object is unchanged since it was read', () => {
    const obj = { metadata: { name: 'q', resourceVersion: '7' } };
    assert.deepEqual(addFinalizerPatch(obj, F), [
      { op: 'test', path: '/metadata/resourceVersion', value: '7' },
      { op: 'add', path: '/metadata/finalizers', value: [F] },
    ]);
  });

  it('append to existing finalizers only if the list is the one that was read', () => {
    const obj = { metadata: { name: 'q', finalizers: ['other'] } };
    assert.deepEqual(addFinalizerPatch(obj, F), [
      { op: 'test', path: '/metadata/finalizers', value: ['other'] },
      { op: 'add', path: '/metadata/finalizers/-', value: F },
    ]);
  });

  it('remove exactly our finalizer, guarded the same way', () => {
    const obj = { metadata: { name: 'q', finalizers: ['other', F] } };
    assert.equal(hasFinalizer(obj, F), true);
    assert.deepEqual(removeFinalizerPatch(obj, F), [
      { op: 'test', path: '/metadata/finalizers', value: ['other', F] },
      { op: 'remove', path: '/metadata/finalizers/1' },
    ]);
  });

  it('are not needed when there is nothing to do', () => {
    assert.equal(addFinalizerPatch({ metadata: { finalizers: [F] } }, F), undefined);
    assert.equal(removeFinalizerPatch({ metadata: {} }, F), undefined);
  });
});
