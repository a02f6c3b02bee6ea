// One generic reconciler for every topology kind, driven by the kind's definition (kinds/*.ts):
//
//   1. read the object from the cache; gone → forget it
//   2. being deleted → apply the deletion policy on a fresh read, drop the finalizer
//   3. desired = kind.desired(spec)                          (pure)
//   4. live    = the broker's shared snapshot                (one bulk read per broker, refreshed on a timer)
//   5. plan    = planConverge(desired, live)                 (pure)
//   6. perform the plan's writes, only when it has any
//   7. write status only when it changed; an Event for every write and for every new failure
//
// Steps 4 to 6 (and a deletion's broker calls) hold one of the broker's slots (broker-slots.ts): when its broker
// has none free, an object is parked without holding a worker, so one slow broker cannot starve the others.
//
// Nothing here knows a kind; per-kind I/O (a User's credentials Secret) comes in through `prepare`.
import { isBrokerError } from '../rabbitmq/errors.ts';
import type { ManagementClient } from '../rabbitmq/management/client.ts';
import type { ManagementClientRegistry } from '../rabbitmq/management/registry.ts';
import type { SnapshotCache } from '../rabbitmq/snapshot/index.ts';
import { jittered } from '../runtime/backoff.ts';
import type { ReconcileContext, ReconcileResult } from '../runtime/controller.ts';
import { findCondition, setCondition, type Condition } from '../runtime/conditions.ts';
import { ensureFinalizer, hasFinalizer, isDeleting, removeFinalizer } from '../runtime/finalizers.ts';
import type { Manager } from '../runtime/manager.ts';
import { keyOf, keyString, type KubeObject, type ObjectKey, type ResourceRef } from '../runtime/resource.ts';
import { writeStatus } from '../runtime/status.ts';
import type { BrokerSlots, Release } from './broker-slots.ts';
import type { Connection, Connections, NamespacedName, ResolvedConnection } from './connections.ts';
import type { BrokerKey, DeletionPolicy, References, SecretOps, TopologyKind } from './kinds/types.ts';
import { capitalise, dependencyKey, planConverge, waitIsReported, writeEvent } from './plan.ts';

export const topologyFinalizer = 'warren.dev/topology';

/** A topology object as the cache holds it (plain JSON); `spec` is validated before use. */
export interface TopologyObject extends KubeObject {
  spec?: unknown;
  status?: { observedGeneration?: number; conditions?: Condition[]; [key: string]: unknown };
}

export type ParseResult<Spec> = { success: true; spec: Spec } | { success: false; message: string };

/** What a kind needs beyond its spec, read before the desired state is computed. */
export interface Prepared {
  refs: References;
  /** Extra status fields (a User's username and credentials Secret). */
  status?: Record<string, unknown>;
  /** Changes to the desired state that do not change the generation (a rotated password), as a digest. */
  revision?: string;
  /** Dependency targets (see `targets`) whose changes must re-reconcile this object. */
  dependsOn?: string[];
}

export interface Prepare<Spec> {
  (
    obj: TopologyObject,
    spec: Spec,
    connection: ResolvedConnection,
    signal: AbortSignal,
  ): Promise<Prepared | { reason: string; message: string }>;
}

export interface KindController<Spec, W, L> {
  kind: TopologyKind<Spec, W, L>;
  resource: ResourceRef;
  parse: (obj: TopologyObject) => ParseResult<Spec>;
  clusterReference: (spec: Spec) => {
    name?: string;
    namespace?: string;
    connectionSecret?: { name: string };
  };
  prepare?: Prepare<Spec>;
  /** The broker object to delete when the desired state cannot be computed any more (a User's last username). */
  deletionWant?: (obj: TopologyObject, spec: Spec) => W | undefined;
}

export interface TopologyRuntime {
  manager: Manager;
  connections: Connections;
  clients: ManagementClientRegistry;
  snapshots: SnapshotCache;
  secrets: SecretOps;
  index: DependencyIndex;
  /** References shared by kinds (a User's username for Permissions). */
  references: (namespace: string) => References;
  /** Enqueues every object that depends on `target` (see `targets`), but for `except`. */
  wake: (target: string, except?: { controller: string; key: ObjectKey }) => void;
  /** Enqueues one object of one controller. */
  enqueue: (controller: string, key: ObjectKey) => void;
  /** Reconciles talking to each broker at once (see broker-slots.ts). */
  slots: BrokerSlots;
  /** See `Settings.dependencyGracePeriod`. */
  dependencyGraceMs: number;
}

