import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseExchange, parsePermission, parseQueue, parseRabbitmqCluster, parseVhost } from './index.ts';

const meta = { name: 'orders', namespace: 'shop' };
const clusterRef = { name: 'main' };

function object(kind: string, spec: unknown, status?: unknown) {
  return { apiVersion: 'warren.dev/v1alpha1', kind, metadata: meta, spec, ...(status ? { status } : {}) };
}

describe('Parsing objects read from the API server', () => {
  it('applies the defaults of a Queue', () => {
    const result = parseQueue(object('Queue', { name: 'orders', rabbitmqClusterReference: clusterRef }));
    assert.ok(result.success);
    assert.deepEqual(result.object.spec, {
      name: 'orders',
      vhost: '/',
      durable: true,
      autoDelete: false,
      deletionPolicy: 'delete',
      rabbitmqClusterReference: clusterRef,
    });
  });

  it('makes exchanges durable unless told otherwise', () => {
    const result = parseExchange(
      object('Exchange', { name: 'events', rabbitmqClusterReference: clusterRef }),
    );
    assert.ok(result.success);
    assert.equal(result.object.spec.durable, true);
    assert.equal(result.object.spec.type, 'direct');
  });

  it('applies the cluster defaults of the official operator, and retains volumes', () => {
    const result = parseRabbitmqCluster(object('RabbitmqCluster', {}));
    assert.ok(result.success);
    const { spec } = result.object;
    assert.equal(spec.replicas, 1);
    assert.equal(spec.persistence.storage, '10Gi');
    assert.deepEqual(spec.persistence.persistentVolumeClaimRetentionPolicy, {
      whenDeleted: 'Retain',
      whenScaled: 'Retain',
    });
    assert.deepEqual(spec.resources.limits, { cpu: '2000m', memory: '2Gi' });
    assert.equal(spec.terminationGracePeriodSeconds, 604800);
  });

  it('keeps an explicit empty resources block empty', () => {
    const result = parseRabbitmqCluster(object('RabbitmqCluster', { resources: {} }));
    assert.ok(result.success);
    assert.deepEqual(result.object.spec.resources, {});
  });

  it('explains every problem with its path', () => {
    const result = parseQueue(
      object('Queue', { name: 'orders', type: 'quorum', durable: false, rabbitmqClusterReference: {} }),
    );
    assert.ok(!result.success);
    assert.match(result.message, /^Queue shop\/orders does not match/);
    assert.match(result.message, /spec\.durable: quorum queues and streams are always durable/);
    assert.match(result.message, /spec\.rabbitmqClusterReference: set exactly one of/);
  });

  it('rejects a quorum queue declared through arguments that is not durable', () => {
    const result = parseQueue(
      object('Queue', {
        name: 'orders',
        durable: false,
        arguments: { 'x-queue-type': 'quorum' },
        rabbitmqClusterReference: clusterRef,
      }),
    );
    assert.ok(!result.success);
    assert.match(result.message, /set through arguments.x-queue-type must be durable/);
  });

  it('rejects a Permission naming both a user and a User', () => {
    const result = parsePermission(
      object('Permission', {
        user: 'app',
        userReference: { name: 'app' },
        vhost: '/',
        permissions: {},
        rabbitmqClusterReference: clusterRef,
      }),
    );
    assert.ok(!result.success);
    assert.match(result.message, /exactly one of user/);
  });

  it('rejects managed TLS that renews after expiry', () => {
    const result = parseRabbitmqCluster(
      object('RabbitmqCluster', { tls: { managed: { duration: '24h', renewBefore: '1440m' } } }),
    );
    assert.ok(!result.success);
    assert.match(result.message, /renewBefore must be shorter than tls.managed.duration/);
  });

  it('rejects an object of another kind or API group', () => {
    const vhost = { name: 'shop', rabbitmqClusterReference: clusterRef };
    assert.ok(!parseVhost(object('Queue', vhost)).success);
    assert.ok(!parseVhost({ ...object('Vhost', vhost), apiVersion: 'rabbitmq.com/v1beta1' }).success);
  });

  it('keeps a valid status and drops one that no longer matches', () => {
    const spec = { name: 'shop', rabbitmqClusterReference: clusterRef };
    const status = {
      observedGeneration: 2,
      conditions: [{ type: 'Ready', status: 'True', reason: 'Synced' }],
    };
    const kept = parseVhost(object('Vhost', spec, status));
    assert.ok(kept.success);
    assert.deepEqual(kept.object.status, status);
    const dropped = parseVhost(object('Vhost', spec, { conditions: 'broken' }));
    assert.ok(dropped.success);
    assert.equal(dropped.object.status, undefined);
  });
});
