// npm run demo: Warren on a local default, from a fresh clone to converged resources and a routed message.
//
//   npm run demo                    local control plane and broker (npm run testenv -- up), the operator in the
//                                   background, config/samples applied, a status table and a proof from the broker.
//                                   Where the environment has its test node, the sample cluster runs there as real
//                                   pods (the locally built RabbitMQ image, sized for the node) and the topology
//                                   converges on it through its client Service; only without a node does the
//                                   environment's own broker stand in for it. The demo says which it used.
//   npm run demo -- --context NAME  the same against an existing Kubernetes context: the sample cluster runs as real
//                                   pods there, and the broker is reached through kubectl port-forward
//
// Everything keeps running afterwards; `npm run testenv -- down` stops it all, the operator included.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import amqp from 'amqplib';
import { parseAllDocuments, stringify } from 'yaml';
import { kinds } from '../src/api/kinds.ts';
import { connectionUriAnnotation } from '../src/topology/connections.ts';
import { freePorts } from '../test/env/net.ts';
import {
  defaultEnvDir,
  findRecords,
  isRunning,
  logTail,
  recordProcess,
  spawnLogged,
  stopProcess,
} from '../test/env/process.ts';
import {
  brokerProofLines,
  conditionOf,
  readyTable,
  type Condition,
  type StatusRow,
  type WarrenObject,
} from './demo-report.ts';

const root = join(import.meta.dirname, '..');
const envDir = defaultEnvDir();
const namespace = 'orders';
const clusterName = 'rabbit';
const started = performance.now();

const { values: flags } = parseArgs({
  options: {
    context: { type: 'string' },
    timeout: { type: 'string', default: '180' },
  },
});
const timeoutMs = Number(flags.timeout) * 1000;

class DemoError extends Error {}

function elapsed(): string {
  return `${((performance.now() - started) / 1000).toFixed(1)}s`;
}

function step(text: string): void {
  process.stdout.write(`\n== ${text} (${elapsed()})\n`);
}

/** KUBECONFIG, broker URLs and credentials, and PATH with the built kubectl: what `.testenv/env` exports. */
function readEnvFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (!match?.[1] || match[2] === undefined) continue;
    out[match[1]] = unquote(match[2]);
  }
  return out;
}

function unquote(value: string): string {
  // PATH is written as 'DIR':"$PATH": the built kubectl first, then the caller's PATH.
  const pathPrefix = /^'([^']*)':"\$PATH"$/.exec(value)?.[1];
  if (pathPrefix !== undefined) return `${pathPrefix}:${process.env.PATH ?? ''}`;
  if (value.startsWith("'") && value.endsWith("'")) return value.slice(1, -1).replaceAll(`'\\''`, "'");
  if (value.startsWith('"') && value.endsWith('"')) return value.slice(1, -1);
  return value;
}

interface Target {
  env: NodeJS.ProcessEnv;
  kubectlArgs: string[];
  /** Kubeconfig file the operator runs with. */
  kubeconfig: string;
  local: boolean;
  /** The local environment's test node and the RabbitMQ image it holds, where it runs one. */
  node?: { name: string; rabbitmqImage: string };
}

