import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { controllerOwnerKey, specOrMetaChanged } from './controller.ts';
import { parseBindAddress } from './health.ts';
import { apiVersionOf, coreResources, keyString, parseKey, resourcePath } from './resource.ts';

const queueKind = {
  group: 'warren.dev',
  version: 'v1alpha1',
  plural: 'queues',
  kind: 'Queue',
  namespaced: true,
};

describe('Resource addressing', () => {
  it('builds REST paths for core and grouped kinds', () => {
    assert.equal(resourcePath(coreResources.configMap, 'ns'), '/api/v1/namespaces/ns/configmaps');
    assert.equal(resourcePath(queueKind), '/apis/warren.dev/v1alpha1/queues');
    assert.equal(
      resourcePath(queueKind, 'ns', 'q', 'status'),
      '/apis/warren.dev/v1alpha1/namespaces/ns/queues/q/status',
    );
    assert.equal(resourcePath(coreResources.namespace, 'ignored', 'x'), '/api/v1/namespaces/x');
    assert.equal(apiVersionOf(coreResources.configMap), 'v1');
    assert.equal(apiVersionOf(queueKind), 'warren.dev/v1alpha1');
  });

  it('round-trips work queue keys', () => {
    assert.equal(keyString({ namespace: 'ns', name: 'a' }), 'ns/a');
    assert.equal(keyString({ namespace: '', name: 'a' }), 'a');
    assert.deepEqual(parseKey('ns/a'), { namespace: 'ns', name: 'a' });
    assert.deepEqual(parseKey('a'), { namespace: '', name: 'a' });
  });

  it('parses bind addresses', () => {
    assert.deepEqual(parseBindAddress(':8080'), { host: undefined, port: 8080 });
    assert.deepEqual(parseBindAddress('127.0.0.1:9'), { host: '127.0.0.1', port: 9 });
    assert.deepEqual(parseBindAddress('[::1]:9'), { host: '::1', port: 9 });
    assert.equal(parseBindAddress('0'), undefined);
    assert.throws(() => parseBindAddress('localhost'));
  });
});

describe('Event filtering', () => {
  const base = { metadata: { name: 'q', generation: 1, labels: { a: 'b' } } };

  it('skips updates that only touch status', () => {
    assert.equal(specOrMetaChanged(base, { ...base, status: { x: 1 } }), false);
  });

  it('passes spec, label, finalizer and deletion changes', () => {
    assert.equal(specOrMetaChanged(base, { metadata: { ...base.metadata, generation: 2 } }), true);
    assert.equal(specOrMetaChanged(base, { metadata: { ...base.metadata, labels: {} } }), true);
    assert.equal(specOrMetaChanged(base, { metadata: { ...base.metadata, finalizers: ['f'] } }), true);
    assert.equal(specOrMetaChanged(base, { metadata: { ...base.metadata, deletionTimestamp: 'now' } }), true);
  });

  it('passes every change of kinds without a generation', () => {
    assert.equal(specOrMetaChanged({ metadata: { name: 'c' } }, { metadata: { name: 'c' }, data: {} }), true);
  });

  it('maps a child to its controller owner of the right kind only', () => {
    const child = (apiVersion: string, kind: string, controller: boolean) => ({
      metadata: {
        namespace: 'ns',
        name: 'c',
        ownerReferences: [{ apiVersion, kind, name: 'owner', uid: 'u', controller }],
      },
    });
    assert.deepEqual(controllerOwnerKey(child('warren.dev/v1alpha1', 'Queue', true), queueKind), {
      namespace: 'ns',
      name: 'owner',
    });
    assert.equal(controllerOwnerKey(child('warren.dev/v1alpha1', 'Queue', false), queueKind), undefined);
    assert.equal(controllerOwnerKey(child('other.io/v1', 'Queue', true), queueKind), undefined);
    assert.equal(controllerOwnerKey(child('warren.dev/v1alpha1', 'Exchange', true), queueKind), undefined);
  });
});
