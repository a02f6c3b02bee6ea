import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Controller, TerminalError } from './controller.ts';
import type { ControllerDefinition, ReconcileResult } from './controller.ts';
import type { EventHandler, Informer } from './informer.ts';
import { ApiError } from './kube-client.ts';
import { createLogger } from './logger.ts';
import { RuntimeMetrics } from './metrics.ts';
import { coreResources } from './resource.ts';
import type { KubeObject, ObjectKey } from './resource.ts';

/** An informer whose events the test fires by hand. */
class FakeInformer implements Informer {
  readonly resource = coreResources.configMap;
  readonly labelSelector = undefined;
  readonly handlers: EventHandler[] = [];
  readonly objects = new Map<string, KubeObject>();
  get(key: ObjectKey) {
    return this.objects.get(`${key.namespace}/${key.name}`);
  }
  list() {
    return [...this.objects.values()];
  }
  hasSynced() {
    return true;
  }
  addHandler(h: EventHandler) {
    this.handlers.push(h);
  }
  start() {}
  async stop() {}
  async waitForSync() {}
  add(obj: KubeObject) {
    this.objects.set(`${obj.metadata.namespace}/${obj.metadata.name}`, obj);
    for (const h of this.handlers) h.add?.(obj);
  }
}

function setup(reconcile: ControllerDefinition['reconcile'], reconcileTimeoutMs = 0) {
  const informer = new FakeInformer();
  const metrics = new RuntimeMetrics(undefined, { defaultMetrics: false });
  const controller = new Controller(
    { name: 'test', resource: coreResources.configMap, reconcile },
    {
      informer: () => informer,
      logger: createLogger({ level: 'silent' }),
      metrics,
      defaults: {
        concurrency: 2,
        resyncPeriodMs: 0,
        backoffBaseMs: 1,
        backoffMaxMs: 50,
        rateLimitQps: 1000,
        rateLimitBurst: 1000,
        reconcileTimeoutMs,
      },
    },
  );
  return { informer, controller, metrics };
}

const cm = (name: string) => ({ metadata: { namespace: 'ns', name, resourceVersion: '1' } });

function until(check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const poll = () => (check() ? resolve() : setTimeout(poll, 2));
    poll();
  });
}

async function total(metrics: RuntimeMetrics, result: string): Promise<number> {
  const m = await metrics.reconcileTotal.get();
  return m.values.find((v) => v.labels.result === result)?.value ?? 0;
}

