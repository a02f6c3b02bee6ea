// `npm run bench -- topology --objects N`: how fast the operator converges N topology objects, how many
// management requests it spends, how many writes a full resync of the unchanged set makes (the answer
// should be zero), how much memory the operator holds, and the broker's own limit for comparison: plain
// PUTs of the same objects straight to the management API with 8 requests in flight.
//
// The environment is the running `npm run testenv -- up` one when its env file exists (or KUBECONFIG and
// RABBITMQ_* are set), else a control plane and a broker started here and stopped at the end. The
// operator is built (`dist/`) and runs as a child process with the command of `npm start`, exactly as it
// runs in the image, in a memory cgroup of the chart's limit where the machine allows one (see
// memory-limit.ts); its request counts and heap come from its /metrics endpoint, its memory from /proc.
//
// The API server has a limit of its own, and on a small machine it is the tighter one: every object costs
// it the create, the finalizer patch, the status patch and the Created Event. The same four writes on
// scratch objects, without the operator, give `apiServerFloorSeconds`: the least time any operator needs.
// With `--finalizer-by policy` (the default, as the chart installs it) the finalizer policy of
// src/admission.ts is bound to the run's namespaces: the create carries the finalizer and the floor is three
// writes; `--finalizer-by operator` measures a cluster without the policy, where the operator patches it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { admissionResources, finalizerPolicyManifests } from '../../src/admission.ts';
import { resourceFor, type KindName } from '../../src/api/kinds.ts';
import { fetchSnapshot } from '../../src/rabbitmq/snapshot/index.ts';
import { ManagementClient } from '../../src/rabbitmq/management/client.ts';
import { managementRequestCounts, requestCountsSince } from '../../src/rabbitmq/metrics.ts';
import { ListWatchInformer } from '../../src/runtime/informer.ts';
import { accessFromKubeConfig } from '../../src/runtime/api-server.ts';
import { KubeClient } from '../../src/runtime/kube-client.ts';
import { createLogger } from '../../src/runtime/logger.ts';
import { coreResources, resourcePath, type KubeObject } from '../../src/runtime/resource.ts';
import { topologyFinalizer } from '../../src/topology/reconciler/index.ts';
import { startControlPlane, type ControlPlaneHandle } from '../env/control-plane.ts';
import { freePorts } from '../env/net.ts';
import { clusterCa } from '../env/shared.ts';
import { startRabbitmq, type RabbitmqHandle } from '../env/rabbitmq.ts';
import type { MountedServiceAccount } from '../env/service-account.ts';
import { chartMemoryLimit, memoryCgroup } from './memory-limit.ts';
import { podIdentity } from './pod-identity.ts';
import { brokerWrites, countByKind, topologyMix, type MixKind, type MixObject } from './topology-mix.ts';

export interface TopologyBenchOptions {
  objects: number;
  /** Requests in flight for the raw PUT measurement (the issue fixes it at 8). */
  rawConcurrency: number;
  /** Creates in flight against the API server. */
  createConcurrency: number;
  timeoutMs: number;
  /** Skip the operator part (measure the broker alone). */
  rawOnly: boolean;
  /** Extra environment for the operator process (`KEY=value`). */
  operatorEnv: Record<string, string>;
  /** Who adds the finalizer: the admission policy at create, or the operator with a patch. */
  finalizerBy: 'policy' | 'operator';
}

interface Environment {
  kubeconfigPath: string;
  broker: { url: string; username: string; password: string; amqpUrl: string };
  stop(): Promise<void>;
}

const repoRoot = join(import.meta.dirname, '..', '..');
const nodeBinary = join(repoRoot, 'node_modules', '.bin', 'node');

/** `npm start` without npm: the Node flags and entry point the image runs. */
function startCommand(): string[] {
  const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  const [node, ...args] = packageJson.scripts.start.split(' ');
  if (node !== 'node') throw new Error(`npm start does not run node: ${packageJson.scripts.start}`);
  return args.map((arg) => (arg.startsWith('dist/') ? join(repoRoot, arg) : arg));
}

