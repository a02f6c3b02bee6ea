// Warren installed as users install it: `helm install` of charts/warren with the image built here, running as a
// pod on the test node under the chart's probes, security context and RBAC (nothing added), takes its Lease,
// reconciles a Queue on a broker the pod reaches, serves metrics through its Service, and `helm uninstall` leaves
// the CRDs and the broker's objects in place.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { httpGet } from '../../env/net.ts';
import { createNamespace, eventually, testEnv, testNode } from '../../env/shared.ts';
import { helm, helmOk, installOnNode } from './helm.ts';

const node = testNode();

function kubectl(args: readonly string[], input?: string): string {
  return execFileSync('kubectl', args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

describe('The operator installed by its Helm chart', { skip: node.skip }, () => {
  const release = `warren-${randomBytes(3).toString('hex')}`;
  const queueName = `pod-queue-${randomBytes(3).toString('hex')}`;
  let systemNamespace: string;
  let appNamespace: string;

  before(async () => {
    systemNamespace = await createNamespace('warren-pod', undefined, { node: true });
    appNamespace = await createNamespace('warren-pod-app', undefined, { node: true });
  });

  after(() => {
    helm(['uninstall', release, '--namespace', systemNamespace, '--wait', '--timeout', '60s']);
  });

  it('becomes Ready under the chart probes with the image built here', () => {
    const seconds = installOnNode({
      release,
      namespace: systemNamespace,
      image: node.operatorImage,
      values: ['logLevel="debug"'],
    });
    process.stderr.write(`helm install to operator Ready: ${seconds.toFixed(1)}s\n`);
    const pods = JSON.parse(
      kubectl([
        'get',
        'pods',
        '-n',
        systemNamespace,
        '-l',
        `app.kubernetes.io/instance=${release}`,
        '-o',
        'json',
      ]),
    ) as {
      items: {
        metadata: { name: string };
        spec: { nodeName?: string };
        status: { containerStatuses?: { ready: boolean }[] };
      }[];
    };
    assert.equal(pods.items.length, 1);
    assert.equal(pods.items[0]!.spec.nodeName, node.name);
    assert.equal(pods.items[0]!.status.containerStatuses?.[0]?.ready, true);
  });

  it('takes the Lease as its pod', async () => {
    const pod = kubectl([
      'get',
      'pods',
      '-n',
      systemNamespace,
      '-l',
      `app.kubernetes.io/instance=${release}`,
      '-o',
      'jsonpath={.items[0].metadata.name}',
    ]);
    const holder = await eventually('the Lease to name the pod', () => {
      const leases = JSON.parse(kubectl(['get', 'leases', '-n', systemNamespace, '-o', 'json'])) as {
        items: { spec: { holderIdentity?: string } }[];
      };
      return leases.items.map((l) => l.spec.holderIdentity).find((h) => h?.startsWith(pod));
    });
    assert.ok(holder.startsWith(pod));
  });

  it('reconciles a Queue on a broker that the pod reaches, with nothing but the chart RBAC', async () => {
    const env = testEnv();
    const management = new URL(env.managementUrl);
    kubectl(['apply', '-n', appNamespace, '-f', '-'], stringify({
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'broker' }, type: 'Opaque',
      stringData: { uri: `http://${node.ip}:${management.port}`, username: env.username, password: env.password },
    })); // prettier-ignore
    kubectl(['apply', '-n', appNamespace, '-f', '-'], stringify({
      apiVersion: 'warren.dev/v1alpha1', kind: 'Queue', metadata: { name: 'orders' },
      spec: { name: queueName, durable: true, rabbitmqClusterReference: { connectionSecret: { name: 'broker' } } },
    })); // prettier-ignore
    await eventually('the Queue to be Ready', () =>
      kubectl(['get', 'queue', '-n', appNamespace, 'orders', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']) === 'True',
    { timeoutMs: 120_000 }); // prettier-ignore
    const auth = { username: env.username, password: env.password };
    const onBroker = await httpGet(`${env.managementUrl}/api/queues/%2F/${queueName}`, { auth });
    assert.equal(onBroker.status, 200);
    const logs = kubectl([
      'logs',
      '-n',
      systemNamespace,
      '-l',
      `app.kubernetes.io/instance=${release}`,
      '--tail=-1',
    ]);
    assert.doesNotMatch(logs, /forbidden/i, 'the chart RBAC refused the operator nothing');
  });

  it('serves metrics through its Service', async () => {
    const services = JSON.parse(kubectl(['get', 'services', '-n', systemNamespace, '-o', 'json'])) as {
      items: { spec: { clusterIP: string; ports: { port: number }[] } }[];
    };
    const service = services.items[0]!;
    const metrics = await eventually('metrics through the Service', () =>
      httpGet(`http://${service.spec.clusterIP}:${service.spec.ports[0]!.port}/metrics`, {
        timeoutMs: 3000,
      }).then((res) => res.status === 200 && res.body),
    );
    assert.match(metrics, /^leader_election_master_status\{[^}]*\} 1$/m);
    assert.match(metrics, /controller_runtime_reconcile_total/);
  });

  it('leaves the CRDs and the broker objects when uninstalled', async () => {
    helmOk(['uninstall', release, '--namespace', systemNamespace, '--wait', '--timeout', '60s']);
    assert.match(kubectl(['get', 'crd', 'queues.warren.dev', '-o', 'name']), /queues\.warren\.dev/);
    const env = testEnv();
    const auth = { username: env.username, password: env.password };
    assert.equal((await httpGet(`${env.managementUrl}/api/queues/%2F/${queueName}`, { auth })).status, 200);
  });
});