function kubectl(target: Target, args: string[], input?: string): string {
  const result = spawnSync('kubectl', [...target.kubectlArgs, ...args], {
    env: target.env,
    encoding: 'utf8',
    input,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw new DemoError(`kubectl could not run: ${result.error.message}`);
  if (result.status !== 0) {
    throw new DemoError(`kubectl ${args.join(' ')} failed: ${result.stderr.trim() || result.stdout.trim()}`);
  }
  return result.stdout;
}

function kubectlJson(target: Target, args: string[]): unknown {
  return JSON.parse(kubectl(target, [...args, '-o', 'json']));
}

async function waitFor<T>(what: string, check: () => T | undefined, ms = timeoutMs): Promise<T> {
  const deadline = Date.now() + ms;
  let lastError: unknown;
  for (;;) {
    try {
      const value = check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new DemoError(`timed out after ${ms / 1000}s waiting for ${what}${detail}`);
    }
    await sleep(500);
  }
}

function localTarget(): Target {
  step('local control plane and RabbitMQ (npm run testenv -- up)');
  const up = spawnSync(process.execPath, [join(root, 'test/env/cli.ts'), 'up'], { stdio: 'inherit' });
  if (up.status !== 0) throw new DemoError('npm run testenv -- up failed; see the message above.');
  const vars = readEnvFile(join(envDir, 'env'));
  const env = { ...process.env, ...vars };
  const kubeconfig = vars.KUBECONFIG;
  if (!kubeconfig) throw new DemoError(`${join(envDir, 'env')} sets no KUBECONFIG`);
  const node =
    vars.WARREN_NODE_NAME && vars.WARREN_RABBITMQ_IMAGE
      ? { name: vars.WARREN_NODE_NAME, rabbitmqImage: vars.WARREN_RABBITMQ_IMAGE }
      : undefined;
  return { env, kubectlArgs: [], kubeconfig, local: true, ...(node ? { node } : {}) };
}

function contextTarget(context: string): Target {
  step(`Kubernetes context ${context}`);
  mkdirSync(envDir, { recursive: true });
  const env = { ...process.env };
  const target: Target = { env, kubectlArgs: ['--context', context], kubeconfig: '', local: false };
  // The operator gets a kubeconfig of that context alone, so it cannot wander to another cluster.
  const kubeconfig = join(envDir, `demo-${context.replace(/[^A-Za-z0-9_.-]/g, '_')}.kubeconfig`);
  writeFileSync(kubeconfig, kubectl(target, ['config', 'view', '--minify', '--flatten']), { mode: 0o600 });
  target.kubeconfig = kubeconfig;
  kubectl(target, ['version']);
  return target;
}

function installCrds(target: Target): void {
  step('custom resource definitions (crds/)');
  kubectl(target, ['apply', '--server-side', '--force-conflicts', '-f', join(root, 'crds')]);
  const crds = kinds.map((kind) => `crd/${kind.plural}.${kind.group}`);
  kubectl(target, ['wait', '--for=condition=Established', '--timeout=60s', ...crds]);
  process.stdout.write(`${kinds.length} kinds: ${kinds.map((k) => k.kind).join(', ')}\n`);
}

async function startOperator(target: Target): Promise<void> {
  step('operator (in the background; log: .testenv/operator.log)');
  for (const { path, record } of findRecords(envDir)) {
    if (record.name !== 'operator') continue;
    if (isRunning(record)) {
      process.stdout.write(`stopping the operator started earlier (pid ${record.pid})\n`);
      await stopProcess(record);
    }
    rmSync(path, { force: true });
  }
  const [metricsPort, probePort] = await freePorts(2);
  const operator = spawnLogged({
    name: 'operator',
    command: process.execPath,
    args: [join(root, 'src/main.ts')],
    dir: envDir,
    cwd: root,
    env: {
      ...target.env,
      KUBECONFIG: target.kubeconfig,
      LEADER_ELECT: 'false',
      LOG_LEVEL: 'info',
      METRICS_BIND_ADDRESS: `127.0.0.1:${metricsPort}`,
      HEALTH_PROBE_BIND_ADDRESS: `127.0.0.1:${probePort}`,
    },
  });
  await waitFor(
    'the operator to report ready on /readyz',
    () => {
      const status = operator.exitStatus();
      if (status) throw new DemoError(`the operator ${status}:\n${logTail(operator.logPath)}`);
      const probe = spawnSync('curl', ['-sf', `http://127.0.0.1:${probePort}/readyz`]);
      return probe.status === 0 ? true : undefined;
    },
    60_000,
  ).catch((err: unknown) => {
    throw new DemoError(`${(err as Error).message}\n${logTail(operator.logPath)}`);
  });
  process.stdout.write(
    `pid ${operator.pid}; metrics http://127.0.0.1:${metricsPort}/metrics, probes http://127.0.0.1:${probePort}/readyz\n`,
  );
}

function sampleDocuments(): WarrenObject[] {
  const dir = join(root, 'config/samples');
  const kustomization = parseAllDocuments(
    readFileSync(join(dir, 'kustomization.yaml'), 'utf8'),
  )[0]?.toJS() as {
    resources: string[];
  };
  return kustomization.resources.flatMap((file) =>
    parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((doc) => doc.toJS() as WarrenObject),
  );
}

interface ClusterStatus {
  metadata: { annotations?: Record<string, string> };
  status?: {
    conditions?: Condition[];
    defaultUser?: { secretReference?: { name: string; keys?: Record<string, string> } };
  };
}

interface SecretObject {
  data?: Record<string, string>;
}

function secretData(target: Target, name: string): Record<string, string> {
  const secret = kubectlJson(target, ['-n', namespace, 'get', 'secret', name]) as SecretObject;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(secret.data ?? {}))
    out[key] = Buffer.from(value, 'base64').toString();
  return out;
}

interface Broker {
  managementUrl: string;
  amqpHost: string;
  amqpPort: number;
  adminUser: string;
  adminPassword: string;
}

async function management(broker: Broker, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${broker.managementUrl}/api/${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${broker.adminUser}:${broker.adminPassword}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok)
    throw new DemoError(`${method} /api/${path}: HTTP ${response.status} ${await response.text()}`);
  const text = await response.text();
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

/**
 * Without a test node the sample cluster cannot run pods (no kubelet), so the local broker stands in for it: the
 * cluster carries the connection-uri annotation, and its default user (the credentials Warren generated into
 * rabbit-default-user) is created on the local broker as the pods would have booted with it. On the test node the
 * cluster runs the image built there, sized so that three brokers fit the node's two CPUs.
 */
function applyCluster(target: Target, objects: WarrenObject[], managementUrl: string | undefined): void {
  const cluster = objects.find((o) => o.kind === 'RabbitmqCluster');
  if (!cluster) throw new DemoError('config/samples holds no RabbitmqCluster');
  if (target.node) {
    const spec = (cluster as unknown as { spec: Record<string, unknown> }).spec;
    spec.image = target.node.rabbitmqImage;
    spec.resources = { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } };
    spec.persistence = { storage: '1Gi' };
  }
  if (managementUrl) {
    cluster.metadata.annotations = {
      ...cluster.metadata.annotations,
      [connectionUriAnnotation]: managementUrl,
    };
  }
  kubectl(target, ['apply', '-f', '-'], stringify(cluster));
}

async function adoptDefaultUser(target: Target, broker: Broker): Promise<void> {
  const ref = await waitFor('the cluster to publish its default-user Secret', () => {
    const cluster = kubectlJson(target, [
      '-n',
      namespace,
      'get',
      'rabbitmqcluster',
      clusterName,
    ]) as ClusterStatus;
    return cluster.status?.defaultUser?.secretReference;
  });
  const data = secretData(target, ref.name);
  const username = data[ref.keys?.username ?? 'username'];
  const password = data[ref.keys?.password ?? 'password'];
  if (!username || !password) throw new DemoError(`Secret ${ref.name} holds no username and password`);
  await management(broker, 'PUT', `users/${encodeURIComponent(username)}`, {
    password,
    tags: 'administrator',
  });
  await management(broker, 'PUT', `permissions/%2F/${encodeURIComponent(username)}`, {
    configure: '.*',
    write: '.*',
    read: '.*',
  });
  process.stdout.write(
    `default user of ${clusterName} (from Secret ${ref.name}) created on the local broker\n`,
  );
}

interface ListResult {
  items: WarrenObject[];
}

function listWarren(target: Target): WarrenObject[] {
  const plurals = kinds.map((k) => `${k.plural}.${k.group}`).join(',');
  return (kubectlJson(target, ['-n', namespace, 'get', plurals]) as ListResult).items;
}

function statusRows(target: Target): StatusRow[] {
  return listWarren(target).map((object) => {
    const readyType = object.kind === 'RabbitmqCluster' ? 'AllReplicasReady' : 'Ready';
    const condition = conditionOf(object, readyType);
    return {
      kind: object.kind,
      name: object.metadata.name,
      ready: condition?.status ?? 'Unknown',
      reason: condition?.reason ?? '',
      message: condition?.message ?? '',
    };
  });
}

async function waitTopologyReady(target: Target): Promise<StatusRow[]> {
  return waitFor('every topology object to be Ready', () => {
    const rows = statusRows(target);
    const topology = rows.filter((row) => row.kind !== 'RabbitmqCluster');
    return topology.length > 0 && topology.every((row) => row.ready === 'True') ? rows : undefined;
  }).catch((err: unknown) => {
    const rows = statusRows(target);
    throw new DemoError(
      `${(err as Error).message}\n${readyTable(rows)}\noperator log: ${join(envDir, 'operator.log')}`,
    );
  });
}

function clusterChildren(target: Target): string {
  return kubectl(target, [
    '-n',
    namespace,
    'get',
    'statefulsets,services,configmaps,secrets,serviceaccounts,roles,rolebindings,poddisruptionbudgets,pods',
    '-l',
    `app.kubernetes.io/name=${clusterName}`,
    '-o',
    'custom-columns=KIND:.kind,NAME:.metadata.name',
    '--no-headers',
  ]);
}

interface UserObject {
  status?: { credentials?: { name: string } };
}

function userCredentials(target: Target, name: string): { username: string; password: string } {
  const user = kubectlJson(target, ['-n', namespace, 'get', 'users.warren.dev', name]) as UserObject;
  const secretName = user.status?.credentials?.name;
  if (!secretName) throw new DemoError(`User ${name} has no status.credentials yet`);
  const data = secretData(target, secretName);
  if (!data.username || !data.password)
    throw new DemoError(`Secret ${secretName} lacks username or password`);
  return { username: data.username, password: data.password };
}

function amqpUrl(broker: Broker, credentials: { username: string; password: string }, vhost: string): string {
  const user = encodeURIComponent(credentials.username);
  const pass = encodeURIComponent(credentials.password);
  return `amqp://${user}:${pass}@${broker.amqpHost}:${broker.amqpPort}/${encodeURIComponent(vhost)}`;
}

/** One order published as order-service, consumed as billing-service, with the credentials Warren generated. */
async function routeOneMessage(
  target: Target,
  broker: Broker,
): Promise<{ routingKey: string; body: string }> {
  const body = JSON.stringify({ orderId: `demo-${Date.now()}`, total: 42.5, currency: 'EUR' });
  const publisher = await amqp.connect(amqpUrl(broker, userCredentials(target, 'order-service'), 'orders'));
  try {
    const channel = await publisher.createConfirmChannel();
    channel.publish('orders', 'orders.created', Buffer.from(body), {
      persistent: true,
      contentType: 'application/json',
    });
    await channel.waitForConfirms();
  } finally {
    await publisher.close();
  }
  const consumer = await amqp.connect(amqpUrl(broker, userCredentials(target, 'billing-service'), 'orders'));
  try {
    const channel = await consumer.createChannel();
    const message = await waitForMessage(channel, 'orders.billing', body);
    return { routingKey: message.fields.routingKey, body: message.content.toString() };
  } finally {
    await consumer.close();
  }
}

async function waitForMessage(channel: amqp.Channel, queue: string, body: string): Promise<amqp.GetMessage> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const message = await channel.get(queue);
    if (message) {
      channel.ack(message);
      if (message.content.toString() === body) return message;
    } else {
      await sleep(200);
    }
  }
  throw new DemoError(`the published order did not arrive in ${queue}`);
}

