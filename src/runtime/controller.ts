// One controller: a work queue fed by informer events, N workers that call reconcile(key), and the retry
// rules of controller-runtime (error ⇒ backoff, TerminalError ⇒ no retry, requeueAfter ⇒ delayed add,
// success ⇒ forget).
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { ItemExponentialBackoff, MaxOf, TokenBucket, jittered } from './backoff.ts';
import type { Cache, EventHandler, Informer } from './informer.ts';
import type { Logger } from './logger.ts';
import type { RuntimeMetrics } from './metrics.ts';
import { isConflict } from './kube-client.ts';
import { groupOf, keyOf, keyString, parseKey } from './resource.ts';
import type { KubeObject, ObjectKey, ResourceRef } from './resource.ts';
import { WorkQueue } from './workqueue.ts';

/** Thrown by a reconcile to say retrying cannot help (bad spec): logged and counted, not retried. */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export interface ReconcileResult {
  /** Reconcile this key again after this long (polling an external system). */
  requeueAfterMs?: number;
  /**
   * The reconcile failed with this error and has already said so where people look (status, an Event): it
   * counts as an error like a thrown one, but is retried after `requeueAfterMs` (the reconcile knows how soon
   * its failure may clear) rather than by the rate limiter, and is not logged again.
   */
  failed?: unknown;
}

export interface ReconcileContext<T extends KubeObject = KubeObject> {
  /** Logger bound to controller, namespace, name and reconcileID. */
  log: Logger;
  /** The primary resource's cache: read the object from here, not from the API server. */
  cache: Cache<T>;
  /**
   * Aborted when the operator shuts down (after the grace period), at once when the Lease is lost, or when
   * the reconcile times out. Pass it to every request (`client.withSignal(ctx.signal)`): an abort must stop
   * all writes.
   */
  signal: AbortSignal;
  controller: string;
  reconcileID: string;
}

export interface OwnsSpec {
  resource: ResourceRef;
  labelSelector?: string;
}

export interface WatchSpec {
  resource: ResourceRef;
  labelSelector?: string;
  namespace?: string;
  /** Keys of primary objects affected by a change of `obj`. Must not throw; must not do I/O. */
  map(obj: KubeObject): ObjectKey[];
}

export interface ControllerDefinition<T extends KubeObject = KubeObject> {
  /** Lower-case name, used in metrics and logs (`queue`, `rabbitmqcluster`). */
  name: string;
  resource: ResourceRef;
  /** Watch only primary objects that match. */
  labelSelector?: string;
  // `void` lets a reconcile that never asks for a requeue be a plain `async` function with no return value.
  // eslint-disable-next-line @typescript-eslint/no-invalid-void-type
  reconcile(key: ObjectKey, ctx: ReconcileContext<T>): Promise<ReconcileResult | undefined | void>;
  /** Child kinds: a change to a child enqueues its controller owner of this controller's kind. */
  owns?: OwnsSpec[];
  /** Other kinds whose changes map to primary keys. */
  watches?: WatchSpec[];
  /** Workers (reconciles in flight at once); default from settings. */
  concurrency?: number;
  /** Re-enqueue every cached object this often (with 10 % jitter); default from settings, 0 disables. */
  resyncPeriodMs?: number;
  /** Abort a reconcile's signal after this long; default from settings, 0 disables. */
  reconcileTimeoutMs?: number;
  /**
   * Which primary updates enqueue. `generation` (default) skips updates that change neither
   * `metadata.generation` nor labels, annotations, finalizers, owner references or deletion:
   * the operator's own status writes do not trigger another reconcile. `any` enqueues every change.
   */
  updates?: 'generation' | 'any';
}

export interface ControllerDeps {
  informer(resource: ResourceRef, options: { namespace?: string; labelSelector?: string }): Informer;
  logger: Logger;
  metrics: RuntimeMetrics;
  defaults: {
    concurrency: number;
    resyncPeriodMs: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
    rateLimitQps: number;
    rateLimitBurst: number;
    /** See ControllerDefinition.reconcileTimeoutMs. */
    reconcileTimeoutMs: number;
  };
}

/** True when an update of a primary object is worth a reconcile under the `generation` rule. */
export function specOrMetaChanged(oldObj: KubeObject, newObj: KubeObject): boolean {
  const a = oldObj.metadata;
  const b = newObj.metadata;
  // Kinds without a generation (ConfigMap, Secret) change only through what a reconcile cares about.
  if (a.generation === undefined || b.generation === undefined) return true;
  if (a.generation !== b.generation) return true;
  return (
    a.deletionTimestamp !== b.deletionTimestamp ||
    !isDeepStrictEqual(a.labels ?? {}, b.labels ?? {}) ||
    !isDeepStrictEqual(a.annotations ?? {}, b.annotations ?? {}) ||
    !isDeepStrictEqual(a.finalizers ?? [], b.finalizers ?? []) ||
    !isDeepStrictEqual(a.ownerReferences ?? [], b.ownerReferences ?? [])
  );
}

