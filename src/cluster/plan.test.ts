import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1PersistentVolumeClaim, V1StatefulSet } from '@kubernetes/client-node';
import {
  checkReplicas,
  clusterConditions,
  isPaused,
  planStorage,
  regenerationRefusal,
  statusReferences,
} from './plan.ts';
import { aCluster } from './resources/fixture.ts';

function liveStatefulSet(replicas: number, storage?: string, readyReplicas = 0): V1StatefulSet {
  return {
    spec: {
      replicas,
      selector: {},
      serviceName: 'orders-nodes',
      template: {},
      ...(storage
        ? {
            volumeClaimTemplates: [
              { metadata: { name: 'persistence' }, spec: { resources: { requests: { storage } } } },
            ],
          }
        : {}),
    },
    status: { replicas, readyReplicas },
  };
}

const claim = (ordinal: number, storage: string): V1PersistentVolumeClaim => ({
  metadata: { name: `persistence-orders-server-${ordinal}` },
  spec: { resources: { requests: { storage } } },
});

const byType = (conditions: ReturnType<typeof clusterConditions>) =>
  Object.fromEntries(conditions.map((c) => [c.type, `${c.status}/${c.reason}`]));

describe('Replica changes', () => {
  it('allows creating a cluster and scaling up', () => {
    assert.equal(checkReplicas(aCluster({ replicas: 3 }), undefined), undefined);
    assert.equal(checkReplicas(aCluster({ replicas: 5 }), liveStatefulSet(3)), undefined);
  });

  it('allows scaling to zero, which stops the nodes and keeps their data', () => {
    assert.equal(checkReplicas(aCluster({ replicas: 0 }), liveStatefulSet(3)), undefined);
  });

  it('refuses scaling down through the StatefulSet override too', () => {
    const cluster = aCluster({ replicas: 3, override: { statefulSet: { spec: { replicas: 1 } } } });
    const refusal = checkReplicas(cluster, liveStatefulSet(3));
    assert.equal(refusal?.reason, 'ScaleDownNotSupported');
    assert.match(refusal.message, /override\.statefulSet\.spec\.replicas is 1/);
  });

  it('refuses scaling down, saying how to recover', () => {
    const refusal = checkReplicas(aCluster({ replicas: 1 }), liveStatefulSet(3));
    assert.equal(refusal?.reason, 'ScaleDownNotSupported');
    assert.match(refusal.message, /Set spec.replicas back to 3/);
  });
});

describe('Volume size changes', () => {
  it('grows every PVC smaller than the spec and keeps the claim template', () => {
    const plan = planStorage(aCluster({ persistence: { storage: '20Gi' } }), liveStatefulSet(2, '10Gi'), [
      claim(0, '10Gi'),
      claim(1, '20Gi'),
    ]);
    assert.deepEqual(plan, { grow: [{ name: 'persistence-orders-server-0', from: '10Gi', to: '20Gi' }] });
  });

  it('does nothing when the size is unchanged or the cluster is new', () => {
    assert.deepEqual(planStorage(aCluster(), liveStatefulSet(1, '10Gi'), [claim(0, '10Gi')]), { grow: [] });
    assert.deepEqual(planStorage(aCluster(), undefined, []), { grow: [] });
  });

  it('never shrinks a volume larger than the spec, such as one retained from an earlier cluster', () => {
    assert.deepEqual(planStorage(aCluster(), liveStatefulSet(1, '10Gi'), [claim(0, '50Gi')]), { grow: [] });
  });

  it('refuses a size below the claim template', () => {
    const plan = planStorage(aCluster({ persistence: { storage: '5Gi' } }), liveStatefulSet(1, '10Gi'), []);
    assert.equal(plan.refusal?.reason, 'StorageShrinkNotSupported');
    assert.deepEqual(plan.grow, []);
  });

  it('refuses adding volumes to a cluster created without', () => {
    const plan = planStorage(aCluster(), liveStatefulSet(1), []);
    assert.equal(plan.refusal?.reason, 'PersistenceChangeNotSupported');
  });
});