interface BrokerQueue {
  name: string;
  type?: string;
  messages?: number;
}
interface BrokerBinding {
  source: string;
  destination: string;
  routing_key: string;
}

async function brokerProof(target: Target, broker: Broker): Promise<string[]> {
  const queues = (await management(broker, 'GET', 'queues/orders')) as BrokerQueue[];
  const bindings = ((await management(broker, 'GET', 'bindings/orders')) as BrokerBinding[]).filter(
    (binding) => binding.source !== '',
  );
  const routed = await routeOneMessage(target, broker);
  return brokerProofLines(queues, bindings, routed);
}

/** Waits, up to 15 minutes (real pods pull and boot slowly), until the sample cluster has every condition True. */
async function waitForClusterConditions(target: Target, what: string, types: string[]): Promise<void> {
  await waitFor(
    what,
    () => {
      const cluster = kubectlJson(target, [
        '-n',
        namespace,
        'get',
        'rabbitmqcluster',
        clusterName,
      ]) as WarrenObject;
      return types.every((type) => conditionOf(cluster, type)?.status === 'True') ? true : undefined;
    },
    Math.max(timeoutMs, 900_000),
  );
}

/** With --context: reach the real cluster's management and AMQP ports through kubectl port-forward. */
async function portForward(target: Target): Promise<Broker> {
  await waitForClusterConditions(
    target,
    'the RabbitmqCluster to have all replicas ready (real pods; first image pull can take minutes)',
    ['AllReplicasReady'],
  );
  const [managementPort, amqpPort] = await freePorts(2);
  const child = spawn(
    'kubectl',
    [
      ...target.kubectlArgs,
      '-n',
      namespace,
      'port-forward',
      `svc/${clusterName}`,
      `${managementPort}:15672`,
      `${amqpPort}:5672`,
    ],
    { env: target.env, stdio: 'ignore', detached: true },
  );
  child.unref();
  if (child.pid === undefined) throw new DemoError('kubectl port-forward did not start');
  recordProcess(child.pid, 'demo-port-forward', envDir);
  const managementUrl = `http://127.0.0.1:${managementPort}`;
  kubectl(target, [
    '-n',
    namespace,
    'annotate',
    'rabbitmqcluster',
    clusterName,
    `${connectionUriAnnotation}=${managementUrl}`,
    '--overwrite',
  ]);
  const ref = (kubectlJson(target, ['-n', namespace, 'get', 'rabbitmqcluster', clusterName]) as ClusterStatus)
    .status?.defaultUser?.secretReference;
  const data = secretData(target, ref?.name ?? `${clusterName}-default-user`);
  return {
    managementUrl,
    amqpHost: '127.0.0.1',
    amqpPort: amqpPort ?? 5672,
    adminUser: data.username ?? '',
    adminPassword: data.password ?? '',
  };
}

