// The chart's RBAC is enough: the operator runs against the test environment as the chart's ServiceAccount (a
// token from the TokenRequest API, nothing else), reconciles every kind, deletes them again, and no request it
// makes is refused. Where the machine allows a mount namespace, the token is mounted where the kubelet puts it
// and the operator finds it as in a pod; elsewhere it gets a kubeconfig with the token.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { freePorts } from '../../env/net.ts';
import { logTail, spawnLogged, type ManagedProcess } from '../../env/process.ts';
import { mountServiceAccount, type MountedServiceAccount } from '../../env/service-account.ts';
import { clusterCa, kubeConfig, OFF_NODE_SELECTOR } from '../../env/shared.ts';
import { kinds } from '../../../src/api/kinds.ts';
import { template, repoRoot, type Manifest } from './helm.ts';

const suffix = randomBytes(3).toString('hex');
const systemNamespace = `warren-rbac-${suffix}`;
const appNamespace = `rbac-app-${suffix}`;
const vhost = `rbac-${suffix}`;

function kubectl(args: readonly string[], input?: string, kubeconfig?: string): string {
  return execFileSync('kubectl', args, {
    encoding: 'utf8',
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...(kubeconfig ? { KUBECONFIG: kubeconfig } : {}) },
  });
}

function apply(objects: readonly object[]): void {
  kubectl(['apply', '--server-side', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface Listed {
  items: { kind: string; metadata: { name: string }; status?: { conditions?: Condition[] } }[];
}

function warrenObjects(): Listed['items'] {
  const plurals = kinds.map((k) => `${k.plural}.${k.group}`).join(',');
  return (JSON.parse(kubectl(['get', '-n', appNamespace, plurals, '-o', 'json'])) as Listed).items;
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

/** A kubeconfig that authenticates with nothing but the ServiceAccount's token. */
function serviceAccountKubeconfig(dir: string, token: string): string {
  const admin = parse(readFileSync(process.env.KUBECONFIG!, 'utf8')) as {
    clusters: { name: string; cluster: Record<string, string> }[];
  };
  const path = join(dir, 'warren-sa.kubeconfig');
  const cluster = admin.clusters[0]!;
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [cluster],
      users: [{ name: 'warren', user: { token } }],
      contexts: [{ name: 'warren', context: { cluster: cluster.name, user: 'warren' } }],
      'current-context': 'warren',
    }),
    { mode: 0o600 },
  );
  return path;
}

const ref = { connectionSecret: { name: 'broker' } };

function topology(): object[] {
  const meta = (name: string) => ({ name, namespace: appNamespace });
  const api = 'warren.dev/v1alpha1';
  return [
    {
      apiVersion: api,
      kind: 'Vhost',
      metadata: meta('app'),
      spec: { name: vhost, rabbitmqClusterReference: ref },
    },
    {
      apiVersion: api,
      kind: 'User',
      metadata: meta('app-user'),
      spec: { tags: [], rabbitmqClusterReference: ref },
    },
    {
      apiVersion: api,
      kind: 'Permission',
      metadata: meta('app-user'),
      spec: {
        vhost,
        userReference: { name: 'app-user' },
        permissions: { configure: '', write: '^events$', read: '^work$' },
        rabbitmqClusterReference: ref,
      },
    },
    {
      apiVersion: api,
      kind: 'Exchange',
      metadata: meta('events'),
      spec: { name: 'events', vhost, type: 'topic', rabbitmqClusterReference: ref },
    },
    {
      apiVersion: api,
      kind: 'Queue',
      metadata: meta('work'),
      spec: { name: 'work', vhost, type: 'quorum', rabbitmqClusterReference: ref },
    },
    {
      apiVersion: api,
      kind: 'Binding',
      metadata: meta('events-to-work'),
      spec: {
        vhost,
        source: 'events',
        destination: 'work',
        destinationType: 'queue',
        routingKey: 'work.#',
        rabbitmqClusterReference: ref,
      },
    },
    {
      apiVersion: api,
      kind: 'Policy',
      metadata: meta('limits'),
      spec: {
        name: 'limits',
        vhost,
        pattern: '^work$',
        applyTo: 'queues',
        definition: { 'max-length': 1000 },
        rabbitmqClusterReference: ref,
      },
    },
    {
      apiVersion: api,
      kind: 'RabbitmqCluster',
      metadata: meta('rabbit'),
      spec: { replicas: 3, persistence: { storage: '1Gi' } },
    },
  ];
}

describe('Operator RBAC as rendered by the chart', () => {
  let dir: string;
  let operator: ManagedProcess | undefined;
  let mounted: MountedServiceAccount | undefined;
  let rbacObjects: Manifest[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warren-rbac-'));
    kubectl(['create', 'namespace', systemNamespace]);
    kubectl(['create', 'namespace', appNamespace]);
    // The cluster's pods are only created here, never run: keep them off the test node.
    const [annotation, selector] = Object.entries(OFF_NODE_SELECTOR)[0]!;
    kubectl(['annotate', 'namespace', appNamespace, `${annotation}=${selector}`]);
    const rendered = template([], systemNamespace);
    rbacObjects = rendered.filter((m) =>
      ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(m.kind),
    );
    // The ClusterRole and its binding are cluster-wide: give them this run's name so nothing else shares them.
    for (const object of rbacObjects) {
      if (object.kind.startsWith('Cluster')) object.metadata.name = `warren-rbac-${suffix}`;
      if (object.kind === 'ClusterRoleBinding') {
        (object as unknown as { roleRef: { name: string } }).roleRef.name = `warren-rbac-${suffix}`;
      }
    }
    apply(rbacObjects);
    const token = kubectl(['create', 'token', 'warren', '-n', systemNamespace, '--duration=2h']).trim();
    mounted = mountServiceAccount(
      { token, caPem: clusterCa(kubeConfig()), namespace: systemNamespace },
      new URL(kubeConfig().getCurrentCluster()!.server),
    );
    const { KUBECONFIG: _admin, ...inherited } = process.env;
    const [command, args] = mounted
      ? mounted.wrap(process.execPath, [join(repoRoot, 'src/main.ts')])
      : [process.execPath, [join(repoRoot, 'src/main.ts')]];
    const [metrics, probes] = await freePorts(2);
    operator = spawnLogged({
      name: 'operator',
      command,
      args,
      dir,
      cwd: repoRoot,
      env: {
        ...inherited,
        ...(mounted ? mounted.env : { KUBECONFIG: serviceAccountKubeconfig(dir, token) }),
        POD_NAME: 'rbac-test',
        POD_NAMESPACE: systemNamespace,
        LEADER_ELECT: 'true',
        LOG_LEVEL: 'debug',
        METRICS_BIND_ADDRESS: `127.0.0.1:${metrics}`,
        HEALTH_PROBE_BIND_ADDRESS: `127.0.0.1:${probes}`,
      },
    });
    await waitFor('the operator to be ready', () => {
      if (operator?.exitStatus())
        throw new Error(`operator ${operator.exitStatus()}:\n${logTail(operator.logPath)}`);
      try {
        execFileSync('curl', ['-sf', `http://127.0.0.1:${probes}/readyz`]);
        return true;
      } catch {
        return false;
      }
    });
  });

  after(async () => {
    await operator?.stop();
    mounted?.remove();
    kubectl(['delete', 'namespace', appNamespace, '--wait=false', '--ignore-not-found']);
    for (const object of rbacObjects.filter((o) => o.kind.startsWith('Cluster'))) {
      kubectl(['delete', object.kind.toLowerCase(), object.metadata.name, '--ignore-not-found']);
    }
    if (process.exitCode === undefined || process.exitCode === 0)
      rmSync(dir, { recursive: true, force: true });
  });

  it('is all the operator needs to reconcile every kind and delete it again', async () => {
    const url = new URL(process.env.RABBITMQ_MANAGEMENT_URL!);
    apply([
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'broker', namespace: appNamespace },
        stringData: {
          uri: url.origin,
          username: process.env.RABBITMQ_USERNAME!,
          password: process.env.RABBITMQ_PASSWORD!,
        },
      },
      ...topology(),
    ]);

    await waitFor('every topology object to be Ready', () => {
      const objects = warrenObjects().filter((o) => o.kind !== 'RabbitmqCluster');
      return (
        objects.length === 7 &&
        objects.every((o) => o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      );
    });
    await waitFor('the cluster to create its StatefulSet and publish its default user', () => {
      const cluster = JSON.parse(
        kubectl(['get', '-n', appNamespace, 'rabbitmqcluster', 'rabbit', '-o', 'json']),
      ) as { status?: { defaultUser?: unknown } };
      const statefulSets = kubectl(['get', '-n', appNamespace, 'statefulsets', '-o', 'name']);
      return (
        cluster.status?.defaultUser !== undefined && statefulSets.includes('statefulset.apps/rabbit-server')
      );
    });

    kubectl([
      'delete',
      '-n',
      appNamespace,
      kinds.map((k) => `${k.plural}.${k.group}`).join(','),
      '--all',
      '--wait=false',
    ]);
    await waitFor('every object to be deleted (finalizers removed)', () => warrenObjects().length === 0);

    const log = readFileSync(operator!.logPath!, 'utf8');
    // A refusal reads `VERB path: 403 … is forbidden: …`; a bare 403 could be a duration in milliseconds. A write
    // into a namespace that another test is deleting is refused by namespace lifecycle admission, not by RBAC.
    const refused = log
      .split('\n')
      .filter((line) => /forbidden|: 403 /i.test(line))
      .filter((line) => !/because it is being terminated/.test(line));
    assert.deepEqual(refused, [], 'the operator was refused by the API server');
    const started = log.split('\n').find((line) => line.includes('"operator started"'));
    assert.ok(started, 'the operator logged its start');
    assert.equal(
      (JSON.parse(started) as { authentication?: string }).authentication,
      mounted ? 'service account' : 'kubeconfig',
    );
  });

  it('is refused what the rules leave out', () => {
    const as = `system:serviceaccount:${systemNamespace}:warren`;
    const canI = (...args: string[]) => {
      try {
        return kubectl(['auth', 'can-i', '--as', as, ...args]).trim();
      } catch (err) {
        return (err as { stdout?: string }).stdout?.trim() ?? 'error';
      }
    };
    assert.equal(canI('list', 'secrets', '-n', appNamespace), 'yes');
    assert.equal(canI('delete', 'queues.warren.dev', '-n', appNamespace), 'no');
    assert.equal(canI('create', 'pods', '-n', appNamespace), 'no');
    assert.equal(canI('list', 'nodes'), 'no');
    assert.equal(canI('get', 'leases.coordination.k8s.io', '-n', appNamespace), 'no');
    assert.equal(canI('get', 'leases.coordination.k8s.io', '-n', systemNamespace), 'yes');
  });
});
