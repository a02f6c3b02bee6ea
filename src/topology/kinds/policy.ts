// Policy: identity (vhost, name); pattern, apply-to, priority and definition are updated in place.
import { snapshotKeys } from '../../rabbitmq/snapshot/index.ts';
import { type PolicySpec, policyResource } from '../../api/index.ts';
import type { Policy } from '../../rabbitmq/types.ts';
import { sameJson } from '../../rabbitmq/normalise.ts';
import type { PolicySettings } from '../../rabbitmq/types.ts';
import type { Comparison, TopologyKind } from './types.ts';

export interface PolicyWant {
  vhost: string;
  name: string;
  pattern: string;
  applyTo: string;
  priority: number;
  definition: Record<string, unknown>;
}

/** The fields a policy's PUT sends; operator policies have the same. */
export function policySettings(want: PolicyWant): PolicySettings {
  return {
    pattern: want.pattern,
    definition: want.definition,
    priority: want.priority,
    'apply-to': want.applyTo,
  };
}

/** What differs between a live policy (or operator policy) and the wanted one, by spec field name. */
export function comparePolicy(live: Policy, want: PolicyWant): Comparison {
  const changes: string[] = [];
  if (live.pattern !== want.pattern) changes.push('pattern');
  if (live['apply-to'] !== want.applyTo) changes.push('applyTo');
  if (live.priority !== want.priority) changes.push('priority');
  if (!sameJson(live.definition, want.definition)) changes.push('definition');
  return { changes };
}

export const policyKind: TopologyKind<PolicySpec, PolicyWant, Policy> = {
  kind: 'Policy',
  resource: policyResource,
  deletionPolicy: () => 'delete',
  desired: (spec) => ({
    ok: true,
    want: {
      vhost: spec.vhost,
      name: spec.name,
      pattern: spec.pattern,
      applyTo: spec.applyTo,
      priority: spec.priority,
      definition: spec.definition,
    },
  }),
  brokerKey: (p) => ({ kind: 'policy', key: snapshotKeys.policy(p.vhost, p.name) }),
  describe: (p) => `policy "${p.name}" in vhost "${p.vhost}"`,
  dependencies: (p) => [{ type: 'vhost', name: p.vhost }],
  live: (state, p) => state.policy(p.vhost, p.name),
  compare: comparePolicy,
  write: (want) => [{ op: 'putPolicy', vhost: want.vhost, name: want.name, settings: policySettings(want) }],
  deletion: (want, _policy, fresh) =>
    fresh === undefined
      ? { action: 'gone' }
      : { action: 'delete', ops: [{ op: 'deletePolicy', vhost: want.vhost, name: want.name }] },
};