function buildOperator(): void {
  log('building dist/ (npm run build)');
  execFileSync(
    nodeBinary,
    [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: repoRoot,
      stdio: 'inherit',
    },
  );
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Runs `tasks` with at most `limit` in flight; rejects on the first failure. */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

// ---- environment ---------------------------------------------------------------------------

function readEnvFile(path: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^(?:export\s+)?([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] === undefined || match[2] === undefined) continue;
    values[match[1]] = match[2].replace(/^'(.*)'$/, '$1').replaceAll(`'\\''`, `'`);
  }
  return values;
}

async function environment(): Promise<Environment> {
  const envFile = join(repoRoot, '.testenv', 'env');
  const values = existsSync(envFile) ? { ...readEnvFile(envFile), ...process.env } : { ...process.env };
  const { KUBECONFIG, RABBITMQ_MANAGEMENT_URL, RABBITMQ_USERNAME, RABBITMQ_PASSWORD, RABBITMQ_AMQP_URL } =
    values;
  if (KUBECONFIG && RABBITMQ_MANAGEMENT_URL && RABBITMQ_USERNAME && RABBITMQ_PASSWORD) {
    log(`using the running test environment (${KUBECONFIG})`);
    return {
      kubeconfigPath: KUBECONFIG,
      broker: {
        url: RABBITMQ_MANAGEMENT_URL,
        username: RABBITMQ_USERNAME,
        password: RABBITMQ_PASSWORD,
        amqpUrl: RABBITMQ_AMQP_URL ?? '',
      },
      stop: () => Promise.resolve(),
    };
  }
  log('starting a control plane and a broker for this run');
  // Both start at once; when one fails, the other is stopped before the error is passed on.
  const [cp, broker] = await Promise.allSettled([
    startControlPlane({ controllerManager: true }),
    startRabbitmq(),
  ]);
  if (cp.status === 'rejected' || broker.status === 'rejected') {
    if (cp.status === 'fulfilled') await cp.value.stop();
    if (broker.status === 'fulfilled') await broker.value.destroy();
    throw cp.status === 'rejected' ? cp.reason : (broker as PromiseRejectedResult).reason;
  }
  const started: { controlPlane: ControlPlaneHandle; rabbit: RabbitmqHandle } = {
    controlPlane: cp.value,
    rabbit: broker.value,
  };
  const { controlPlane, rabbit } = started;
  return {
    kubeconfigPath: controlPlane.kubeconfigPath,
    broker: {
      url: rabbit.managementUrl,
      username: rabbit.username,
      password: rabbit.password,
      amqpUrl: rabbit.amqpUrl,
    },
    stop: async () => {
      await started.controlPlane.stop();
      await started.rabbit.destroy();
    },
  };
}

// ---- the finalizer policy ----------------------------------------------------------------------

/**
 * Installs the finalizer policy bound to `namespaces` and resolves once the API server applies it (a dry-run
 * create comes back with the finalizer); returns what removes it again.
 */