describe('Cluster conditions', () => {
  it('are unknown before the StatefulSet exists', () => {
    assert.deepEqual(byType(clusterConditions(aCluster(), { statefulSet: undefined })), {
      AllReplicasReady: 'Unknown/MissingStatefulSet',
      ClusterAvailable: 'Unknown/MissingStatefulSet',
      NoWarnings: 'True/NoWarnings',
      ReconcileSuccess: 'True/Success',
    });
  });

  it('follow the ready pods', () => {
    const cluster = aCluster({ replicas: 3 });
    const partly = clusterConditions(cluster, { statefulSet: liveStatefulSet(3, '10Gi', 1) });
    assert.equal(byType(partly).AllReplicasReady, 'False/NotAllPodsReady');
    assert.equal(partly[0]?.message, '1/3 pods ready.');
    assert.equal(byType(partly).ClusterAvailable, 'True/AtLeastOneNodeReady');
    const all = byType(clusterConditions(cluster, { statefulSet: liveStatefulSet(3, '10Gi', 3) }));
    assert.equal(all.AllReplicasReady, 'True/AllPodsAreReady');
    const none = byType(clusterConditions(cluster, { statefulSet: liveStatefulSet(3, '10Gi', 0) }));
    assert.equal(none.ClusterAvailable, 'False/NoNodeReady');
  });

  it('say when the cluster is scaled to zero', () => {
    const conditions = byType(
      clusterConditions(aCluster({ replicas: 0 }), { statefulSet: liveStatefulSet(0) }),
    );
    assert.equal(conditions.AllReplicasReady, 'False/ScaledToZero');
  });

  it('carry a refusal into ReconcileSuccess', () => {
    const conditions = clusterConditions(aCluster(), {
      statefulSet: liveStatefulSet(3),
      failure: { reason: 'ScaleDownNotSupported', message: 'no' },
    });
    assert.equal(byType(conditions).ReconcileSuccess, 'False/ScaleDownNotSupported');
  });

  it('warn about a memory request that differs from the limit', () => {
    const cluster = aCluster({ resources: { requests: { memory: '1Gi' }, limits: { memory: '2Gi' } } });
    assert.equal(
      byType(clusterConditions(cluster, { statefulSet: undefined })).NoWarnings,
      'False/MemoryRequestAndLimitDifferent',
    );
  });

  it('show a paused cluster', () => {
    const conditions = byType(clusterConditions(aCluster(), { statefulSet: undefined, paused: true }));
    assert.equal(conditions.NoWarnings, 'False/ReconciliationPaused');
    assert.equal(conditions.ReconcileSuccess, 'Unknown/ReconciliationPaused');
  });
});

describe('Pausing', () => {
  it('is asked for by the Warren annotation or the upstream label', () => {
    assert.equal(isPaused(aCluster()), false);
    assert.equal(
      isPaused(aCluster({}, { annotations: { 'warren.dev/pause-reconciliation': 'true' } })),
      true,
    );
    assert.equal(isPaused(aCluster({}, { labels: { 'rabbitmq.com/pauseReconciliation': 'true' } })), true);
  });
});

describe('Status references', () => {
  it('point at the default-user Secret and the client Service, as upstream does', () => {
    assert.deepEqual(statusReferences(aCluster()), {
      defaultUser: {
        secretReference: {
          name: 'orders-default-user',
          namespace: 'shop',
          keys: { username: 'username', password: 'password' },
        },
        serviceReference: { name: 'orders', namespace: 'shop' },
      },
      binding: { name: 'orders-default-user' },
    });
  });
});

describe('A generated Secret that went missing', () => {
  it('is generated for a cluster with no StatefulSet and no PVC yet', () => {
    assert.equal(regenerationRefusal('erlang-cookie', 'orders-erlang-cookie', { claims: [] }), undefined);
    assert.equal(regenerationRefusal('default-user', 'orders-default-user', { claims: [] }), undefined);
  });

  it('is refused once a StatefulSet exists, saying how to restore it or start afresh', () => {
    const refusal = regenerationRefusal('erlang-cookie', 'orders-erlang-cookie', {
      statefulSet: 'orders-server',
      claims: [],
    });
    assert.equal(refusal?.reason, 'ErlangCookieSecretMissing');
    assert.equal(
      refusal.message,
      'Secret "orders-erlang-cookie" is missing, but the cluster already has StatefulSet "orders-server": ' +
        'a new Erlang cookie would keep restarted nodes from rejoining the others, so it is not generated again. ' +
        'Restore the Secret from a backup, or, to start afresh, delete StatefulSet "orders-server".',
    );
  });

  it('is refused when only volumes are left, naming them', () => {
    const refusal = regenerationRefusal('default-user', 'orders-default-user', {
      claims: ['persistence-orders-server-0', 'persistence-orders-server-1'],
    });
    assert.equal(refusal?.reason, 'DefaultUserSecretMissing');
    assert.match(refusal.message, /PVCs "persistence-orders-server-0", "persistence-orders-server-1"/);
    assert.match(refusal.message, /Restore the Secret from a backup/);
    assert.match(refusal.message, /delete the PVCs \(this deletes the brokers' data\)/);
  });
});