/** The key of `child`'s controller owner if that owner is of `owner` kind. */
export function controllerOwnerKey(child: KubeObject, owner: ResourceRef): ObjectKey | undefined {
  const ref = child.metadata.ownerReferences?.find((r) => r.controller === true);
  if (!ref || ref.kind !== owner.kind || groupOf(ref.apiVersion) !== owner.group) return undefined;
  return { namespace: owner.namespaced ? (child.metadata.namespace ?? '') : '', name: ref.name };
}

export class Controller<T extends KubeObject = KubeObject> {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly cache: Informer<T>;
  private readonly def: ControllerDefinition<T>;
  private readonly informers: Informer[] = [];
  private readonly log: Logger;
  private readonly metrics: RuntimeMetrics;
  private readonly concurrency: number;
  private readonly resyncPeriodMs: number;
  private readonly reconcileTimeoutMs: number;
  private readonly shutdown = new AbortController();
  private workers: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(def: ControllerDefinition<T>, deps: ControllerDeps) {
    this.def = def;
    this.name = def.name;
    this.metrics = deps.metrics;
    this.log = deps.logger.child({ controller: def.name });
    this.concurrency = Math.max(1, def.concurrency ?? deps.defaults.concurrency);
    this.resyncPeriodMs = def.resyncPeriodMs ?? deps.defaults.resyncPeriodMs;
    this.reconcileTimeoutMs = def.reconcileTimeoutMs ?? deps.defaults.reconcileTimeoutMs;
    const d = deps.defaults;
    const queue: WorkQueue = new WorkQueue({
      rateLimiter: new MaxOf(
        new ItemExponentialBackoff(d.backoffBaseMs, d.backoffMaxMs),
        new TokenBucket(d.rateLimitQps, d.rateLimitBurst),
      ),
      observer: deps.metrics.workQueue(def.name, () => queue.inFlightSeconds()),
    });
    this.queue = queue;
    this.metrics.maxConcurrent.set({ controller: def.name }, this.concurrency);
    this.metrics.activeWorkers.set({ controller: def.name }, 0);

    const primary = deps.informer(def.resource, { labelSelector: def.labelSelector }) as Informer<T>;
    this.cache = primary;
    this.informers.push(primary);
    const updates = def.updates ?? 'generation';
    primary.addHandler({
      add: (obj) => this.enqueue(keyOf(obj)),
      update: (oldObj, newObj) => {
        if (updates === 'any' || specOrMetaChanged(oldObj, newObj)) this.enqueue(keyOf(newObj));
      },
      delete: (obj) => this.enqueue(keyOf(obj)),
    });

    for (const owns of def.owns ?? []) {
      const informer = deps.informer(owns.resource, { labelSelector: owns.labelSelector });
      this.informers.push(informer);
      informer.addHandler(
        this.mapping((obj) => {
          const key = controllerOwnerKey(obj, def.resource);
          return key ? [key] : [];
        }),
      );
    }
    for (const watch of def.watches ?? []) {
      const informer = deps.informer(watch.resource, {
        namespace: watch.namespace,
        labelSelector: watch.labelSelector,
      });
      this.informers.push(informer);
      informer.addHandler(this.mapping((obj) => watch.map(obj)));
    }
  }

  /** Queues a key for reconciliation (for callers outside the informers, e.g. a broker drift detector). */
  enqueue(key: ObjectKey): void {
    this.queue.add(keyString(key));
  }

  /** Queues a key after a delay. */
  enqueueAfter(key: ObjectKey, delayMs: number): void {
    this.queue.addAfter(keyString(key), delayMs);
  }

  hasSynced(): boolean {
    return this.informers.every((i) => i.hasSynced());
  }