async function installFinalizerPolicy(kube: KubeClient, namespaces: string[]): Promise<() => Promise<void>> {
  const name = `bench-finalizers-${randomBytes(3).toString('hex')}`;
  const [policy, binding] = finalizerPolicyManifests(name, {}, namespaces) as KubeObject[];
  await kube.create(admissionResources.policy, policy!);
  await kube.create(admissionResources.binding, binding!);
  const remove = async () => {
    await kube.delete(admissionResources.binding, { namespace: '', name }).catch(() => undefined);
    await kube.delete(admissionResources.policy, { namespace: '', name }).catch(() => undefined);
  };
  const queues = resourceFor('Queue');
  const deadline = Date.now() + 30_000;
  for (;;) {
    const probe = await kube.request<KubeObject>('POST', resourcePath(queues, namespaces[0]), {
      query: { dryRun: 'All' },
      body: {
        apiVersion: `${queues.group}/${queues.version}`,
        kind: queues.kind,
        metadata: { name: 'policy-probe', namespace: namespaces[0] },
        spec: { name: 'policy-probe', rabbitmqClusterReference: { connectionSecret: { name: 'none' } } },
      },
    });
    if (probe.metadata.finalizers?.includes(topologyFinalizer)) return remove;
    if (Date.now() > deadline) {
      await remove();
      throw new Error('the finalizer policy was not in force 30 s after it was created');
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// ---- the broker's own limit ------------------------------------------------------------------

interface RawResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  snapshotObjects: number;
  snapshotSeconds: number;
  snapshotHeapMiB: number;
}

/** Plain writes of the same mix (other names) straight to the management API, 8 in flight. */
async function measureRawPuts(
  client: ManagementClient,
  count: number,
  concurrency: number,
): Promise<RawResult> {
  const prefix = `raw${randomBytes(2).toString('hex')}`;
  const objects = topologyMix(count, prefix);
  const stages = brokerWrites(objects);
  const requests = stages.reduce((total, stage) => total + stage.length, 0);
  const started = performance.now();
  // Stages keep dependencies first (vhosts and users, then what lives in them, then bindings).
  for (const stage of stages) {
    await inParallel(stage, concurrency, async (write) => {
      await client.request(write.method, write.path, write.body);
    });
  }
  const seconds = (performance.now() - started) / 1000;
  log(`raw: ${requests} writes in ${seconds.toFixed(1)} s`);
  // The live side of every diff, at this size: one bulk read, and what it holds in memory.
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const snapshotStarted = performance.now();
  const snapshot = await fetchSnapshot(client);
  const snapshotSeconds = (performance.now() - snapshotStarted) / 1000;
  globalThis.gc?.();
  const snapshotHeapMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  log(
    `snapshot of ${snapshot.size} objects: ${snapshotSeconds.toFixed(2)} s, ~${snapshotHeapMiB.toFixed(1)} MiB heap; removing the raw objects`,
  );
  const vhosts = objects.filter((o) => o.kind === 'Vhost').map((o) => o.spec.name ?? o.name);
  const users = objects.filter((o) => o.kind === 'User').map((o) => o.name);
  await inParallel(vhosts, concurrency, async (vhost) => {
    await client.deleteVhost(vhost);
  });
  await inParallel(users, concurrency, async (user) => {
    await client.deleteUser(user);
  });
  return {
    requests,
    seconds,
    requestsPerSecond: requests / seconds,
    snapshotObjects: snapshot.size,
    snapshotSeconds,
    snapshotHeapMiB,
  };
}

// ---- the operator ----------------------------------------------------------------------------

interface Operator {
  /** Whether it runs in a memory cgroup of the chart's limit. */
  memoryLimited: boolean;
  process: ChildProcess;
  metricsUrl: string;
  logPath: string;
  stop(): Promise<void>;
}

async function startOperator(
  kubeconfigPath: string,
  namespace: string,
  extraEnv: Record<string, string>,
  run: 'converge' | 'resync',
  pod: MountedServiceAccount | undefined,
): Promise<Operator> {
  const [metricsPort] = await freePorts(1);
  const logPath = join(tmpdir(), `warren-bench-operator-${namespace}-${run}.log`);
  const out = createWriteStream(logPath);
  // In a memory cgroup of the chart's limit when the machine allows it, as in the pod; the shell moves
  // itself in, then becomes the operator (same PID).
  const cgroup = memoryCgroup(`warren-bench-${namespace}-${run}`, chartMemoryLimit(repoRoot));
  const [inCgroup, inCgroupArgs]: [string, string[]] = cgroup
    ? ['/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', cgroup.procs, nodeBinary, ...startCommand()]]
    : [nodeBinary, startCommand()];
  const [command, args] = pod ? pod.wrap(inCgroup, inCgroupArgs) : [inCgroup, inCgroupArgs];
  const { KUBECONFIG: _unused, ...inherited } = process.env;
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: {
      ...inherited,
      ...(pod ? pod.env : { KUBECONFIG: kubeconfigPath }),
      WATCH_NAMESPACES: namespace,
      LEADER_ELECT: 'false',
      METRICS_BIND_ADDRESS: `127.0.0.1:${metricsPort}`,
      HEALTH_PROBE_BIND_ADDRESS: '0',
      LOG_LEVEL: 'warn',
      POD_NAMESPACE: namespace,
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => cgroup?.remove());
  return {
    memoryLimited: cgroup !== undefined,
    process: child,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    logPath,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 35_000);
        await exited;
        clearTimeout(timer);
      }
      out.end();
    },
  };
}

