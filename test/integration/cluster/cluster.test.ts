// A RabbitmqCluster against the real kube-apiserver and kube-controller-manager. No kubelet runs here: the
// StatefulSet controller creates the pods, and the test plays the kubelet by marking them Ready through the
// pods' status subresource.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { V1ConfigMap, V1Pod, V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import { rabbitmqClusterResource } from '../../../src/api/index.ts';
import { configHashAnnotation } from '../../../src/cluster/resources/statefulset.ts';
import {
  coreResources,
  KubeClient,
  Manager,
  type Condition,
  type KubeObject,
} from '../../../src/runtime/index.ts';
import { apiServer, createNamespace, eventually } from '../../env/shared.ts';
import { startClusterOperator } from './operator.ts';

const name = 'orders';
const r = coreResources;
const eventsResource = {
  group: 'events.k8s.io',
  version: 'v1',
  plural: 'events',
  kind: 'Event',
  namespaced: true,
};

describe('RabbitmqCluster reconciliation', () => {
  let client: KubeClient;
  let manager: Manager;
  let namespace: string;

  const key = () => ({ namespace, name });
  const getCluster = async () => {
    const cluster = await client.get<KubeObject>(rabbitmqClusterResource, key());
    assert.ok(cluster, 'the cluster exists');
    return cluster;
  };
  const conditions = async () => {
    const cluster = await getCluster();
    const list = (cluster.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
    return Object.fromEntries(list.map((c) => [c.type, `${c.status}/${c.reason}`]));
  };
  const statefulSet = () =>
    client.get<KubeObject & V1StatefulSet>(r.statefulSet, { namespace, name: `${name}-server` });
  const templateHash = async () =>
    (await statefulSet())?.spec?.template.metadata?.annotations?.[configHashAnnotation];
  const patchSpec = (spec: Record<string, unknown>) =>
    client.mergePatch(rabbitmqClusterResource, key(), { spec });
  const pods = async () =>
    (
      await client.list<KubeObject & V1Pod>(r.pod, {
        namespace,
        labelSelector: `app.kubernetes.io/name=${name}`,
      })
    ).items;

  /** What the kubelet would do once a broker passes its readiness probe. */
  async function markReady(pod: V1Pod): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await client.mergePatch(
      r.pod,
      { namespace, name: pod.metadata?.name ?? '' },
      {
        status: {
          phase: 'Running',
          conditions: [
            { type: 'Initialized', status: 'True', lastTransitionTime: now },
            { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
            { type: 'Ready', status: 'True', lastTransitionTime: now },
          ],
        },
      },
      'status',
    );
  }

  before(async () => {
    namespace = await createNamespace('cluster');
    client = new KubeClient(apiServer());
    manager = await startClusterOperator(apiServer(), namespace);
    await client.create(rabbitmqClusterResource, {
      apiVersion: 'warren.dev/v1alpha1',
      kind: 'RabbitmqCluster',
      metadata: { name, namespace },
      spec: { replicas: 3, persistence: { storage: '1Gi' } },
    });
  });

  after(async () => {
    await manager.stop();
    await client.close();
  });

  it('creates every child object, owned by the cluster', async () => {
    const children = [
      [r.service, name],
      [r.service, `${name}-nodes`],
      [r.secret, `${name}-erlang-cookie`],
      [r.secret, `${name}-default-user`],
      [r.configMap, `${name}-plugins-conf`],
      [r.configMap, `${name}-server-conf`],
      [r.serviceAccount, `${name}-server`],
      [r.role, `${name}-peer-discovery`],
      [r.roleBinding, `${name}-server`],
      [r.statefulSet, `${name}-server`],
      [r.podDisruptionBudget, `${name}-server`],
    ] as const;
    const uid = (await getCluster()).metadata.uid;
    for (const [resource, child] of children) {
      const obj = await eventually(`${resource.kind} ${child}`, () =>
        client.get(resource, { namespace, name: child }),
      );
      assert.equal(
        obj.metadata.ownerReferences?.[0]?.uid,
        uid,
        `${resource.kind} ${child} is owned by the cluster`,
      );
    }
    const secret = (await client.get<KubeObject & V1Secret>(r.secret, {
      namespace,
      name: `${name}-default-user`,
    }))!;
    assert.equal(Buffer.from(secret.data?.host ?? '', 'base64').toString(), `${name}.${namespace}.svc`);
  });

  it('lets the StatefulSet controller create the pods', async () => {
    const created = await eventually('three pods', async () =>
      (await pods()).length === 3 ? pods() : undefined,
    );
    assert.deepEqual(
      created.map((pod) => pod.metadata.name).sort(),
      [0, 1, 2].map((i) => `${name}-server-${i}`),
    );
  });

  it('reports the cluster ready once its pods are', async () => {
    // The cluster's status catches up with its StatefulSet one reconcile later; the pods can exist before that.
    await eventually(
      'AllReplicasReady False while no pod is ready',
      async () => (await conditions()).AllReplicasReady === 'False/NotAllPodsReady',
    );
    for (const pod of await pods()) await markReady(pod);
    const ready = await eventually('AllReplicasReady', async () => {
      const now = await conditions();
      return now.AllReplicasReady === 'True/AllPodsAreReady' ? now : undefined;
    });
    assert.equal(ready.ClusterAvailable, 'True/AtLeastOneNodeReady');
    assert.equal(ready.ReconcileSuccess, 'True/Success');
    const cluster = await getCluster();
    const status = cluster.status as {
      readyReplicas?: number;
      observedGeneration?: number;
      defaultUser?: unknown;
    };
    assert.equal(status.readyReplicas, 3);
    assert.equal(status.observedGeneration, cluster.metadata.generation);
    assert.deepEqual(status.defaultUser, {
      secretReference: {
        name: `${name}-default-user`,
        namespace,
        keys: { username: 'username', password: 'password' },
      },
      serviceReference: { name, namespace },
    });
  });

  it('scales up without changing the pod template hash', async () => {
    const before = await templateHash();
    assert.ok(before);
    await patchSpec({ replicas: 5 });
    await eventually('five replicas', async () => (await statefulSet())?.spec?.replicas === 5);
    assert.equal(await templateHash(), before);
    const hint = await client.get<KubeObject & V1ConfigMap>(r.configMap, {
      namespace,
      name: `${name}-server-conf`,
    });
    assert.match(hint?.data?.['operatorDefaults.conf'] ?? '', /target_cluster_size_hint = 5/);
  });

  it('changes the pod template hash when the configuration changes', async () => {
    const before = await templateHash();
    await patchSpec({ rabbitmq: { additionalConfig: 'channel_max = 512' } });
    const after = await eventually('a new hash', async () => {
      const hash = await templateHash();
      return hash !== before ? hash : undefined;
    });
    assert.ok(after);
  });

  it('refuses to scale down and leaves the StatefulSet as it was', async () => {
    await patchSpec({ replicas: 3 });
    await eventually(
      'the refusal',
      async () => (await conditions()).ReconcileSuccess === 'False/ScaleDownNotSupported',
    );
    assert.equal((await statefulSet())?.spec?.replicas, 5);
    const events = await client.list(eventsResource, { namespace });
    assert.ok(events.items.some((event) => event.reason === 'ScaleDownNotSupported'));
    await patchSpec({ replicas: 5 });
    await eventually('success again', async () => (await conditions()).ReconcileSuccess === 'True/Success');
  });

  it('stops reconciling while paused, and says so', async () => {
    await client.mergePatch(rabbitmqClusterResource, key(), {
      metadata: { annotations: { 'warren.dev/pause-reconciliation': 'true' } },
    });
    await eventually(
      'the pause',
      async () => (await conditions()).NoWarnings === 'False/ReconciliationPaused',
    );
    const hash = await templateHash();
    await patchSpec({ rabbitmq: { additionalConfig: 'channel_max = 1024' } });
    // The spec change is seen (the status describes it) but not applied.
    await eventually('the paused pass', async () => {
      const cluster = await getCluster();
      const list = (cluster.status as { conditions?: Condition[] }).conditions ?? [];
      return list.find((c) => c.type === 'NoWarnings')?.observedGeneration === cluster.metadata.generation;
    });
    assert.equal(await templateHash(), hash);
    await client.mergePatch(rabbitmqClusterResource, key(), {
      metadata: { annotations: { 'warren.dev/pause-reconciliation': null } },
    });
    await eventually('resumed', async () => (await templateHash()) !== hash);
  });

  it('removes its children on deletion and keeps the volumes', async () => {
    const claimsBefore = (await client.list(r.persistentVolumeClaim, { namespace })).items.map(
      (c) => c.metadata.name,
    );
    assert.ok(claimsBefore.length >= 3, 'the StatefulSet created PVCs');
    await client.delete(rabbitmqClusterResource, key());
    await eventually(
      'the cluster is gone',
      async () => (await client.get(rabbitmqClusterResource, key())) === undefined,
    );
    await eventually('the StatefulSet is collected', async () => (await statefulSet()) === undefined);
    await eventually(
      'the Services are collected',
      async () => (await client.get(r.service, { namespace, name })) === undefined,
    );
    await eventually(
      'the ConfigMaps are collected',
      async () => (await client.get(r.configMap, { namespace, name: `${name}-server-conf` })) === undefined,
    );
    const claimsAfter = (await client.list(r.persistentVolumeClaim, { namespace })).items.map(
      (c) => c.metadata.name,
    );
    assert.deepEqual(claimsAfter.sort(), claimsBefore.sort());
    // The data on those volumes was made with these credentials: a cluster created again under this name needs them.
    for (const secret of [`${name}-default-user`, `${name}-erlang-cookie`]) {
      const kept = await client.get(r.secret, { namespace, name: secret });
      assert.ok(kept, `${secret} is kept`);
      assert.deepEqual(
        kept.metadata.ownerReferences ?? [],
        [],
        `${secret} is no longer owned by the cluster`,
      );
    }
  });
});