/** Who depends on what, so that watch events and drift enqueue exactly the affected objects. */
export class DependencyIndex {
  readonly #byTarget = new Map<string, Map<string, { controller: string; key: ObjectKey }>>();
  readonly #byObject = new Map<string, Set<string>>();

  /** Records that `key` of `controller` depends on `targets` (replacing what it depended on before). */
  set(controller: string, key: ObjectKey, targets: readonly string[]): void {
    const id = `${controller}\0${keyString(key)}`;
    this.forget(controller, key);
    this.#byObject.set(id, new Set(targets));
    for (const target of targets) {
      let dependents = this.#byTarget.get(target);
      if (!dependents) {
        dependents = new Map<string, { controller: string; key: ObjectKey }>();
        this.#byTarget.set(target, dependents);
      }
      dependents.set(id, { controller, key });
    }
  }

  forget(controller: string, key: ObjectKey): void {
    const id = `${controller}\0${keyString(key)}`;
    for (const target of this.#byObject.get(id) ?? []) {
      const dependents = this.#byTarget.get(target);
      dependents?.delete(id);
      if (dependents?.size === 0) this.#byTarget.delete(target);
    }
    this.#byObject.delete(id);
  }

  dependents(target: string): { controller: string; key: ObjectKey }[] {
    return [...(this.#byTarget.get(target)?.values() ?? [])];
  }
}

export const targets = {
  secret: (s: NamespacedName) => `secret\0${s.namespace}\0${s.name}`,
  cluster: (c: NamespacedName) => `cluster\0${c.namespace}\0${c.name}`,
  user: (namespace: string, name: string) => `user\0${namespace}\0${name}`,
  broker: (brokerId: string, key: BrokerKey) => `broker\0${brokerId}\0${key.kind}\0${key.key}`,
};

const seconds = (n: number) => n * 1000;

/** Retry delays that grow per object: 1 s, 2 s, 4 s… up to `maxMs`, with jitter so retries spread. */
class Retries {
  readonly #failures = new Map<string, number>();
  next(key: string, maxMs: number): number {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    const base = Math.min(maxMs, seconds(1) * 2 ** n);
    return Math.round(base / 2 + (Math.random() * base) / 2);
  }
  reset(key: string): void {
    this.#failures.delete(key);
  }
}

export function createTopologyReconciler<Spec, W, L>(def: KindController<Spec, W, L>, rt: TopologyRuntime) {
  const { kind } = def;
  const name = kind.kind.toLowerCase();
  const { manager, index } = rt;
  const log = manager.log.child({ controller: name });
  const retries = new Retries();
  /** The revision (see Prepared) each object was last Ready at. */
  const readyRevisions = new Map<string, string | undefined>();
  /** When each object began waiting for a dependency, while the wait is not reported yet. */
  const waitingSince = new Map<string, number>();
  /** What the last status write of each object said, until the cache shows it (see setStatus). */
  const writtenStatus = new Map<string, { summary: string; resourceVersion: string }>();

  /** Who holds a broker slot: one object of this kind. */
  const holder = (k: string) => `${name}\0${k}`;

  /** Forgets everything kept in memory about an object. */
  function forget(key: ObjectKey, k: string): void {
    rt.slots.forget(holder(k));
    index.forget(name, key);
    retries.reset(k);
    readyRevisions.delete(k);
    waitingSince.delete(k);
    writtenStatus.delete(k);
  }

  /**
   * An object waits for a dependency. A short wait is silent (no status write, no Event): the dependency is
   * usually about to be created and wakes this object when it is. A wait beyond the grace period, or one
   * already reported, goes into the status.
   */
  async function wait(
    signal: AbortSignal,
    obj: TopologyObject,
    k: string,
    reason: string,
    message: string,
    extra?: Record<string, unknown>,
  ): Promise<ReconcileResult> {
    const now = Date.now();
    const since = waitingSince.get(k) ?? now;
    const reported = findCondition(obj.status?.conditions, 'Ready')?.reason === reason;
    if (!reported && !waitIsReported(since, now, rt.dependencyGraceMs)) {
      waitingSince.set(k, since);
      const retry = retries.next(k, seconds(15));
      return { requeueAfterMs: Math.min(retry, since + rt.dependencyGraceMs - now) };
    }
    waitingSince.delete(k);
    await fail(signal, obj, reason, message, extra);
    return { requeueAfterMs: retries.next(k, seconds(15)) };
  }

  async function setStatus(
    signal: AbortSignal,
    obj: TopologyObject,
    ready: { status: 'True' | 'False'; reason: string; message: string },
    extra: Record<string, unknown> = {},
  ): Promise<boolean> {
    const k = keyString(keyOf(obj));
    const generation = obj.metadata.generation;
    // The cache may not show our last status write yet (a reconcile woken by the finalizer's watch event
    // runs before the status event arrives): a write based on it would fail on its resourceVersion.
    const summary = JSON.stringify([obj.metadata.uid, generation, ready, extra]);
    const written = writtenStatus.get(k);
    if (written?.resourceVersion === obj.metadata.resourceVersion) writtenStatus.delete(k);
    else if (written?.summary === summary) return false;
    const previous = findCondition(obj.status?.conditions, 'Ready');
    const conditions = setCondition(obj.status?.conditions, { type: 'Ready', ...ready }, generation);
    const status = {
      ...obj.status,
      ...extra,
      ...(generation === undefined ? {} : { observedGeneration: generation }),
      conditions,
    };
    try {
      const updated = await writeStatus(manager.client.withSignal(signal), def.resource, obj, status);
      const resourceVersion = updated?.metadata.resourceVersion;
      if (resourceVersion !== undefined) writtenStatus.set(k, { summary, resourceVersion });
    } catch (error) {
      // A stale read (409) or a vanished object: the next reconcile writes from a fresh cache.
      if (!isGone(error)) throw error;
    }
    return (
      previous?.status !== ready.status ||
      previous.reason !== ready.reason ||
      previous.message !== ready.message
    );
  }

  /** Ready=False with an Event when this failure is new (a repeated failure adds no Event). */
  async function fail(
    signal: AbortSignal,
    obj: TopologyObject,
    reason: string,
    message: string,
    extra?: Record<string, unknown>,
  ) {
    if (await setStatus(signal, obj, { status: 'False', reason, message }, extra)) {
      manager.events.warning(obj, reason, message, 'Reconcile');
      // The log carries what status and Events say, once per change, for those who read logs first.
      log.warn({ namespace: obj.metadata.namespace, name: obj.metadata.name, reason }, message);
    }
  }

  function client(connection: ResolvedConnection): ManagementClient {
    return rt.clients.get(connection.endpoint);
  }

  /** One of the broker's slots for the part of a reconcile that talks to it; undefined when parked. */
  function brokerSlot(c: ManagementClient, key: ObjectKey, k: string): Release | undefined {
    return rt.slots.tryAcquire(c.brokerId, holder(k), () => rt.enqueue(name, key));
  }

  /**
   * A reconcile whose broker has no slot free returns at once, holding no worker, and silently: its status is
   * not news. A freed slot wakes it; the late requeue only matters if that wake were somehow lost.
   */
  function parked(ctx: ReconcileContext, c: ManagementClient): ReconcileResult {
    ctx.log.debug({ broker: c.brokerId }, 'waiting for a free slot on the broker');
    return { requeueAfterMs: jittered(seconds(30), 0.2) };
  }

  function recordDependencies(key: ObjectKey, connection: Connection, extra: readonly string[]): void {
    const list = [...extra];
    if (connection.ok) {
      list.push(targets.secret(connection.secret));
      if (connection.cluster) list.push(targets.cluster(connection.cluster));
    }
    index.set(name, key, list);
  }

  /** Another live object of this kind declaring the same broker object on the same broker. */
  function otherClaimant(
    self: TopologyObject,
    brokerId: string,
    key: BrokerKey,
    cache: ReconcileContext['cache'],
  ): TopologyObject | undefined {
    const wanted = targets.broker(brokerId, key);
    for (const dependent of index.dependents(wanted)) {
      if (dependent.controller !== name) continue;
      if (dependent.key.namespace === self.metadata.namespace && dependent.key.name === self.metadata.name)
        continue;
      const other: TopologyObject | undefined = cache.get(dependent.key);
      if (other && !isDeleting(other)) return other;
    }
    return undefined;
  }

  async function reconcileDeletion(
    obj: TopologyObject,
    key: ObjectKey,
    ctx: ReconcileContext,
  ): Promise<ReconcileResult | undefined> {
    const k = keyString(key);
    const { signal } = ctx;
    if (!hasFinalizer(obj, topologyFinalizer)) return undefined;
    const finish = async (reason: string, message: string, type: 'Normal' | 'Warning' = 'Normal') => {
      manager.events.emit(obj, { type, reason, message, action: 'Delete' });
      await removeFinalizer(manager.client.withSignal(signal), def.resource, obj, topologyFinalizer);
      forget(key, k);
      return undefined;
    };
    const parsed = def.parse(obj);
    if (!parsed.success)
      return finish('DeletionSkipped', `Nothing was deleted on the broker: ${parsed.message}`, 'Warning');
    const spec = parsed.spec;
    const namespace = obj.metadata.namespace ?? '';
    const policy: DeletionPolicy = kind.deletionPolicy(spec);
    const connection = await rt.connections.resolve(namespace, def.clusterReference(spec), signal);
    if (!connection.ok) {
      if (connection.gone) {
        return finish('BrokerGone', `Nothing was deleted on the broker: ${connection.message}`, 'Warning');
      }
      await fail(signal, obj, connection.reason, connection.message);
      return { requeueAfterMs: retries.next(k, seconds(30)) };
    }
    if (policy === 'retain') {
      return finish('Retained', `Kept the broker object (deletionPolicy: retain).`);
    }
    let want: W | undefined;
    const desired = kind.desired(spec, rt.references(namespace));
    if (desired.ok) want = desired.want;
    else want = def.deletionWant?.(obj, spec);
    if (want === undefined) {
      return finish(
        'DeletionSkipped',
        `Nothing was deleted on the broker: ${desired.ok ? '' : desired.message}`.trim(),
        'Warning',
      );
    }
    const what = kind.describe(want);
    const c = client(connection);
    const other = otherClaimant(obj, c.brokerId, kind.brokerKey(want), ctx.cache);
    if (other) {
      return finish(
        'Retained',
        `Kept ${what}: ${kind.kind} "${other.metadata.name ?? ''}" still declares it.`,
      );
    }
    const release = brokerSlot(c, key, k);
    if (release === undefined) return parked(ctx, c);
    try {
      const step = kind.deletion(want, policy, await kind.fresh(c, want, signal));
      // Only a deletion talks to the broker again; the rest is bookkeeping on the API server.
      if (step.action !== 'delete') release();
      switch (step.action) {
        case 'gone':
          return await finish('Deleted', `${capitalise(what)} was already gone from the broker.`);
        case 'retain':
          return await finish('Retained', `Kept ${what} (deletionPolicy: ${policy}).`);
        case 'blocked':
          await fail(signal, obj, step.reason, step.message);
          return { requeueAfterMs: retries.next(k, seconds(300)) };
        case 'delete':
          for (const op of step.ops) await c.apply(op, signal);
          release();
          return await finish('Deleted', `Deleted ${what}.`);
      }
    } catch (error) {
      release();
      if (isBrokerError(error, 'QueueNotEmpty') || isBrokerError(error, 'QueueInUse')) {
        await fail(signal, obj, 'DeletionBlockedByMessages', `${capitalise(what)} is kept: ${error.message}`);
        return { requeueAfterMs: retries.next(k, seconds(300)) };
      }
      return await brokerFailure(signal, obj, k, error);
    } finally {
      release();
    }
  }

  async function brokerFailure(
    signal: AbortSignal,
    obj: TopologyObject,
    k: string,
    error: unknown,
  ): Promise<ReconcileResult> {
    if (!isBrokerError(error)) throw error;
    const reason = error.reason === 'PreconditionFailed' ? 'BrokerRejected' : error.reason;
    await fail(signal, obj, reason, error.message);
    // Transient failures (broker down, timeouts) are polled quickly so that recovery is noticed within
    // seconds; anything else backs off further.
    return {
      requeueAfterMs: retries.next(
        k,
        error.transient || error.reason === 'BrokerUnreachable' ? seconds(8) : seconds(120),
      ),
    };
  }

  async function reconcileObject(
    key: ObjectKey,
    k: string,
    ctx: ReconcileContext,
  ): Promise<ReconcileResult | undefined> {
    // Every request of this reconcile carries its signal: once it is abandoned, nothing more is written.
    const { signal } = ctx;
    const cached: TopologyObject | undefined = ctx.cache.get(key);
    if (!cached) {
      forget(key, k);
      return undefined;
    }
    if (isDeleting(cached)) return reconcileDeletion(cached, key, ctx);

    const parsed = def.parse(cached);
    if (!parsed.success) {
      await fail(signal, cached, 'InvalidSpec', parsed.message);
      return undefined;
    }
    const obj = await ensureFinalizer<TopologyObject>(
      manager.client.withSignal(signal),
      def.resource,
      cached,
      topologyFinalizer,
    );
    // Gone, or changed since the cache saw it: its own watch event brings the next reconcile.
    if (!obj || obj.metadata.generation !== cached.metadata.generation) return undefined;
    const spec = parsed.spec;
    const namespace = obj.metadata.namespace ?? '';

    const connection = await rt.connections.resolve(namespace, def.clusterReference(spec), signal);
    if (!connection.ok) {
      recordDependencies(key, connection, []);
      await fail(signal, obj, connection.reason, connection.message);
      // A cluster or Secret that appears or changes enqueues this object through the watches.
      return { requeueAfterMs: retries.next(k, seconds(60)) };
    }

    let prepared: Prepared = { refs: rt.references(namespace) };
    if (def.prepare) {
      const result = await def.prepare(obj, spec, connection, signal);
      if (!('refs' in result)) {
        recordDependencies(key, connection, []);
        await fail(signal, obj, result.reason, result.message);
        return { requeueAfterMs: retries.next(k, seconds(30)) };
      }
      prepared = result;
    }
    const extraTargets = prepared.dependsOn ?? [];
    const desired = kind.desired(spec, prepared.refs);
    if (!desired.ok) {
      recordDependencies(key, connection, extraTargets);
      if (desired.reason === 'DependencyNotFound')
        return wait(signal, obj, k, desired.reason, desired.message, prepared.status);
      await fail(signal, obj, desired.reason, desired.message, prepared.status);
      return { requeueAfterMs: retries.next(k, seconds(30)) };
    }
    const want = desired.want;
    const what = kind.describe(want);

    const c = client(connection);
    const brokerTarget = targets.broker(c.brokerId, kind.brokerKey(want));
    recordDependencies(key, connection, [...extraTargets, brokerTarget]);
    const release = brokerSlot(c, key, k);
    if (release === undefined) return parked(ctx, c);
    try {
      // Shared by every reconcile of this broker, so not cut off by one reconcile's signal; it only reads.
      const snapshot = await rt.snapshots.get(c);
      const ready = findCondition(obj.status?.conditions, 'Ready');
      const wasReady =
        ready?.status === 'True' &&
        obj.status?.observedGeneration === obj.metadata.generation &&
        (!readyRevisions.has(k) || readyRevisions.get(k) === prepared.revision);
      const plan = planConverge(kind, want, snapshot, rt.secrets, wasReady);
      // Only writes talk to the broker again; the rest is bookkeeping on the API server.
      if (plan.type !== 'write') release();
      switch (plan.type) {
        case 'waiting':
          // Woken when what it waits for appears (created by Warren or seen in a refresh).
          recordDependencies(key, connection, [
            ...extraTargets,
            brokerTarget,
            ...plan.missing.map((d) => targets.broker(c.brokerId, dependencyKey(d))),
          ]);
          return await wait(signal, obj, k, plan.reason, plan.message, prepared.status);
        case 'conflict':
          await fail(signal, obj, plan.reason, plan.message, prepared.status);
          // Drift reports a change of the broker object and a spec change bumps the generation; look
          // again now and then anyway.
          return { requeueAfterMs: seconds(300) };
        case 'write': {
          // One after another (a vhost before its limits), stopping at the first failure.
          for (const op of plan.ops) await c.apply(op, signal);
          release();
          if (plan.verb !== 'update') rt.wake(brokerTarget, { controller: name, key });
          const event = writeEvent(plan.verb, what, plan.changes);
          manager.events.normal(obj, event.reason, event.message, 'Reconcile');
          ctx.log.info({ changes: plan.changes, verb: plan.verb }, event.message);
          break;
        }
        case 'in-sync':
          break;
      }
      await setStatus(
        signal,
        obj,
        { status: 'True', reason: 'Synchronized', message: `${capitalise(what)} matches the spec.` },
        prepared.status,
      );
      readyRevisions.set(k, prepared.revision);
      retries.reset(k);
      waitingSince.delete(k);
      return undefined;
    } catch (error) {
      release();
      return await brokerFailure(signal, obj, k, error);
    } finally {
      release();
    }
  }

  return async function reconcile(
    key: ObjectKey,
    ctx: ReconcileContext,
  ): Promise<ReconcileResult | undefined> {
    const k = keyString(key);
    const began = rt.slots.begin();
    try {
      return await reconcileObject(key, k, ctx);
    } finally {
      rt.slots.settle(holder(k), began);
    }
  };
}

function isGone(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 404 || code === 409;
}