/** Sums of Prometheus samples of one metric by one label (other labels summed over). */
async function scrape(metricsUrl: string, metric: string, label: string): Promise<Record<string, number>> {
  const response = await fetch(metricsUrl);
  const text = await response.text();
  const sums: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    const labelValue = new RegExp(`${label}="([^"]*)"`).exec(line)?.[1] ?? '';
    sums[labelValue] = (sums[labelValue] ?? 0) + value;
  }
  return sums;
}

async function scrapeWhenUp(
  operator: Operator,
  metric: string,
  label: string,
): Promise<Record<string, number>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await scrape(operator.metricsUrl, metric, label);
    } catch (error) {
      if (attempt > 100 || operator.process.exitCode !== null) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** Resident memory of a process in MiB: now and at its peak (VmHWM). */
function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

/** The operator's V8 heap in MiB (prom-client's process metrics). */
async function heapMiB(operator: Operator): Promise<{ used: number; total: number }> {
  const used = await scrape(operator.metricsUrl, 'nodejs_heap_size_used_bytes', '');
  const total = await scrape(operator.metricsUrl, 'nodejs_heap_size_total_bytes', '');
  return { used: (used[''] ?? 0) / 2 ** 20, total: (total[''] ?? 0) / 2 ** 20 };
}

// ---- the API server's own limit ----------------------------------------------------------------

interface ApiServerResult {
  objects: number;
  /** Writes per second of each kind the operator makes per object. */
  /** Writes per second of each kind; no finalizer patch where the admission policy adds it. */
  perSecond: { create: number; finalizer?: number; status: number; event: number };
  /** Seconds the API server needs for the four writes of `total` objects. */
  floorSeconds: (total: number) => number;
}

/**
 * Creates `count` scratch Queues in a namespace no operator watches, then makes the operator's writes on
 * each: a guarded JSON patch of the metadata, a status merge patch and an Event, `concurrency` in flight.
 */
async function measureApiServer(
  kube: KubeClient,
  count: number,
  concurrency: number,
  finalizerBy: TopologyBenchOptions['finalizerBy'],
): Promise<ApiServerResult> {
  const namespace = `bench-apiserver-${randomBytes(3).toString('hex')}`;
  await kube.create(coreResources.namespace, { metadata: { name: namespace } });
  const removePolicy = finalizerBy === 'policy' ? await installFinalizerPolicy(kube, [namespace]) : undefined;
  const queues = resourceFor('Queue');
  const names = Array.from({ length: count }, (_, i) => `q${String(i)}`);
  const rate = async (task: (name: string) => Promise<unknown>) => {
    const started = performance.now();
    await inParallel(names, concurrency, async (name) => {
      await task(name);
    });
    return count / ((performance.now() - started) / 1000);
  };
  const now = () => new Date().toISOString();
  try {
    const create = await rate((name) =>
      kube.create(queues, {
        metadata: { name, namespace },
        spec: { name, rabbitmqClusterReference: { connectionSecret: { name: 'none' } } },
      }),
    );
    // With the policy the create carried the finalizer, and there is no patch to measure.
    const finalizer = removePolicy
      ? undefined
      : await rate((name) =>
          kube.jsonPatch(queues, { namespace, name }, [
            { op: 'test', path: '/metadata/generation', value: 1 },
            { op: 'add', path: '/metadata/annotations', value: { 'bench.warren.dev/probe': 'true' } },
          ]),
        );
    const status = await rate((name) =>
      kube.mergePatch(
        queues,
        { namespace, name },
        {
          status: {
            observedGeneration: 1,
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'Synchronized',
                message: `Queue "${name}" in vhost "/" matches the spec.`,
                lastTransitionTime: now().replace(/\.\d+Z$/, 'Z'),
                observedGeneration: 1,
              },
            ],
          },
        },
        'status',
      ),
    );
    const event = await rate((name) =>
      kube.create(coreResources.event, {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name: `${name}.${randomBytes(8).toString('hex')}`, namespace },
        eventTime: now().replace('Z', '000Z'),
        reportingController: 'warren.dev/operator',
        reportingInstance: 'bench',
        action: 'Reconcile',
        reason: 'Created',
        note: `Created queue "${name}" in vhost "/".`,
        type: 'Normal',
        regarding: { apiVersion: 'warren.dev/v1alpha1', kind: 'Queue', name, namespace },
      }),
    );
    const perSecond: ApiServerResult['perSecond'] =
      finalizer === undefined ? { create, status, event } : { create, finalizer, status, event };
    log(
      `API server: ${JSON.stringify(Object.fromEntries(Object.entries(perSecond).map(([k, v]) => [k, round(v)])))} writes/s`,
    );
    return {
      objects: count,
      perSecond,
      floorSeconds: (total) =>
        total * (1 / create + (finalizer === undefined ? 0 : 1 / finalizer) + 1 / status + 1 / event),
    };
  } finally {
    if (removePolicy) {
      await removePolicy();
      // Nobody reconciles the scratch objects, so their policy-given finalizers are taken off here.
      await inParallel(names, concurrency, async (name) => {
        await kube
          .jsonPatch(queues, { namespace, name }, [{ op: 'remove', path: '/metadata/finalizers' }])
          .catch(() => undefined);
      });
    }
    // The namespace controller removes the scratch objects in the background.
    await kube.delete(coreResources.namespace, { namespace: '', name: namespace }).catch(() => undefined);
  }
}