/**
 * On the test node: waits until the sample cluster is available, and reaches it through its client Service's
 * address (routed to the pods on this machine), which the operator is told with the connection-uri annotation
 * because the Service's DNS name resolves only inside the cluster.
 */
async function nodeBroker(target: Target): Promise<Broker> {
  await waitForClusterConditions(
    target,
    'the RabbitmqCluster to be available (three brokers forming one cluster on the test node)',
    ['AllReplicasReady', 'ClusterAvailable'],
  );
  const address = kubectl(target, [
    '-n',
    namespace,
    'get',
    'service',
    clusterName,
    '-o',
    'jsonpath={.spec.clusterIP}',
  ]).trim();
  const managementUrl = `http://${address}:15672`;
  kubectl(target, [
    '-n',
    namespace,
    'annotate',
    'rabbitmqcluster',
    clusterName,
    `${connectionUriAnnotation}=${managementUrl}`,
    '--overwrite',
  ]);
  const data = secretData(target, `${clusterName}-default-user`);
  process.stdout.write(
    `${clusterName} is available: ${
      kubectl(target, [
        '-n',
        namespace,
        'get',
        'pods',
        '-l',
        `app.kubernetes.io/name=${clusterName}`,
        '-o',
        'name',
      ])
        .trim()
        .split('\n').length
    } broker pods on node ${target.node?.name ?? ''}, Service ${address}\n`,
  );
  return {
    managementUrl,
    amqpHost: address,
    amqpPort: 5672,
    adminUser: data.username ?? '',
    adminPassword: data.password ?? '',
  };
}

