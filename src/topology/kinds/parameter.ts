// What Shovel and Federation share: each is one runtime parameter of a plugin component, identified by
// (component, vhost, name), whose whole value is written in one PUT. The value is compared canonically key by
// key, so a resync writes nothing, and a change names the spec fields that differ, never their values (some
// hold URIs with credentials).
import type { ParameterValue, Parameter } from '../../rabbitmq/types.ts';
import { sameJson } from '../../rabbitmq/normalise.ts';
import { snapshotKeys } from '../../rabbitmq/snapshot/index.ts';
import type { BrokerOp, DeletionPolicy, DeletionStep, TopologyKind } from './types.ts';

export interface ParameterWant {
  vhost: string;
  name: string;
  value: ParameterValue;
}

/** The wire keys of a parameter value with the spec field (or Secret key) each comes from. */
export type FieldNames = Readonly<Record<string, string>>;

/** A value with only the fields the spec sets: the broker refuses keys it does not know, even empty ones. */
export function valueOf(fields: Readonly<Record<string, unknown>>): ParameterValue {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

/** The spec fields whose values differ between the live and desired value. */
export function valueChanges(live: ParameterValue, want: ParameterValue, names: FieldNames): string[] {
  const keys = new Set([...Object.keys(live), ...Object.keys(want)]);
  return [...keys]
    .filter((key) => !sameJson(live[key], want[key]))
    .map((key) => names[key] ?? key)
    .sort();
}

/** The parts of a TopologyKind that are the same for every runtime parameter of `component`. */
export function parameterKind(
  component: string,
  noun: string,
  names: FieldNames,
): Pick<
  TopologyKind<unknown, ParameterWant, Parameter>,
  'brokerKey' | 'describe' | 'dependencies' | 'live' | 'compare' | 'write' | 'deletion'
> {
  return {
    brokerKey: (p) => ({ kind: 'parameter', key: snapshotKeys.parameter(component, p.vhost, p.name) }),
    describe: (p) => `${noun} "${p.name}" in vhost "${p.vhost}"`,
    dependencies: (p) => [{ type: 'vhost', name: p.vhost }],
    live: (state, p) => state.parameter(component, p.vhost, p.name),
    compare: (live, want) => ({ changes: valueChanges(live.value, want.value, names) }),
    write: (want): BrokerOp[] => [
      { op: 'putParameter', component, vhost: want.vhost, name: want.name, value: want.value },
    ],
    deletion: (want, policy: DeletionPolicy, fresh): DeletionStep => {
      if (policy === 'retain') return { action: 'retain' };
      if (fresh === undefined) return { action: 'gone' };
      return {
        action: 'delete',
        ops: [{ op: 'deleteParameter', component, vhost: want.vhost, name: want.name }],
      };
    },
  };
}

/** A deletion needs only the identity: it never waits for (or reads) the uriSecret, which may be gone. */
export function identityOnly(spec: { vhost: string; name: string }): ParameterWant {
  return { vhost: spec.vhost, name: spec.name, value: {} };
}
