// One generic reconciler for every topology kind, driven by the kind's definition (kinds/*.ts):
//
//   1. read the object from the cache; gone → forget it
//   2. being deleted → apply the deletion policy on a fresh read, drop the finalizer  (deletion.ts)
//   3. desired = kind.desired(spec)                          (pure)
//   4. live    = the broker's shared snapshot                (one bulk read per broker, refreshed on a timer)
//   5. plan    = planConverge(desired, live)                 (pure, plan.ts)
//   6. apply the plan's operations, only when it has any
//   7. write status only when it changed; an Event for every write and for every new failure  (status.ts)
//
// Steps 4 to 6 (and a deletion's broker calls) hold one of the broker's slots (broker-slots.ts): when its broker
// has none free, an object is parked without holding a worker, so one slow broker cannot starve the others.
// A missing dependency is waited for quietly at first (waits.ts).
//
// Nothing here knows a kind; per-kind I/O (a User's credentials Secret) comes in through the kind's `prepare`.
import { KeyedBackoff } from '../../runtime/backoff.ts';
import type { ReconcileContext, ReconcileResult } from '../../runtime/controller.ts';
import { findCondition } from '../../runtime/conditions.ts';
import { ensureFinalizer, isDeleting } from '../../runtime/finalizers.ts';
import { keyString, type ObjectKey } from '../../runtime/resource.ts';
import { targets } from '../dependencies.ts';
import type { Prepared, TopologyKind, TopologyObject } from '../kinds/types.ts';
import { capitalise, dependencyKey, planConverge, writeEvent } from '../plan.ts';
import {
  clusterReference,
  parseSpec,
  seconds,
  topologyFinalizer,
  type KindScope,
  type TopologyRuntime,
} from './context.ts';
import { reconcileDeletion } from './deletion.ts';
import {
  brokerFailure,
  brokerSlot,
  clientFor,
  forget,
  parked,
  recordDependencies,
  settleSlot,
} from './shared.ts';
import { StatusWriter } from './status.ts';
import { DependencyWaits } from './waits.ts';