// ---- custom resources ------------------------------------------------------------------------

const kindNames: readonly MixKind[] = [
  'Vhost',
  'User',
  'Permission',
  'Exchange',
  'Queue',
  'Binding',
  'Policy',
];

function manifest(object: MixObject, namespace: string, secret: string): KubeObject {
  return {
    metadata: { name: object.name, namespace },
    spec: { ...object.spec, rabbitmqClusterReference: { connectionSecret: { name: secret } } },
  };
}

function isReady(object: KubeObject): boolean {
  const status = (
    object as { status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] } }
  ).status;
  const ready = status?.conditions?.find((condition) => condition.type === 'Ready');
  return ready?.status === 'True' && (status?.observedGeneration ?? 0) >= (object.metadata.generation ?? 1);
}

/**
 * Ready objects by kind, kept current by one watch per kind: polling lists of thousands of objects would
 * cost the API server more than the operator's own writes.
 */
async function watchReady(kube: KubeClient, namespace: string) {
  const ready = new Map<string, Set<string>>(kindNames.map((kind) => [kind, new Set<string>()]));
  let changed: (() => void) | undefined;
  const informers = kindNames.map((kind) => {
    const informer = new ListWatchInformer<KubeObject>({
      client: kube,
      resource: resourceFor(kind as KindName),
      namespace,
      logger: createLogger({ level: 'silent' }),
    });
    const set = ready.get(kind)!;
    const seen = (obj: KubeObject) => {
      if (isReady(obj)) set.add(obj.metadata.name ?? '');
      else set.delete(obj.metadata.name ?? '');
      changed?.();
    };
    informer.addHandler({ add: seen, update: (_old, obj) => seen(obj) });
    informer.start();
    return informer;
  });
  await Promise.all(informers.map((informer) => informer.waitForSync()));
  const count = () => {
    const byKind = Object.fromEntries([...ready].map(([kind, set]) => [kind, set.size]));
    return { ready: Object.values(byKind).reduce((a, b) => a + b, 0), byKind };
  };
  return {
    count,
    /** Resolves when the count may have changed. */
    changed: () => new Promise<void>((resolve) => (changed = resolve)),
    stop: () => Promise.all(informers.map((informer) => informer.stop())),
  };
}