  /** Waits for this controller's caches, then starts the workers and the resync timer. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await Promise.all(this.informers.map((i) => i.waitForSync(this.shutdown.signal)));
    if (this.shutdown.signal.aborted) return;
    this.log.info({ workers: this.concurrency }, 'starting workers');
    for (let i = 0; i < this.concurrency; i++) this.workers.push(this.work());
    this.scheduleResync();
  }

  /**
   * Stops taking work, lets in-flight reconciles finish for up to `graceMs`, then aborts their signal and
   * waits a little for them to notice. Resolves true if everything finished within the grace period.
   */
  async stop(graceMs: number): Promise<boolean> {
    clearTimeout(this.resyncTimer);
    this.queue.shutDown();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
      timer.unref();
    });
    const finished = await Promise.race([Promise.all(this.workers).then(() => true as const), timedOut]);
    clearTimeout(timer);
    if (!finished) {
      this.log.warn(
        { graceMs },
        'in-flight reconciles did not finish within the grace period; abandoning them',
      );
    }
    this.shutdown.abort();
    return finished;
  }

  /**
   * Stops at once, with no grace (the Lease is lost): no key is taken any more and the signal of every
   * in-flight reconcile aborts now, cutting off the requests it passed the signal to.
   */
  abandon(reason: Error): void {
    clearTimeout(this.resyncTimer);
    this.queue.shutDown();
    this.shutdown.abort(reason);
  }

  private mapping(map: (obj: KubeObject) => ObjectKey[]): EventHandler {
    const enqueueAll = (obj: KubeObject) => {
      for (const key of map(obj)) this.enqueue(key);
    };
    return {
      add: enqueueAll,
      // Both: an owner or a mapped reference may have changed.
      update: (oldObj, newObj) => {
        enqueueAll(oldObj);
        enqueueAll(newObj);
      },
      delete: enqueueAll,
    };
  }

  private scheduleResync(): void {
    if (this.resyncPeriodMs <= 0) return;
    this.resyncTimer = setTimeout(
      () => {
        for (const obj of this.cache.list()) this.enqueue(keyOf(obj));
        this.scheduleResync();
      },
      jittered(this.resyncPeriodMs, 0.1),
    );
    this.resyncTimer.unref();
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.process(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async process(key: string): Promise<void> {
    const labels = { controller: this.name };
    const objectKey = parseKey(key);
    const reconcileID = randomUUID();
    const log = this.log.child({ namespace: objectKey.namespace, name: objectKey.name, reconcileID });
    const timeoutMs = this.reconcileTimeoutMs;
    const timeout = new AbortController();
    const timer =
      timeoutMs > 0
        ? setTimeout(
            () =>
              timeout.abort(new DOMException(`reconcile timed out after ${timeoutMs} ms`, 'TimeoutError')),
            timeoutMs,
          )
        : undefined;
    const signal = AbortSignal.any([this.shutdown.signal, timeout.signal]);
    const ctx: ReconcileContext<T> = { log, cache: this.cache, signal, controller: this.name, reconcileID };
    this.metrics.activeWorkers.inc(labels);
    const started = performance.now();
    try {
      const result = await this.def.reconcile(objectKey, ctx);
      // Work cut short by the timeout cannot be trusted to be complete, whatever it returned.
      if (timeout.signal.aborted) throw timeout.signal.reason;
      const after = result ? result.requeueAfterMs : undefined;
      if (result && result.failed !== undefined) {
        this.metrics.reconcileErrors.inc(labels);
        this.metrics.reconcileTotal.inc({ ...labels, result: 'error' });
        if (after !== undefined && after > 0) {
          this.queue.forget(key);
          this.queue.addAfter(key, after);
        } else if (!this.queue.isShuttingDown) {
          this.queue.addRateLimited(key);
        }
        log.debug({ err: result.failed }, 'reconcile failed; reported in the status');
        return;
      }
      this.queue.forget(key);
      if (after !== undefined && after > 0) {
        this.queue.addAfter(key, after);
        this.metrics.reconcileTotal.inc({ ...labels, result: 'requeue_after' });
      } else {
        this.metrics.reconcileTotal.inc({ ...labels, result: 'success' });
      }
      log.debug({ durationMs: Math.round(performance.now() - started) }, 'reconciled');
    } catch (err) {
      if (this.shutdown.signal.aborted) {
        // Abandoned on shutdown: not the object's failure, and nothing here may retry it.
        log.info({ err }, 'reconcile abandoned');
        return;
      }
      const timedOut = timeout.signal.aborted;
      if (timedOut) this.metrics.reconcileTimeouts.inc(labels);
      if (isConflict(err) && !timedOut) {
        // Optimistic concurrency at work (the object changed since it was read): the next pass reads it afresh.
        this.metrics.reconcileTotal.inc({ ...labels, result: 'requeue' });
        if (!this.queue.isShuttingDown) this.queue.addRateLimited(key);
        log.debug({ err }, 'the object changed while it was reconciled; requeued');
      } else if (err instanceof TerminalError && !timedOut) {
        this.queue.forget(key);
        this.metrics.terminalErrors.inc(labels);
        this.metrics.reconcileTotal.inc({ ...labels, result: 'error' });
        log.error({ err }, 'reconcile failed; not retrying');
      } else {
        // Programming errors are this runtime's panics: counted apart, still retried.
        if (
          !timedOut &&
          (!(err instanceof Error) || err instanceof TypeError || err instanceof ReferenceError)
        ) {
          this.metrics.reconcilePanics.inc(labels);
        }
        this.metrics.reconcileErrors.inc(labels);
        this.metrics.reconcileTotal.inc({ ...labels, result: 'error' });
        const retries = this.queue.numRequeues(key);
        if (!this.queue.isShuttingDown) this.queue.addRateLimited(key);
        if (timedOut) {
          log.error({ err, retries, timeoutMs }, 'reconcile timed out; retrying with backoff');
        } else {
          log.error({ err, retries }, 'reconcile failed; retrying with backoff');
        }
      }
    } finally {
      clearTimeout(timer);
      this.metrics.reconcileTime.observe(labels, (performance.now() - started) / 1000);
      this.metrics.activeWorkers.dec(labels);
    }
  }
}