async function reconcileObject<Spec, W, L>(
  scope: KindScope<Spec, W, L>,
  key: ObjectKey,
  k: string,
  ctx: ReconcileContext,
): Promise<ReconcileResult | undefined> {
  const { kind, rt, name, status, waits, retries } = scope;
  const shared = scope as KindScope<unknown, unknown, unknown>;
  // Every request of this reconcile carries its signal: once it is abandoned, nothing more is written.
  const { signal } = ctx;
  const cached: TopologyObject | undefined = ctx.cache.get(key);
  if (!cached) {
    forget(shared, key, k);
    return undefined;
  }
  if (isDeleting(cached)) return reconcileDeletion(scope, cached, key, ctx);

  const parsed = parseSpec<Spec>(kind, cached);
  if (!parsed.success) {
    await status.fail(signal, cached, 'InvalidSpec', parsed.message);
    return undefined;
  }
  const obj = await ensureFinalizer<TopologyObject>(
    rt.manager.client.withSignal(signal),
    kind.resource,
    cached,
    topologyFinalizer,
  );
  // Gone, or changed since the cache saw it: its own watch event brings the next reconcile.
  if (!obj || obj.metadata.generation !== cached.metadata.generation) return undefined;
  const spec = parsed.spec;
  const namespace = obj.metadata.namespace ?? '';

  const connection = await rt.connections.resolve(namespace, clusterReference(spec), signal);
  if (!connection.ok) {
    recordDependencies(shared, key, connection, []);
    await status.fail(signal, obj, connection.reason, connection.message);
    // A cluster or Secret that appears or changes enqueues this object through the watches.
    return { requeueAfterMs: retries.next(k, seconds(60)) };
  }

  let prepared: Prepared = { refs: rt.references(namespace) };
  if (kind.prepare) {
    const result = await kind.prepare(obj, spec, connection, {
      signal,
      kube: rt.manager.client,
      secret: (ns, secretName, s) => rt.connections.secret(ns, secretName, s),
      references: rt.references(namespace),
    });
    if (!('refs' in result)) {
      recordDependencies(shared, key, connection, []);
      await status.fail(signal, obj, result.reason, result.message);
      return { requeueAfterMs: retries.next(k, seconds(30)) };
    }
    prepared = result;
  }
  const extraTargets = prepared.dependsOn ?? [];
  const desired = kind.desired(spec, prepared.refs);
  if (!desired.ok) {
    recordDependencies(shared, key, connection, extraTargets);
    if (desired.reason === 'DependencyNotFound')
      return waits.wait(signal, obj, k, desired.reason, desired.message, prepared.status);
    await status.fail(signal, obj, desired.reason, desired.message, prepared.status);
    return { requeueAfterMs: retries.next(k, seconds(30)) };
  }
  const want = desired.want;
  const what = kind.describe(want);

  const c = clientFor(shared, connection, k);
  const brokerTarget = targets.broker(c.brokerId, kind.brokerKey(want));
  const partTargets = (kind.parts?.(want) ?? []).map((part) => targets.broker(c.brokerId, part));
  const brokerTargets = [brokerTarget, ...partTargets];
  recordDependencies(shared, key, connection, [...extraTargets, ...brokerTargets]);
  const release = brokerSlot(shared, c, key);
  if (release === undefined) return parked(ctx, c);
  try {
    // Shared by every reconcile of this broker, so not cut off by one reconcile's signal; it only reads.
    const snapshot = await rt.snapshots.get(c);
    const ready = findCondition(obj.status?.conditions, 'Ready');
    const wasReady =
      ready?.status === 'True' &&
      obj.status?.observedGeneration === obj.metadata.generation &&
      (!scope.readyRevisions.has(k) || scope.readyRevisions.get(k) === prepared.revision);
    const plan = planConverge(kind, want, snapshot, rt.secrets, wasReady);
    // Only writes talk to the broker again; the rest is bookkeeping on the API server.
    if (plan.type !== 'write') release();
    switch (plan.type) {
      case 'waiting':
        // Woken when what it waits for appears (created by Warren or seen in a refresh).
        recordDependencies(shared, key, connection, [
          ...extraTargets,
          ...brokerTargets,
          ...plan.missing.map((d) => targets.broker(c.brokerId, dependencyKey(d))),
        ]);
        return await waits.wait(signal, obj, k, plan.reason, plan.message, prepared.status);
      case 'conflict':
        await status.fail(signal, obj, plan.reason, plan.message, prepared.status);
        // Drift reports a change of the broker object and a spec change bumps the generation; look
        // again now and then anyway.
        return { requeueAfterMs: seconds(300) };
      case 'write': {
        // One after another (a vhost before its limits), stopping at the first failure.
        for (const op of plan.ops) await c.apply(op, signal);
        release();
        if (plan.verb !== 'update') {
          for (const target of brokerTargets) rt.wake(target, { controller: name, key });
        }
        const event = writeEvent(plan.verb, what, plan.changes);
        rt.manager.events.normal(obj, event.reason, event.message, 'Reconcile');
        ctx.log.info({ changes: plan.changes, verb: plan.verb }, event.message);
        break;
      }
      case 'in-sync':
        break;
    }
    await status.set(
      signal,
      obj,
      { status: 'True', reason: 'Synchronized', message: `${capitalise(what)} matches the spec.` },
      prepared.status,
    );
    scope.readyRevisions.set(k, prepared.revision);
    retries.reset(k);
    waits.forget(k);
    return undefined;
  } catch (error) {
    release();
    return await brokerFailure(shared, signal, obj, k, error);
  } finally {
    release();
  }
}

export function createTopologyReconciler<Spec, W, L>(kind: TopologyKind<Spec, W, L>, rt: TopologyRuntime) {
  const name = kind.kind.toLowerCase();
  const log = rt.manager.log.child({ controller: name });
  /** Retry delays that grow per object: 1 s, 2 s, 4 s… up to a cap each caller picks, jittered. */
  const retries = new KeyedBackoff(seconds(1));
  const status = new StatusWriter(rt.manager, kind.resource, log);
  const scope: KindScope<Spec, W, L> = {
    kind,
    name,
    rt,
    log,
    retries,
    status,
    waits: new DependencyWaits(rt.dependencyGraceMs, retries, status),
    readyRevisions: new Map(),
  };
  return async function reconcile(
    key: ObjectKey,
    ctx: ReconcileContext,
  ): Promise<ReconcileResult | undefined> {
    const k = keyString(key);
    const began = rt.slots.begin();
    try {
      return await reconcileObject(scope, key, k, ctx);
    } finally {
      settleSlot(scope as KindScope<unknown, unknown, unknown>, k, began);
    }
  };
}
