// `npm run bench -- latency`: how long one object waits, and how long the operator takes to start.
//
// - Apply → Ready: the first N objects of the mix (default 200), created one at a time on an idle operator, each
//   timed from the create request to the watch event that shows it Ready (observedGeneration current); p50, p99
//   and the slowest. The watch's own delay is part of the figure, as it is of `kubectl wait`.
// - Start → ready: the operator process spawned with nothing to cache (an empty namespace) until its /readyz
//   answers 200, which Warren gives once every informer has synced; several starts, each a new process.
//
// The operator runs as in the other benchmarks: built, with the command of `npm start`, in the chart's memory
// cgroup, with the finalizer policy and (as root) a pod's service account.
import { randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { accessFromKubeConfig } from '../../src/runtime/api-server.ts';
import { KubeClient } from '../../src/runtime/kube-client.ts';
import { coreResources } from '../../src/runtime/resource.ts';
import { freePorts } from '../env/net.ts';
import { clusterCa } from '../env/shared.ts';
import type { MountedServiceAccount } from '../env/service-account.ts';
import {
  buildOperator,
  environment,
  inParallel,
  installFinalizerPolicy,
  log,
  round,
  startWarren,
  waitAllGone,
  warrenManifest,
  warrenResources,
  watchObjects,
  type Operator,
} from './harness.ts';
import { podIdentity } from './pod-identity.ts';
import { countByKind, topologyMix } from './topology-mix.ts';

export interface LatencyOptions {
  /** Objects created one at a time. */
  objects: number;
  /** Process starts timed. */
  starts: number;
  timeoutMs: number;
}

/** The nearest-rank percentile `p` (0–100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function summary(milliseconds: readonly number[]) {
  return {
    count: milliseconds.length,
    p50: round(percentile(milliseconds, 50)),
    p99: round(percentile(milliseconds, 99)),
    max: round(Math.max(...milliseconds)),
  };
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once GET /readyz answers 200; polls every 10 ms. */
async function waitReadyz(operator: Operator, healthPort: number, deadline: number): Promise<void> {
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${String(healthPort)}/readyz`);
      await response.text();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (operator.process.exitCode !== null)
      throw new Error(`the operator exited (${String(operator.process.exitCode)}); log: ${operator.logPath}`);
    if (Date.now() > deadline)
      throw new Error(`the operator was not ready in time; log: ${operator.logPath}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function runLatencyBenchmark(options: LatencyOptions): Promise<Record<string, unknown>> {
  const env = await environment();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(env.kubeconfigPath);
  const kube = new KubeClient(accessFromKubeConfig(kubeConfig));
  const namespace = `latency-${randomBytes(3).toString('hex')}`;
  let operator: Operator | undefined;
  let removePolicy: (() => Promise<void>) | undefined;
  let pod: MountedServiceAccount | undefined;
  try {
    buildOperator();
    await kube.create(coreResources.namespace, { metadata: { name: namespace } });
    removePolicy = await installFinalizerPolicy(kube, [namespace]);
    const secret = 'broker';
    await kube.create(coreResources.secret, {
      metadata: { name: secret, namespace },
      stringData: { uri: env.broker.url, username: env.broker.username, password: env.broker.password },
    });
    pod = await podIdentity(kube, namespace, clusterCa(kubeConfig));
    const start = async (run: string) => {
      const [healthPort] = await freePorts(1);
      const spawned = performance.now();
      const started = await startWarren({
        kubeconfigPath: env.kubeconfigPath,
        namespace,
        run,
        pod,
        healthPort: healthPort!,
      });
      await waitReadyz(started, healthPort!, Date.now() + options.timeoutMs);
      return { operator: started, milliseconds: performance.now() - spawned };
    };

    // Start → ready with nothing cached: a new process each time.
    const startMs: number[] = [];
    for (let run = 0; run < options.starts; run++) {
      const { operator: started, milliseconds } = await start(`start${String(run)}`);
      startMs.push(milliseconds);
      log(`start → ready: ${milliseconds.toFixed(0)} ms`);
      await started.stop();
    }

    // Apply → Ready, one object at a time on an idle operator.
    const objects = topologyMix(options.objects, `l${randomBytes(2).toString('hex')}`);
    const watch = await watchObjects(kube, namespace);
    try {
      ({ operator } = await start('apply'));
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const applyMs: number[] = [];
      for (const object of objects) {
        const created = performance.now();
        await kube.create(warrenResources[object.kind], warrenManifest(object, namespace, secret));
        const ready = await withTimeout(
          watch.whenReady(object.kind, object.name),
          options.timeoutMs,
          `${object.kind} ${object.name} not Ready in time; log: ${operator.logPath}`,
        );
        applyMs.push(ready - created);
      }
      const apply = summary(applyMs);
      log(
        `apply → Ready over ${String(apply.count)} objects: p50 ${String(apply.p50)} ms, p99 ${String(apply.p99)} ms`,
      );
      await inParallel([...objects].reverse(), 8, async (object) => {
        await kube.delete(warrenResources[object.kind], { namespace, name: object.name });
      });
      await waitAllGone(watch, Date.now() + options.timeoutMs, operator);
      return {
        objects: objects.length,
        mix: countByKind(objects),
        applyToReadyMs: apply,
        startToReadyMs: { ...summary(startMs), runs: startMs.map(round) },
      };
    } finally {
      await watch.stop();
    }
  } finally {
    await operator?.stop();
    await removePolicy?.();
    pod?.remove();
    await kube.delete(coreResources.namespace, { namespace: '', name: namespace }).catch(() => undefined);
    await kube.close();
    await env.stop();
  }
}
