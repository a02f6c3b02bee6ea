// What the benchmarks share: the environment they run on, the operator processes they measure (Warren built
// and run with the command of `npm start`, or any other operator binary) inside a memory cgroup of the chart's
// limit, the figures read from those processes (/metrics, /proc), the API server's own limit, and the watch
// that tells when every object of a run is Ready or gone.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { admissionResources, finalizerPolicyManifests } from '../../src/admission.ts';
import { resourceFor } from '../../src/api/kinds.ts';
import { ListWatchInformer } from '../../src/runtime/informer.ts';
import type { KubeClient } from '../../src/runtime/kube-client.ts';
import { createLogger } from '../../src/runtime/logger.ts';
import {
  coreResources,
  resourcePath,
  type KubeObject,
  type ResourceRef,
} from '../../src/runtime/resource.ts';
import { topologyFinalizer } from '../../src/topology/reconciler/index.ts';
import { startControlPlane, type ControlPlaneHandle } from '../env/control-plane.ts';
import { freePorts } from '../env/net.ts';
import { startRabbitmq, type RabbitmqHandle } from '../env/rabbitmq.ts';
import type { MountedServiceAccount } from '../env/service-account.ts';
import { chartMemoryLimit, memoryCgroup } from './memory-limit.ts';
import type { MixKind, MixObject } from './topology-mix.ts';

export interface Environment {
  kubeconfigPath: string;
  broker: { url: string; username: string; password: string; amqpUrl: string };
  stop(): Promise<void>;
}

export const repoRoot = join(import.meta.dirname, '..', '..');
export const nodeBinary = join(repoRoot, 'node_modules', '.bin', 'node');

/** `npm start` without npm: the Node flags and entry point the image runs. */
export function startCommand(): string[] {
  const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  const [node, ...args] = packageJson.scripts.start.split(' ');
  if (node !== 'node') throw new Error(`npm start does not run node: ${packageJson.scripts.start}`);
  return args.map((arg) => (arg.startsWith('dist/') ? join(repoRoot, arg) : arg));
}