describe('Controller', () => {
  it('reconciles each added object once and does not retry a success', async () => {
    const seen: string[] = [];
    const { informer, controller, metrics } = setup((key) => {
      seen.push(key.name);
      return Promise.resolve(undefined);
    });
    await controller.start();
    informer.add(cm('a'));
    informer.add(cm('b'));
    await until(() => seen.length === 2);
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(seen.sort(), ['a', 'b']);
    assert.equal(await total(metrics, 'success'), 2);
    await controller.stop(100);
  });

  it('retries a throwing reconcile with growing requeue counts until it succeeds', async () => {
    const requeues: number[] = [];
    let attempts = 0;
    const { informer, controller, metrics } = setup((key) => {
      requeues.push(controller.queue.numRequeues(`${key.namespace}/${key.name}`));
      attempts += 1;
      if (attempts < 4) return Promise.reject(new Error('broker unreachable'));
      return Promise.resolve(undefined);
    });
    await controller.start();
    informer.add(cm('a'));
    await until(() => attempts === 4);
    assert.deepEqual(requeues, [0, 1, 2, 3]);
    assert.equal(await total(metrics, 'error'), 3);
    assert.equal(controller.queue.numRequeues('ns/a'), 0, 'a success forgets the failures');
    await controller.stop(100);
  });

  it('does not retry a terminal error', async () => {
    let attempts = 0;
    const { informer, controller, metrics } = setup(() => {
      attempts += 1;
      return Promise.reject(new TerminalError('spec cannot work'));
    });
    await controller.start();
    informer.add(cm('a'));
    await until(() => attempts === 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(attempts, 1);
    assert.equal((await metrics.terminalErrors.get()).values[0]?.value, 1);
    await controller.stop(100);
  });

  it('requeues a write conflict quietly, as a requeue and not an error', async () => {
    let attempts = 0;
    const { informer, controller, metrics } = setup(() => {
      attempts += 1;
      if (attempts === 1) {
        return Promise.reject(
          new ApiError(409, 'Conflict', 'PATCH …/status: 409 the object has been modified'),
        );
      }
      return Promise.resolve(undefined);
    });
    await controller.start();
    informer.add(cm('a'));
    await until(() => attempts === 2);
    assert.equal(await total(metrics, 'requeue'), 1);
    assert.equal(await total(metrics, 'error'), 0);
    assert.equal((await metrics.reconcileErrors.get()).values[0]?.value ?? 0, 0);
    await controller.stop(100);
  });

  it('reconciles again after requeueAfterMs', async () => {
    let attempts = 0;
    const { informer, controller, metrics } = setup((): Promise<ReconcileResult> => {
      attempts += 1;
      return Promise.resolve(attempts === 1 ? { requeueAfterMs: 10 } : {});
    });
    await controller.start();
    informer.add(cm('a'));
    await until(() => attempts === 2);
    assert.equal(await total(metrics, 'requeue_after'), 1);
    await controller.stop(100);
  });

  it('counts a failure the reconcile reported itself as an error and retries it when it asked', async () => {
    let attempts = 0;
    const { informer, controller, metrics } = setup(() => {
      attempts += 1;
      return Promise.resolve(
        attempts === 1 ? { requeueAfterMs: 10, failed: new Error('the broker is down') } : {},
      );
    });
    await controller.start();
    informer.add(cm('a'));
    await until(() => attempts === 2);
    assert.equal((await metrics.reconcileErrors.get()).values[0]?.value, 1);
    assert.equal(await total(metrics, 'error'), 1);
    assert.equal(await total(metrics, 'success'), 1);
    assert.equal((await metrics.reconcilePanics.get()).values[0]?.value ?? 0, 0);
    await controller.stop(100);
  });

  it('aborts the signal of a reconcile that outlives its timeout, counts an error and retries with backoff', async () => {
    const signals: AbortSignal[] = [];
    const requeues: number[] = [];
    const { informer, controller, metrics } = setup(async (key, ctx) => {
      signals.push(ctx.signal);
      requeues.push(controller.queue.numRequeues(`${key.namespace}/${key.name}`));
      if (signals.length > 1) return undefined;
      await new Promise((_resolve, reject) =>
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)),
      );
      return undefined;
    }, 20);
    await controller.start();
    informer.add(cm('a'));
    await until(() => signals.length === 2);
    assert.equal((signals[0]?.reason as Error).name, 'TimeoutError');
    assert.deepEqual(requeues, [0, 1]);
    assert.equal((await metrics.reconcileTimeouts.get()).values[0]?.value, 1);
    assert.equal((await metrics.reconcileErrors.get()).values[0]?.value, 1);
    assert.equal((await metrics.reconcilePanics.get()).values[0]?.value ?? 0, 0);
    await controller.stop(100);
  });

  it('counts a reconcile that resolves after its timeout as failed, not as done', async () => {
    let attempts = 0;
    const { informer, controller, metrics } = setup(async () => {
      attempts += 1;
      // Ignores its signal, so it finishes late.
      if (attempts === 1) await new Promise((resolve) => setTimeout(resolve, 60));
      return undefined;
    }, 20);
    await controller.start();
    informer.add(cm('a'));
    await until(() => attempts === 2);
    assert.equal(await total(metrics, 'error'), 1);
    await until(() => controller.queue.numRequeues('ns/a') === 0);
    assert.equal(await total(metrics, 'success'), 1);
    await controller.stop(100);
  });

  it('never aborts a reconcile that finished within its timeout', async () => {
    let signal: AbortSignal | undefined;
    const { informer, controller, metrics } = setup((_key, ctx) => {
      signal = ctx.signal;
      return Promise.resolve(undefined);
    }, 20);
    await controller.start();
    informer.add(cm('a'));
    await until(() => signal !== undefined);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(signal?.aborted, false);
    assert.equal(await total(metrics, 'success'), 1);
    await controller.stop(100);
  });

  it('lets in-flight work finish on stop and then takes no more', async () => {
    let release: () => void = () => undefined;
    let attempts = 0;
    const { informer, controller } = setup(async () => {
      attempts += 1;
      await new Promise<void>((r) => (release = r));
      return undefined;
    });
    await controller.start();
    informer.add(cm('a'));
    await until(() => attempts === 1);
    const stopping = controller.stop(1000);
    informer.add(cm('b'));
    release();
    assert.equal(await stopping, true);
    assert.equal(attempts, 1);
  });

  it('abandons in-flight reconciles at once, without grace, and takes no more keys', async () => {
    const signals: AbortSignal[] = [];
    const { informer, controller, metrics } = setup(
      (_key, ctx) =>
        new Promise((_resolve, reject) => {
          signals.push(ctx.signal);
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error));
        }),
    );
    await controller.start();
    informer.add(cm('a'));
    await until(() => signals.length === 1);
    controller.abandon(new Error('leader election lost'));
    assert.equal(signals[0]?.aborted, true, 'aborted in the same turn');
    informer.add(cm('b'));
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(signals.length, 1, 'no reconcile starts after');
    assert.equal(await total(metrics, 'error'), 0, 'an abandoned reconcile is not a failure');
  });
});