function localBroker(target: Target): Broker {
  const amqpUrlVar = new URL(target.env.RABBITMQ_AMQP_URL ?? 'amqp://127.0.0.1:5672');
  const managementUrl = target.env.RABBITMQ_MANAGEMENT_URL;
  if (!managementUrl) throw new DemoError('the test environment exports no RABBITMQ_MANAGEMENT_URL');
  return {
    managementUrl,
    amqpHost: amqpUrlVar.hostname,
    amqpPort: Number(amqpUrlVar.port || 5672),
    adminUser: target.env.RABBITMQ_USERNAME ?? '',
    adminPassword: target.env.RABBITMQ_PASSWORD ?? '',
  };
}

async function main(): Promise<void> {
  if (!existsSync(join(root, 'crds'))) throw new DemoError('crds/ is missing: run npm run generate first.');
  const target = flags.context ? contextTarget(flags.context) : localTarget();
  installCrds(target);
  await startOperator(target);

  step(`samples: a RabbitmqCluster and an order-processing topology in namespace ${namespace}`);
  kubectl(
    target,
    ['apply', '-f', '-'],
    stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }),
  );
  const objects = sampleDocuments();
  let broker: Broker;
  if (target.node) {
    process.stdout.write(
      `broker: the sample cluster itself, as real pods on the test node ${target.node.name} (${target.node.rabbitmqImage})\n`,
    );
    applyCluster(target, objects, undefined);
    broker = await nodeBroker(target);
  } else if (target.local) {
    process.stdout.write(
      'broker: the local RabbitMQ stands in for the sample cluster (this environment has no test node' +
        `${target.env.WARREN_NODE_UNAVAILABLE ? `: ${target.env.WARREN_NODE_UNAVAILABLE}` : ''})\n`,
    );
    broker = localBroker(target);
    applyCluster(target, objects, broker.managementUrl);
    await adoptDefaultUser(target, broker);
  } else {
    applyCluster(target, objects, undefined);
    broker = await portForward(target);
  }
  const topology = objects.filter((o) => o.kind !== 'RabbitmqCluster');
  kubectl(target, ['apply', '-f', '-'], topology.map((o) => stringify(o)).join('---\n'));

  step('waiting until every topology object is Ready');
  const rows = await waitTopologyReady(target);
  process.stdout.write(`${readyTable(rows)}\n`);
  if (target.local && !target.node) {
    process.stdout.write(
      `\nRabbitmqCluster ${clusterName}: no kubelet runs locally, so its pods are created but never start; ` +
        'its children and conditions are real:\n',
    );
    process.stdout.write(clusterChildren(target));
  }

  step('proof from the broker');
  for (const line of await brokerProof(target, broker)) process.stdout.write(`${line}\n`);

  step(
    target.node
      ? `done: the order went through the sample cluster's own brokers on the test node`
      : target.local
        ? 'done: the order went through the stand-in broker'
        : 'done',
  );
  const envHint = target.local
    ? '. .testenv/env && '
    : `kubectl config use-context ${flags.context ?? ''} && `;
  process.stdout.write(
    [
      'Everything keeps running in the background.',
      `  ${envHint}kubectl get warren -n ${namespace}`,
      `  tail -f .testenv/operator.log      # the operator's JSON log`,
      `  npm run testenv -- down            # stop the control plane, the broker and the operator`,
      '',
    ].join('\n'),
  );
}

try {
  await main();
} catch (err) {
  if (err instanceof DemoError) {
    process.stderr.write(`\ndemo failed: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