async function waitAllReady(
  watch: Awaited<ReturnType<typeof watchReady>>,
  total: number,
  deadline: number,
  operator: Operator,
) {
  let lastLog = 0;
  let last = -1;
  for (;;) {
    const { ready, byKind } = watch.count();
    if (ready >= total) {
      log(`ready ${ready}/${total} ${JSON.stringify(byKind)}`);
      return;
    }
    if (ready !== last && Date.now() - lastLog >= 1_000) {
      log(`ready ${ready}/${total} ${JSON.stringify(byKind)}`);
      lastLog = Date.now();
      last = ready;
    }
    if (operator.process.exitCode !== null)
      throw new Error(`the operator exited (${operator.process.exitCode}); log: ${operator.logPath}`);
    if (Date.now() > deadline)
      throw new Error(`only ${ready} of ${total} objects became Ready in time; log: ${operator.logPath}`);
    await Promise.race([watch.changed(), new Promise((resolve) => setTimeout(resolve, 1_000))]);
  }
}

/** Waits until the operator has reconciled at least `count` times since `before` and its queues are empty. */
async function waitReconciled(operator: Operator, count: number, deadline: number): Promise<void> {
  for (;;) {
    const reconciles = await scrapeWhenUp(operator, 'controller_runtime_reconcile_total', 'controller');
    const depth = await scrapeWhenUp(operator, 'workqueue_depth', 'name');
    const total = Object.values(reconciles).reduce((a, b) => a + b, 0);
    const queued = Object.values(depth).reduce((a, b) => a + b, 0);
    if (total >= count && queued === 0) return;
    if (Date.now() > deadline) throw new Error(`the resync reconciled ${total} of ${count} objects in time`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const writeMethods = ['PUT', 'POST', 'DELETE'];

function byMethod(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(counts)
      .filter(([, n]) => n > 0)
      .sort(),
  );
}

// ---- the run ---------------------------------------------------------------------------------

export async function runTopologyBenchmark(options: TopologyBenchOptions): Promise<Record<string, unknown>> {
  const env = await environment();
  const client = new ManagementClient(env.broker, { concurrency: options.rawConcurrency });
  const objects = topologyMix(options.objects, `b${randomBytes(2).toString('hex')}`);
  log(`mix: ${JSON.stringify(countByKind(objects))}`);
  const result: Record<string, unknown> = { objects: objects.length, mix: countByKind(objects) };
  let operator: Operator | undefined;
  let pod: MountedServiceAccount | undefined;
  let removePolicy: (() => Promise<void>) | undefined;
  try {
    const before = managementRequestCounts();
    const raw = await measureRawPuts(client, options.objects, options.rawConcurrency);
    result.rawWrites = raw.requests;
    result.rawSeconds = round(raw.seconds);
    result.rawPutsPerSecond = round(raw.requestsPerSecond);
    result.rawManagementRequests = byMethod(requestCountsSince(before));
    result.snapshotObjects = raw.snapshotObjects;
    result.snapshotSeconds = round(raw.snapshotSeconds);
    result.snapshotHeapMiB = round(raw.snapshotHeapMiB);
    if (options.rawOnly) return result;

    buildOperator();
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(env.kubeconfigPath);
    const kube = new KubeClient(accessFromKubeConfig(kubeConfig));

    const namespace = `bench-${randomBytes(3).toString('hex')}`;
    await kube.create(coreResources.namespace, { metadata: { name: namespace } });
    result.finalizerBy = options.finalizerBy;
    if (options.finalizerBy === 'policy') removePolicy = await installFinalizerPolicy(kube, [namespace]);
    const secret = 'broker';
    await kube.create(coreResources.secret, {
      metadata: { name: secret, namespace, labels: { 'rabbitmq.com/topology-operator': 'true' } },
      stringData: { uri: env.broker.url, username: env.broker.username, password: env.broker.password },
    });

    pod = await podIdentity(kube, namespace, clusterCa(kubeConfig));
    result.operatorCredentials = pod ? 'service account, as in a pod' : 'kubeconfig';
    const watch = await watchReady(kube, namespace);
    operator = await startOperator(env.kubeconfigPath, namespace, options.operatorEnv, 'converge', pod);
    await scrapeWhenUp(operator, 'warren_management_requests_total', 'method');
    const deadline = Date.now() + options.timeoutMs;
    const started = performance.now();
    const createStarted = performance.now();
    await inParallel(objects, options.createConcurrency, async (object) => {
      await kube.create(resourceFor(object.kind as KindName), manifest(object, namespace, secret));
    });
    result.createSeconds = round((performance.now() - createStarted) / 1000);
    log(`created ${objects.length} resources in ${String(result.createSeconds)} s`);
    await waitAllReady(watch, objects.length, deadline, operator);
    const seconds = (performance.now() - started) / 1000;
    await watch.stop();
    result.seconds = round(seconds);
    result.objectsPerSecond = round(objects.length / seconds);
    result.managementRequests = byMethod(
      await scrape(operator.metricsUrl, 'warren_management_requests_total', 'method'),
    );
    result.apiServerRequests = byMethod(
      await scrape(operator.metricsUrl, 'rest_client_requests_total', 'method'),
    );
    result.reconciles = await scrape(operator.metricsUrl, 'controller_runtime_reconcile_total', 'result');
    result.events = await scrape(operator.metricsUrl, 'warren_events_total', 'result');
    const memory = memoryMiB(operator.process.pid!);
    result.operatorMemoryLimitMiB = operator.memoryLimited ? chartMemoryLimit(repoRoot) / 2 ** 20 : null;
    result.operatorRssMiB = round(memory.rss);
    result.operatorPeakRssMiB = round(memory.peak);
    const heap = await heapMiB(operator);
    result.operatorHeapUsedMiB = round(heap.used);
    result.operatorHeapTotalMiB = round(heap.total);

    // A full resync of the unchanged set: a new operator process reconciles every object from scratch.
    log('restarting the operator for a full resync of the unchanged set');
    await operator.stop();
    operator = await startOperator(env.kubeconfigPath, namespace, options.operatorEnv, 'resync', pod);
    const resyncStarted = performance.now();
    await waitReconciled(operator, objects.length, Date.now() + options.timeoutMs);
    result.resyncSeconds = round((performance.now() - resyncStarted) / 1000);
    const resyncRequests = byMethod(
      await scrape(operator.metricsUrl, 'warren_management_requests_total', 'method'),
    );
    result.resyncManagementRequests = resyncRequests;
    result.resyncWriteRequests = writeMethods.reduce(
      (total, method) => total + (resyncRequests[method] ?? 0),
      0,
    );
    const resyncMemory = memoryMiB(operator.process.pid!);
    result.resyncOperatorPeakRssMiB = round(resyncMemory.peak);
    result.operatorRssMiB = round(Math.max(memory.rss, resyncMemory.rss));
    result.operatorToRawRatio = round(objects.length / seconds / raw.requestsPerSecond);
    await operator.stop();
    operator = undefined;

    // Last, so that its scratch objects, deleted in the background, cannot slow the operator's run.
    await removePolicy?.();
    removePolicy = undefined;
    const apiServer = await measureApiServer(
      kube,
      Math.min(objects.length, 2000),
      options.createConcurrency,
      options.finalizerBy,
    );
    result.apiServerWritesPerSecond = Object.fromEntries(
      Object.entries(apiServer.perSecond).map(([write, perSecond]) => [write, round(perSecond)]),
    );
    result.apiServerFloorSeconds = round(apiServer.floorSeconds(objects.length));
    result.operatorToApiServerFloorRatio = round(apiServer.floorSeconds(objects.length) / seconds);
    return result;
  } finally {
    await removePolicy?.();
    await operator?.stop();
    pod?.remove();
    await client.close();
    await env.stop();
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
