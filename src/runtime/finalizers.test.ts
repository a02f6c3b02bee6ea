import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addFinalizerPatch, ensureFinalizer, hasFinalizer, removeFinalizerPatch } from './finalizers.ts';
import { ApiError, type KubeClient } from './kube-client.ts';
import type { KubeObject } from './resource.ts';

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

describe('Ensuring a finalizer', () => {
  const resource = {
    group: 'warren.dev',
    version: 'v1alpha1',
    plural: 'queues',
    kind: 'Queue',
    namespaced: true,
  };

  /** An API server holding one object; a patch whose test fails is refused with 422, as the real one does. */
  function server(stored: KubeObject) {
    const calls: string[] = [];
    const client = {
      get: (_r: unknown, _k: unknown) => {
        calls.push('get');
        return Promise.resolve(structuredClone(stored));
      },
      jsonPatch: (_r: unknown, _k: unknown, patch: { op: string; path: string; value?: unknown }[]) => {
        calls.push('patch');
        const test = patch.find((op) => op.op === 'test');
        if (test?.path === '/metadata/resourceVersion' && test.value !== stored.metadata.resourceVersion)
          return Promise.reject(new ApiError(422, 'Invalid', 'the test operation failed'));
        stored.metadata.finalizers = [...(stored.metadata.finalizers ?? []), F];
        stored.metadata.resourceVersion = String(Number(stored.metadata.resourceVersion) + 1);
        return Promise.resolve(structuredClone(stored));
      },
    } as unknown as KubeClient;
    return { client, calls };
  }

  it('reads the object afresh once when the cached copy is stale, then adds the finalizer', async () => {
    const api = server({ metadata: { name: 'q', namespace: 'a', resourceVersion: '8', generation: 1 } });
    const stale: KubeObject = {
      metadata: { name: 'q', namespace: 'a', resourceVersion: '7', generation: 1 },
    };
    const result = await ensureFinalizer(api.client, resource, stale, F);
    assert.deepEqual(api.calls, ['patch', 'get', 'patch']);
    assert.ok(result);
    assert.deepEqual(result.metadata.finalizers, [F]);
    assert.equal(result.metadata.resourceVersion, '9');
  });

  it('takes the fresh object as it is when it already carries the finalizer', async () => {
    const api = server({
      metadata: { name: 'q', namespace: 'a', resourceVersion: '8', generation: 1, finalizers: [F] },
    });
    const stale: KubeObject = {
      metadata: { name: 'q', namespace: 'a', resourceVersion: '7', generation: 1 },
    };
    const result = await ensureFinalizer(api.client, resource, stale, F);
    assert.deepEqual(api.calls, ['patch', 'get']);
    assert.equal(result?.metadata.resourceVersion, '8');
  });
});
