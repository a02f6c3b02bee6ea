// The shared control plane is a real one: kube-controller-manager collects garbage, runs StatefulSets and
// finishes namespace deletion, which the operator's tests rely on.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { createNamespace, eventually, kubeConfig } from '../../env/shared.ts';

const isNotFound = (err: unknown) => err instanceof ApiException && err.code === 404;

/** Resolves true once reading the object answers 404. */
async function gone(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (err) {
    if (isNotFound(err)) return true;
    throw err;
  }
}

describe('The test control plane', () => {
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let namespace: string;

  before(async () => {
    const kc = kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
    namespace = await createNamespace('env-control-plane');
  });

  it('garbage-collects a ConfigMap whose owner is deleted', async () => {
    const owner = await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'owner' }, data: { role: 'owner' } },
    });
    await core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: {
          name: 'dependent',
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! },
          ],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace, name: 'owner' });

    await eventually('the dependent ConfigMap to be collected', () =>
      gone(() => core.readNamespacedConfigMap({ namespace, name: 'dependent' })),
    );
  });

  describe('StatefulSets', () => {
    const statefulSet = (name: string): V1StatefulSet => ({
      metadata: { name },
      spec: {
        replicas: 2,
        serviceName: name,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'main', image: 'registry.invalid/never-pulled:1' }] },
        },
      },
    });

    it('creates the first Pod of a StatefulSet', async () => {
      await apps.createNamespacedStatefulSet({ namespace, body: statefulSet('first') });

      const pod = await eventually('pod first-0', () =>
        core.readNamespacedPod({ namespace, name: 'first-0' }),
      );
      assert.equal(pod.metadata?.labels?.app, 'first');
      assert.deepEqual(
        pod.metadata.ownerReferences?.map((ref) => ref.kind),
        ['StatefulSet'],
      );
    });

    it('creates the next ordinal once a test marks the previous Pod Ready', async () => {
      await apps.createNamespacedStatefulSet({ namespace, body: statefulSet('ordered') });
      await eventually('pod ordered-0', () => core.readNamespacedPod({ namespace, name: 'ordered-0' }));
      // OrderedReady: without a kubelet nothing makes ordered-0 Ready, so ordered-1 must not exist yet.
      assert.equal(await gone(() => core.readNamespacedPod({ namespace, name: 'ordered-1' })), true);

      // No kubelet runs here: a test plays its part by writing the status subresource.
      await core.patchNamespacedPodStatus(
        {
          namespace,
          name: 'ordered-0',
          body: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );

      await eventually('pod ordered-1', () => core.readNamespacedPod({ namespace, name: 'ordered-1' }));
    });
  });

  it('completes the deletion of a namespace and its contents', async () => {
    const doomed = await createNamespace('env-doomed');
    await core.createNamespacedConfigMap({ namespace: doomed, body: { metadata: { name: 'content' } } });
    await core.createNamespacedSecret({ namespace: doomed, body: { metadata: { name: 'content' } } });

    await core.deleteNamespace({ name: doomed });

    await eventually('namespace deletion to finish', () => gone(() => core.readNamespace({ name: doomed })));
  });
});
