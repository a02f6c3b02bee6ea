// The test node is a real one: pods run as containers from the images built here, logs, exec and port-forward
// work through the API server, pods find each other and Services by DNS, Services answer from the host and from
// pods, and a claim's data outlives its pod.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { httpGet } from '../../env/net.ts';
import { createNamespace, eventually, testNode } from '../../env/shared.ts';

const node = testNode();
const execFileAsync = promisify(execFile);

function kubectl(args: readonly string[], input?: string): string {
  return execFileSync('kubectl', args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}
async function kubectlAsync(...args: string[]): Promise<string> {
  return (await execFileAsync('kubectl', args, { encoding: 'utf8' })).stdout;
}
const apply = (namespace: string, ...objects: object[]) =>
  kubectl(
    ['apply', '-n', namespace, '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
  );

/** The body of a GET, whatever its status. */
const get = async (url: string) => (await httpGet(url, { timeoutMs: 3000 })).body;

/** A container of the operator image that answers every HTTP request on port 8080 with its own pod name. */
const echoServer = (image: string) => ({
  name: 'echo',
  image,
  imagePullPolicy: 'Never',
  command: ['node', '-e'],
  args: [
    "require('node:http').createServer((q, s) => s.end(process.env.HOSTNAME)).listen(8080); console.log('serving')",
  ],
  ports: [{ containerPort: 8080, name: 'http' }],
  readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
});

const podReady = (namespace: string, name: string) =>
  kubectl(['wait', '-n', namespace, '--for=condition=Ready', `pod/${name}`, '--timeout=120s']);

describe('The test node', { skip: node.skip }, () => {
  let namespace: string;

  before(async () => {
    namespace = await createNamespace('env-node', undefined, { node: true });
  });

  it('is one Ready, schedulable node', () => {
    const nodes = JSON.parse(kubectl(['get', 'nodes', '-o', 'json'])) as {
      items: {
        metadata: { name: string };
        spec: { taints?: unknown[] };
        status: { conditions: { type: string; status: string }[] };
      }[];
    };
    assert.deepEqual(
      nodes.items.map((n) => n.metadata.name),
      [node.name],
    );
    const only = nodes.items[0]!;
    assert.equal(only.status.conditions.find((c) => c.type === 'Ready')?.status, 'True');
    assert.deepEqual(only.spec.taints ?? [], []);
  });

  it('runs a pod from a locally built image, with logs, exec and port-forward', async () => {
    apply(namespace, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'echo' },
      spec: { containers: [echoServer(node.operatorImage)] },
    });
    podReady(namespace, 'echo');
    assert.match(kubectl(['logs', '-n', namespace, 'echo']), /serving/);
    assert.equal(
      kubectl(['exec', '-n', namespace, 'echo', '--', 'node', '-p', 'process.getuid()']).trim(),
      '1000',
    );

    const forward = spawn('kubectl', ['port-forward', '-n', namespace, 'pod/echo', ':8080'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      forward.stdout.setEncoding('utf8');
      const port = await new Promise<string>((resolve, reject) => {
        forward.stdout.on('data', (chunk: string) => {
          output += chunk;
          const match = /127\.0\.0\.1:(\d+)/.exec(output);
          if (match) resolve(match[1]!);
        });
        forward.once('exit', (code) => reject(new Error(`port-forward exited with ${code}: ${output}`)));
      });
      assert.equal(await get(`http://127.0.0.1:${port}/`), 'echo');
    } finally {
      forward.kill();
      await once(forward, 'exit').catch(() => undefined);
    }
  });

  it('gives a StatefulSet behind a headless Service pod names that resolve from its pods', () => {
    apply(
      namespace,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'peers' },
        spec: {
          clusterIP: 'None',
          publishNotReadyAddresses: true,
          selector: { app: 'peers' },
          ports: [{ port: 8080 }],
        },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'peers' },
        spec: {
          serviceName: 'peers',
          replicas: 2,
          podManagementPolicy: 'Parallel',
          selector: { matchLabels: { app: 'peers' } },
          template: {
            metadata: { labels: { app: 'peers' } },
            spec: { containers: [echoServer(node.operatorImage)] },
          },
        },
      },
    );
    podReady(namespace, 'peers-0');
    podReady(namespace, 'peers-1');
    const peer = `peers-1.peers.${namespace}.svc.cluster.local`;
    const resolved = kubectl(['exec', '-n', namespace, 'peers-0', '--', 'getent', 'hosts', peer]);
    const peerIp = JSON.parse(kubectl(['get', 'pod', '-n', namespace, 'peers-1', '-o', 'json'])) as {
      status: { podIP: string };
    };
    assert.match(resolved, new RegExp(`^${peerIp.status.podIP.replaceAll('.', '\\.')}\\s`));
    const answer = kubectl([
      'exec',
      '-n',
      namespace,
      'peers-0',
      '--',
      'node',
      '-e',
      `fetch('http://${peer}:8080').then(r => r.text()).then(console.log)`,
    ]);
    assert.equal(answer.trim(), 'peers-1');
  });

  it('routes a ClusterIP Service from the host and from a pod, and reaches the API server from a pod', async () => {
    apply(
      namespace,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'echo' },
        spec: { selector: { app: 'echo-svc' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'echo-svc', labels: { app: 'echo-svc' } },
        spec: { containers: [echoServer(node.operatorImage)] },
      },
    );
    podReady(namespace, 'echo-svc');
    const clusterIp = kubectl([
      'get',
      'service',
      '-n',
      namespace,
      'echo',
      '-o',
      'jsonpath={.spec.clusterIP}',
    ]);
    assert.equal(
      await eventually('the Service to answer from the host', () => get(`http://${clusterIp}/`)),
      'echo-svc',
    );
    const fromPod = await kubectlAsync(
      'exec', '-n', namespace, 'echo', '--', 'node', '-e',
      `fetch('http://echo.${namespace}.svc.cluster.local').then(r => r.text()).then(console.log)`,
    ); // prettier-ignore
    assert.equal(fromPod.trim(), 'echo-svc');
    // The `kubernetes` Service leads to the real API server, whose certificate the pod's service account CA signs.
    const version = await kubectlAsync(
      'exec', '-n', namespace, 'echo', '--', 'sh', '-c',
      'NODE_EXTRA_CA_CERTS=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt node -e ' +
        `"fetch('https://kubernetes.default.svc/version').then(r => r.json()).then(v => console.log(v.gitVersion))"`,
    ); // prettier-ignore
    assert.match(version.trim(), /^v1\.\d+\.\d+/);
  });

  it("keeps a claim's data when its pod is deleted", async () => {
    apply(namespace, {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'data' },
      spec: {
        serviceName: 'data',
        replicas: 1,
        selector: { matchLabels: { app: 'data' } },
        template: {
          metadata: { labels: { app: 'data' } },
          spec: {
            securityContext: { fsGroup: 1000 },
            // The echo server ignores SIGTERM as PID 1: no need to wait out the default 30 s.
            terminationGracePeriodSeconds: 1,
            containers: [
              { ...echoServer(node.operatorImage), volumeMounts: [{ name: 'data', mountPath: '/data' }] },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        ],
      },
    });
    podReady(namespace, 'data-0');
    kubectl(['exec', '-n', namespace, 'data-0', '--', 'sh', '-c', 'echo kept > /data/marker']);
    const uid = kubectl(['get', 'pod', '-n', namespace, 'data-0', '-o', 'jsonpath={.metadata.uid}']);
    kubectl(['delete', 'pod', '-n', namespace, 'data-0', '--wait=true']);
    await eventually('a new data-0', () => {
      const now = kubectl(['get', 'pod', '-n', namespace, 'data-0', '-o', 'jsonpath={.metadata.uid}']);
      return now !== uid && now !== '';
    });
    podReady(namespace, 'data-0');
    assert.equal(kubectl(['exec', '-n', namespace, 'data-0', '--', 'cat', '/data/marker']).trim(), 'kept');
  });
});
