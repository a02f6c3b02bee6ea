// A deleted Erlang-cookie or default-user Secret of a cluster that already has a StatefulSet and PVCs is not
// generated again with new values: the cluster says so in a condition and a Warning Event, and takes the
// Secret back once it is restored. The kube-controller-manager creates the StatefulSet's PVCs; no pod runs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { V1Secret } from '@kubernetes/client-node';
import { rabbitmqClusterResource } from '../../../src/api/index.ts';
import {
  coreResources,
  KubeClient,
  Manager,
  type Condition,
  type KubeObject,
} from '../../../src/runtime/index.ts';
import { apiServer, createNamespace, eventually } from '../../env/shared.ts';
import { startClusterOperator } from './operator.ts';

const name = 'ledger';
const r = coreResources;
const eventsResource = {
  group: 'events.k8s.io',
  version: 'v1',
  plural: 'events',
  kind: 'Event',
  namespaced: true,
};

describe('A RabbitmqCluster whose generated Secret is deleted', () => {
  let client: KubeClient;
  let manager: Manager;
  let namespace: string;

  const success = async () => {
    const cluster = await client.get<KubeObject>(rabbitmqClusterResource, { namespace, name });
    const list = (cluster?.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
    return list.find((c) => c.type === 'ReconcileSuccess');
  };
  const secret = (secretName: string) =>
    client.get<KubeObject & V1Secret>(r.secret, { namespace, name: secretName });

  before(async () => {
    namespace = await createNamespace('cluster-lost-secrets');
    client = new KubeClient(apiServer());
    manager = await startClusterOperator(apiServer(), namespace);
    await client.create(rabbitmqClusterResource, {
      apiVersion: 'warren.dev/v1alpha1',
      kind: 'RabbitmqCluster',
      metadata: { name, namespace },
      spec: { replicas: 1, persistence: { storage: '1Gi' } },
    });
    await eventually('the StatefulSet', () =>
      client.get(r.statefulSet, { namespace, name: `${name}-server` }),
    );
    await eventually(
      'its PVC',
      async () => (await client.list(r.persistentVolumeClaim, { namespace })).items.length > 0,
    );
    await eventually('a successful pass', async () => (await success())?.status === 'True');
  });

  after(async () => {
    await manager.stop();
    await client.delete(r.namespace, { namespace: '', name: namespace });
    await client.close();
  });

  for (const [secretName, reason] of [
    [`${name}-erlang-cookie`, 'ErlangCookieSecretMissing'],
    [`${name}-default-user`, 'DefaultUserSecretMissing'],
  ] as const) {
    it(`refuses to generate ${secretName} again, says what to do, and takes the restored one back`, async () => {
      const backup = await secret(secretName);
      assert.ok(backup?.data, 'the generated Secret exists');
      await client.delete(r.secret, { namespace, name: secretName });

      const refused = await eventually('the refusal', async () => {
        const condition = await success();
        return condition?.status === 'False' && condition.reason === reason ? condition : undefined;
      });
      assert.match(refused.message, new RegExp(`Secret "${secretName}" is missing`));
      assert.match(refused.message, /StatefulSet "ledger-server"/);
      assert.match(refused.message, /PVC "persistence-ledger-server-0"/);
      assert.match(refused.message, /Restore the Secret from a backup, or, to start afresh, delete/);
      const event = await eventually('the Warning Event', async () => {
        const list = await client.list<KubeObject & { reason?: string; type?: string; note?: string }>(
          eventsResource,
          { namespace },
        );
        return list.items.find((e) => e.reason === reason);
      });
      assert.equal(event.type, 'Warning');
      assert.equal(event.note, refused.message);
      // Give a second pass the chance to regenerate it: nothing comes back by itself.
      await client.mergePatch(
        rabbitmqClusterResource,
        { namespace, name },
        {
          metadata: { annotations: { 'test.warren.dev/poke': secretName } },
        },
      );
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      assert.equal(await secret(secretName), undefined, 'not generated again');

      // Restored from the backup, as a person would: the cluster takes it and its values stay.
      await client.create(r.secret, {
        metadata: { name: secretName, namespace, labels: backup.metadata.labels },
        type: backup.type,
        data: backup.data,
      });
      await eventually('success again', async () => (await success())?.status === 'True');
      assert.deepEqual((await secret(secretName))?.data, backup.data, 'the restored values are kept');
    });
  }
});
