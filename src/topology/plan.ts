// The pure half of the generic reconciler: from a desired object and the broker state to what to do and
// what to report. No I/O here, so every decision is unit-tested.
import { snapshotKeys } from '../rabbitmq/snapshot/index.ts';
import type {
  BrokerKey,
  BrokerOp,
  BrokerState,
  Conflict,
  Dependency,
  SecretOps,
  TopologyKind,
} from './kinds/types.ts';

export type ConvergePlan =
  | { type: 'in-sync' }
  | { type: 'waiting'; reason: 'DependencyNotFound'; message: string; missing: Dependency[] }
  | ({ type: 'conflict' } & Conflict)
  | { type: 'write'; verb: 'create' | 'update' | 'restore'; changes: string[]; ops: BrokerOp[] };

/**
 * Decides how to converge one object. `wasReady` says the object was Ready for the current generation: then
 * anything missing or different on the broker changed behind Warren's back, and writing it is a restore.
 */
export function planConverge<S, W, L>(
  kind: TopologyKind<S, W, L>,
  want: W,
  state: BrokerState,
  secrets: SecretOps,
  wasReady: boolean,
): ConvergePlan {
  const live = kind.live(state, want);
  if (live === undefined) {
    if (wasReady && kind.deletesItself?.(want) === true) return { type: 'in-sync' };
    const missing = missingDependencies(kind.dependencies(want), state);
    if (missing.length > 0) {
      return {
        type: 'waiting',
        reason: 'DependencyNotFound',
        message: `${capitalise(kind.describe(want))} waits for ${missing.map(describeDependency).join(' and ')}, which does not exist on the broker yet.`,
        missing,
      };
    }
    return {
      type: 'write',
      verb: wasReady ? 'restore' : 'create',
      changes: ['missing'],
      ops: kind.write(want, undefined, secrets),
    };
  }
  const { changes, conflict } = kind.compare(live, want, secrets);
  if (conflict) return { type: 'conflict', ...conflict };
  if (changes.length === 0) return { type: 'in-sync' };
  return {
    type: 'write',
    verb: wasReady ? 'restore' : 'update',
    changes,
    ops: kind.write(want, live, secrets),
  };
}

export function missingDependencies(dependencies: readonly Dependency[], state: BrokerState): Dependency[] {
  return dependencies.filter((d) => {
    switch (d.type) {
      case 'vhost':
        return state.vhost(d.name) === undefined;
      case 'user':
        return state.user(d.name) === undefined;
      case 'exchange':
        return state.exchange(d.vhost ?? '/', d.name) === undefined;
      case 'queue':
        return state.queue(d.vhost ?? '/', d.name) === undefined;
    }
  });
}

/** The broker object a dependency names, keyed as the kind that declares it keys it (see `brokerKey`). */
export function dependencyKey(d: Dependency): BrokerKey {
  switch (d.type) {
    case 'vhost':
      return { kind: 'vhost', key: snapshotKeys.vhost(d.name) };
    case 'user':
      return { kind: 'user', key: snapshotKeys.user(d.name) };
    case 'exchange':
      return { kind: 'exchange', key: snapshotKeys.exchange(d.vhost ?? '/', d.name) };
    case 'queue':
      return { kind: 'queue', key: snapshotKeys.queue(d.vhost ?? '/', d.name) };
  }
}

/**
 * Whether a wait for a dependency goes into the status and an Event yet. In a bulk apply the dependency is
 * usually another object Warren is about to create (the queue of a binding), and it wakes the waiting object
 * when it does; reporting every such wait would double the API server writes of the apply. A wait that
 * outlasts `graceMs` is reported.
 */
export function waitIsReported(waitingSinceMs: number, nowMs: number, graceMs: number): boolean {
  return nowMs - waitingSinceMs >= graceMs;
}

export function describeDependency(d: Dependency): string {
  return d.vhost === undefined ? `${d.type} "${d.name}"` : `${d.type} "${d.name}" in vhost "${d.vhost}"`;
}

/** What a successful write is called in Events and the Ready message. */
export function writeEvent(verb: 'create' | 'update' | 'restore', what: string, changes: readonly string[]) {
  switch (verb) {
    case 'create':
      return { reason: 'Created', message: `Created ${what}.` };
    case 'update':
      return { reason: 'Updated', message: `Updated ${what}: ${changes.join(', ')}.` };
    case 'restore':
      return {
        reason: 'Restored',
        message: changes.includes('missing')
          ? `Restored ${what}, which had been deleted on the broker.`
          : `Restored ${what}, changed on the broker: ${changes.join(', ')}.`,
      };
  }
}

export function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
