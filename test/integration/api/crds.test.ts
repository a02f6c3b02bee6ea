// The generated CRDs installed into the real kube-apiserver: accepted, established, explained by kubectl, and
// grouped under the warren category.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import { ApiextensionsV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { apiVersion, group, version } from '../../../src/api/common.ts';
import { kinds } from '../../../src/api/kinds.ts';
import { queueSpecSchema } from '../../../src/api/queue.ts';
import { ensureBinaries } from '../../env/binaries.ts';
import { createNamespace, kubeConfig, testEnv } from '../../env/shared.ts';

const run = promisify(execFile);

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run(ensureBinaries().kubectl, ['--kubeconfig', testEnv().kubeconfigPath, ...args]);
  return stdout;
}

const words = (text: string) => text.replace(/\s+/g, ' ').trim();

describe('The generated CRDs', () => {
  let extensions: ApiextensionsV1Api;
  before(() => {
    extensions = kubeConfig().makeApiClient(ApiextensionsV1Api);
  });

  for (const definition of kinds) {
    it(`installs ${definition.plural}.${definition.group} with accepted names`, async () => {
      const crd = await extensions.readCustomResourceDefinition({ name: `${definition.plural}.${group}` });
      const status = (type: string) => crd.status?.conditions?.find((c) => c.type === type)?.status;
      assert.equal(status('Established'), 'True');
      assert.equal(status('NamesAccepted'), 'True');
      assert.deepEqual(crd.spec.names.shortNames, [...definition.shortNames]);
    });
  }

  it('lets kubectl explain show the field descriptions', async () => {
    const output = await kubectl('explain', 'queues.spec.arguments', `--api-version=${apiVersion}`);
    const described = queueSpecSchema.shape.arguments.description;
    assert.ok(described);
    assert.ok(words(output).includes(words(described).slice(0, 60)), output);
  });

  it('lists every kind under kubectl get warren', async () => {
    const namespace = await createNamespace('api-category');
    const api = kubeConfig().makeApiClient(CustomObjectsApi);
    const ref = { rabbitmqClusterReference: { name: 'main' } };
    await api.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'queues',
      body: { apiVersion, kind: 'Queue', metadata: { name: 'orders' }, spec: { name: 'orders', ...ref } },
    });
    await api.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'vhosts',
      body: { apiVersion, kind: 'Vhost', metadata: { name: 'shop' }, spec: { name: 'shop', ...ref } },
    });
    const listed = await kubectl('get', 'warren', '-n', namespace, '-o', 'name');
    assert.deepEqual(listed.trim().split('\n').sort(), ['queue.warren.dev/orders', 'vhost.warren.dev/shop']);
  });

  it('shows Ready, Reason and Age columns for topology kinds', async () => {
    const output = await kubectl('get', 'rmqq', '-A');
    const header = output.split('\n')[0] ?? '';
    assert.match(header, /NAME\s+READY\s+REASON\s+AGE/);
  });
});
