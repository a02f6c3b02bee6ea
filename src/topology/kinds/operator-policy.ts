// OperatorPolicy: identity (vhost, name); pattern, apply-to, priority and definition are updated in place, as
// for a Policy, through the broker's operator-policies API.
import { operatorPolicyResource, type OperatorPolicySpec } from '../../api/index.ts';
import { snapshotKeys } from '../../rabbitmq/snapshot/index.ts';
import type { Policy } from '../../rabbitmq/types.ts';
import { comparePolicy, policySettings, type PolicyWant } from './policy.ts';
import type { TopologyKind } from './types.ts';

export interface OperatorPolicyWant extends PolicyWant {
  definition: Record<string, number>;
}

export const operatorPolicyKind: TopologyKind<OperatorPolicySpec, OperatorPolicyWant, Policy> = {
  kind: 'OperatorPolicy',
  resource: operatorPolicyResource,
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
  brokerKey: (p) => ({ kind: 'operatorPolicy', key: snapshotKeys.operatorPolicy(p.vhost, p.name) }),
  describe: (p) => `operator policy "${p.name}" in vhost "${p.vhost}"`,
  dependencies: (p) => [{ type: 'vhost', name: p.vhost }],
  live: (state, p) => state.operatorPolicy(p.vhost, p.name),
  compare: comparePolicy,
  write: (want) => [
    { op: 'putOperatorPolicy', vhost: want.vhost, name: want.name, settings: policySettings(want) },
  ],
  deletion: (want, _policy, fresh) =>
    fresh === undefined
      ? { action: 'gone' }
      : { action: 'delete', ops: [{ op: 'deleteOperatorPolicy', vhost: want.vhost, name: want.name }] },
};