export function buildOperator(): void {
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

export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Runs `tasks` with at most `limit` in flight; rejects on the first failure. */
export async function inParallel<T>(
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

export async function environment(): Promise<Environment> {
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
export async function installFinalizerPolicy(
  kube: KubeClient,
  namespaces: string[],
): Promise<() => Promise<void>> {
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

// ---- operator processes --------------------------------------------------------------------------

export interface Operator {
  /** Whether it runs in a memory cgroup of the chart's limit. */
  memoryLimited: boolean;
  process: ChildProcess;
  /** The operator's own PID: the cgroup shell and the mount wrapper exec into it. */
  pid: number;
  metricsUrl: string;
  logPath: string;
  stop(): Promise<void>;
}

export interface OperatorProcessOptions {
  /** Names the log file and the cgroup. */
  name: string;
  command: string;
  args: readonly string[];
  env: Record<string, string>;
  metricsPort: number;
  /** A pod's service account; without it the process gets what `env` gives it. */
  pod?: MountedServiceAccount | undefined;
}

/**
 * Starts an operator process in a memory cgroup of the chart's limit when the machine allows it, as in the
 * pod: the shell moves itself in, then becomes the operator (same PID). Its output goes to a log file.
 */
export function startOperatorProcess(options: OperatorProcessOptions): Operator {
  const logPath = join(tmpdir(), `warren-bench-${options.name}.log`);
  const out = createWriteStream(logPath);
  const cgroup = memoryCgroup(`warren-bench-${options.name}`, chartMemoryLimit(repoRoot));
  const [inCgroup, inCgroupArgs]: [string, string[]] = cgroup
    ? ['/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', cgroup.procs, options.command, ...options.args]]
    : [options.command, [...options.args]];
  const [command, args] = options.pod ? options.pod.wrap(inCgroup, inCgroupArgs) : [inCgroup, inCgroupArgs];
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: { ...options.env, ...options.pod?.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => cgroup?.remove());
  return {
    memoryLimited: cgroup !== undefined,
    process: child,
    pid: child.pid!,
    metricsUrl: `http://127.0.0.1:${options.metricsPort}/metrics`,
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

/** The environment of the bench process, without a kubeconfig of its own choosing. */
export function inheritedEnv(): Record<string, string> {
  const { KUBECONFIG: _unused, ...inherited } = process.env;
  return Object.fromEntries(
    Object.entries(inherited).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

export interface WarrenOptions {
  kubeconfigPath: string;
  namespace: string;
  /** Names the run's log file and cgroup (`converge`, `resync`). */
  run: string;
  pod: MountedServiceAccount | undefined;
  extraEnv?: Record<string, string>;
  /** Port of the health probes (`/readyz`); none when undefined. */
  healthPort?: number;
}

/** Warren, built, with the command of `npm start`, watching `namespace`. */
export async function startWarren(options: WarrenOptions): Promise<Operator> {
  const [metricsPort] = await freePorts(1);
  return startOperatorProcess({
    name: `warren-${options.namespace}-${options.run}`,
    command: nodeBinary,
    args: startCommand(),
    metricsPort: metricsPort!,
    pod: options.pod,
    env: {
      ...inheritedEnv(),
      ...(options.pod ? {} : { KUBECONFIG: options.kubeconfigPath }),
      WATCH_NAMESPACES: options.namespace,
      LEADER_ELECT: 'false',
      METRICS_BIND_ADDRESS: `127.0.0.1:${String(metricsPort)}`,
      HEALTH_PROBE_BIND_ADDRESS:
        options.healthPort === undefined ? '0' : `127.0.0.1:${String(options.healthPort)}`,
      LOG_LEVEL: 'warn',
      POD_NAMESPACE: options.namespace,
      ...options.extraEnv,
    },
  });
}

/** Sums of Prometheus samples of one metric by one label (other labels summed over). */
export async function scrape(
  metricsUrl: string,
  metric: string,
  label: string,
): Promise<Record<string, number>> {
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

export async function scrapeWhenUp(
  operator: Operator,
  metric: string,
  label: string,
): Promise<Record<string, number>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await scrape(operator.metricsUrl, metric, label);
    } catch (error) {
      if (operator.process.exitCode !== null)
        throw new Error(
          `the operator exited (${String(operator.process.exitCode)}); log: ${operator.logPath}`,
          { cause: error },
        );
      if (attempt > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** CPU time (user and system) a process has used, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
  // The fields after the command name (which may hold spaces), from field 3 on: utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
}

// Linux reports /proc times in USER_HZ, 100 on every architecture Node runs on.
const clockTicksPerSecond = 100;

/** Resident memory of a process in MiB: now and at its peak (VmHWM). */
export function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

/** The operator's V8 heap in MiB (prom-client's process metrics). */
export async function heapMiB(operator: Operator): Promise<{ used: number; total: number }> {
  const used = await scrape(operator.metricsUrl, 'nodejs_heap_size_used_bytes', '');
  const total = await scrape(operator.metricsUrl, 'nodejs_heap_size_total_bytes', '');
  return { used: (used[''] ?? 0) / 2 ** 20, total: (total[''] ?? 0) / 2 ** 20 };
}

// ---- the API server's own limit ----------------------------------------------------------------

export interface ApiServerResult {
  objects: number;
  /** Writes per second of each kind; no finalizer patch where the admission policy adds it. */
  perSecond: { create: number; finalizer?: number; status: number; event: number };
  /** Seconds the API server needs for the four writes of `total` objects. */
  floorSeconds: (total: number) => number;
}

/**
 * Creates `count` scratch Queues in a namespace no operator watches, then makes the operator's writes on
 * each: a guarded JSON patch of the metadata, a status merge patch and an Event, `concurrency` in flight.
 */
export async function measureApiServer(
  kube: KubeClient,
  count: number,
  concurrency: number,
  finalizerBy: 'policy' | 'operator',
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

export const mixKinds: readonly MixKind[] = [
  'Vhost',
  'User',
  'Permission',
  'Exchange',
  'Queue',
  'Binding',
  'Policy',
];

/** Warren's resource of each kind of the mix. */
export const warrenResources: Record<MixKind, ResourceRef> = {
  Vhost: resourceFor('Vhost'),
  User: resourceFor('User'),
  Permission: resourceFor('Permission'),
  Exchange: resourceFor('Exchange'),
  Queue: resourceFor('Queue'),
  Binding: resourceFor('Binding'),
  Policy: resourceFor('Policy'),
};

/** A mix object as a Warren custom resource. */
export function warrenManifest(object: MixObject, namespace: string, secret: string): KubeObject {
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

export type ObjectWatch = Awaited<ReturnType<typeof watchObjects>>;

/**
 * Ready and present objects by kind, kept current by one watch per kind: polling lists of thousands of
 * objects would cost the API server more than the operator's own writes.
 */
export async function watchObjects(
  kube: KubeClient,
  namespace: string,
  resources: Record<MixKind, ResourceRef> = warrenResources,
) {
  const ready = new Map<string, Set<string>>(mixKinds.map((kind) => [kind, new Set<string>()]));
  const present = new Map<string, Set<string>>(mixKinds.map((kind) => [kind, new Set<string>()]));
  let changed: (() => void) | undefined;
  // When each object was first seen Ready (performance.now()), and who waits for which.
  const readyAt = new Map<string, number>();
  const waiters = new Map<string, (at: number) => void>();
  const informers = mixKinds.map((kind) => {
    const informer = new ListWatchInformer<KubeObject>({
      client: kube,
      resource: resources[kind],
      namespace,
      logger: createLogger({ level: 'silent' }),
    });
    const readySet = ready.get(kind)!;
    const presentSet = present.get(kind)!;
    const seen = (obj: KubeObject) => {
      const name = obj.metadata.name ?? '';
      presentSet.add(name);
      if (isReady(obj)) {
        readySet.add(name);
        const key = `${kind}/${name}`;
        if (!readyAt.has(key)) {
          const at = performance.now();
          readyAt.set(key, at);
          waiters.get(key)?.(at);
          waiters.delete(key);
        }
      } else readySet.delete(name);
      changed?.();
    };
    const gone = (obj: KubeObject) => {
      const name = obj.metadata.name ?? '';
      presentSet.delete(name);
      readySet.delete(name);
      readyAt.delete(`${kind}/${name}`);
      changed?.();
    };
    informer.addHandler({ add: seen, update: (_old, obj) => seen(obj), delete: gone });
    informer.start();
    return informer;
  });
  await Promise.all(informers.map((informer) => informer.waitForSync()));
  const sum = (sets: Map<string, Set<string>>) => [...sets.values()].reduce((a, set) => a + set.size, 0);
  const count = () => {
    const byKind = Object.fromEntries([...ready].map(([kind, set]) => [kind, set.size]));
    return { ready: sum(ready), present: sum(present), byKind };
  };
  return {
    count,
    /** Resolves with the time (performance.now()) the watch first saw the object Ready. */
    whenReady: (kind: MixKind, name: string) =>
      new Promise<number>((resolve) => {
        const key = `${kind}/${name}`;
        const at = readyAt.get(key);
        if (at === undefined) waiters.set(key, resolve);
        else resolve(at);
      }),
    /** Resolves when the count may have changed. */
    changed: () => new Promise<void>((resolve) => (changed = resolve)),
    stop: () => Promise.all(informers.map((informer) => informer.stop())),
  };
}

/** Resolves when `done` holds of the watch's count; checks the operator and the deadline on the way. */
async function waitForCount(
  watch: ObjectWatch,
  done: (count: ReturnType<ObjectWatch['count']>) => boolean,
  progress: (count: ReturnType<ObjectWatch['count']>) => string,
  deadline: number,
  operator: Operator,
): Promise<void> {
  let lastLog = 0;
  let last = '';
  for (;;) {
    const count = watch.count();
    if (done(count)) {
      log(progress(count));
      return;
    }
    const line = progress(count);
    if (line !== last && Date.now() - lastLog >= 1_000) {
      log(line);
      lastLog = Date.now();
      last = line;
    }
    if (operator.process.exitCode !== null)
      throw new Error(`the operator exited (${String(operator.process.exitCode)}); log: ${operator.logPath}`);
    if (Date.now() > deadline) throw new Error(`timed out at "${line}"; log: ${operator.logPath}`);
    await Promise.race([watch.changed(), new Promise((resolve) => setTimeout(resolve, 1_000))]);
  }
}

export function waitAllReady(watch: ObjectWatch, total: number, deadline: number, operator: Operator) {
  return waitForCount(
    watch,
    ({ ready }) => ready >= total,
    ({ ready, byKind }) => `ready ${String(ready)}/${String(total)} ${JSON.stringify(byKind)}`,
    deadline,
    operator,
  );
}

export function waitAllGone(watch: ObjectWatch, deadline: number, operator: Operator) {
  return waitForCount(
    watch,
    ({ present }) => present === 0,
    ({ present }) => `${String(present)} objects left`,
    deadline,
    operator,
  );
}

/** Waits until the operator has reconciled at least `count` times since `before` and its queues are empty. */
export async function waitReconciled(operator: Operator, count: number, deadline: number): Promise<void> {
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

export const writeMethods = ['PUT', 'POST', 'DELETE'];

export function byMethod(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(counts)
      .filter(([, n]) => n > 0)
      .sort(),
  );
}

export function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** The chart's memory limit in MiB, the one every operator process of a benchmark runs in. */
export function chartMemoryLimitMiB(): number {
  return chartMemoryLimit(repoRoot) / 2 ** 20;
}
