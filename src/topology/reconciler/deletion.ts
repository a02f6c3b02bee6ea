// Deleting a topology object: apply its deletion policy to the broker object, decided on the broker snapshot
// (a fresh read only where the broker cannot guard the deletion itself: a quorum queue's message count, a
// vhost's queues), then drop the finalizer. A broker object another live object still declares is kept; so is
// anything the policy says to keep.
import { isBrokerError } from '../../rabbitmq/errors.ts';
import type { ReconcileContext, ReconcileResult } from '../../runtime/controller.ts';
import { hasFinalizer, removeFinalizer } from '../../runtime/finalizers.ts';
import { keyString, type ObjectKey } from '../../runtime/resource.ts';
import type { DeletionPolicy, TopologyObject } from '../kinds/types.ts';
import { capitalise } from '../plan.ts';
import { clusterReference, parseSpec, seconds, topologyFinalizer, type KindScope } from './context.ts';
import { brokerFailure, brokerSlot, clientFor, forget, otherClaimant, parked } from './shared.ts';

export async function reconcileDeletion<Spec, W, L>(
  scope: KindScope<Spec, W, L>,
  obj: TopologyObject,
  key: ObjectKey,
  ctx: ReconcileContext,
): Promise<ReconcileResult | undefined> {
  const { kind, rt, retries } = scope;
  const shared = scope as KindScope<unknown, unknown, unknown>;
  const k = keyString(key);
  const { signal } = ctx;
  if (!hasFinalizer(obj, topologyFinalizer)) return undefined;
  const finish = async (reason: string, message: string, type: 'Normal' | 'Warning' = 'Normal') => {
    rt.manager.events.emit(obj, { type, reason, message, action: 'Delete' });
    await removeFinalizer(rt.manager.client.withSignal(signal), kind.resource, obj, topologyFinalizer);
    forget(shared, key, k);
    return undefined;
  };
  const parsed = parseSpec<Spec>(kind, obj);
  if (!parsed.success)
    return finish('DeletionSkipped', `Nothing was deleted on the broker: ${parsed.message}`, 'Warning');
  const spec = parsed.spec;
  const namespace = obj.metadata.namespace ?? '';
  const policy: DeletionPolicy = kind.deletionPolicy(spec);
  const connection = await rt.connections.resolve(namespace, clusterReference(spec), signal);
  if (!connection.ok) {
    if (connection.gone) {
      return finish('BrokerGone', `Nothing was deleted on the broker: ${connection.message}`, 'Warning');
    }
    await scope.status.fail(signal, obj, connection.reason, connection.message);
    return { requeueAfterMs: retries.next(k, seconds(30)) };
  }
  if (policy === 'retain') {
    return finish('Retained', `Kept the broker object (deletionPolicy: retain).`);
  }
  const desired = kind.desired(spec, rt.references(namespace));
  const want = desired.ok ? desired.want : kind.deletionWant?.(obj, spec);
  if (want === undefined) {
    return finish(
      'DeletionSkipped',
      `Nothing was deleted on the broker: ${desired.ok ? '' : desired.message}`.trim(),
      'Warning',
    );
  }
  const what = kind.describe(want);
  const c = clientFor(shared, connection, k);
  const other = otherClaimant(shared, obj, c.brokerId, kind.brokerKey(want), ctx.cache);
  if (other) {
    return finish('Retained', `Kept ${what}: ${kind.kind} "${other.metadata.name ?? ''}" still declares it.`);
  }
  const release = brokerSlot(shared, c, key);
  if (release === undefined) return parked(ctx, c);
  try {
    // Shared by every reconcile of this broker, so not cut off by one reconcile's signal; it only reads.
    const live = kind.live(await rt.snapshots.get(c), want);
    const current = kind.fresh ? await kind.fresh(c, want, live, signal) : live;
    const step = kind.deletion(want, policy, current);
    // Only a deletion talks to the broker again; the rest is bookkeeping on the API server.
    if (step.action !== 'delete') release();
    switch (step.action) {
      case 'gone':
        return await finish('Deleted', `${capitalise(what)} was already gone from the broker.`);
      case 'retain':
        return await finish('Retained', `Kept ${what} (deletionPolicy: ${policy}).`);
      case 'blocked':
        await scope.status.fail(signal, obj, step.reason, step.message);
        return { requeueAfterMs: retries.next(k, seconds(300)) };
      case 'delete':
        for (const op of step.ops) await c.apply(op, signal);
        release();
        return await finish('Deleted', `Deleted ${what}.`);
    }
  } catch (error) {
    release();
    if (isBrokerError(error, 'QueueNotEmpty') || isBrokerError(error, 'QueueInUse')) {
      await scope.status.fail(
        signal,
        obj,
        'DeletionBlockedByMessages',
        `${capitalise(what)} is kept: ${error.message}`,
      );
      return { requeueAfterMs: retries.next(k, seconds(300)) };
    }
    return await brokerFailure(shared, signal, obj, k, error);
  } finally {
    release();
  }
}
