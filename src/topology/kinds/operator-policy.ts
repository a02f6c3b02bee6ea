// OperatorPolicy: identity (vhost, name); pattern, apply-to, priority and definition are updated in place, as
// for a Policy, through the broker's operator-policies API.
import { operatorPolicyResource, type OperatorPolicySpec } from '../../api/index.ts';
import { sameJson } from '../../rabbitmq/normalise.ts';
import { snapshotKeys } from '../../rabbitmq/snapshot/index.ts';
import type { Policy } from '../../rabbitmq/types.ts';
import type { TopologyKind } from './types.ts';

export interface OperatorPolicyWant {
  vhost: string;
  name: string;
  pattern: string;
  applyTo: string;
  priority: number;
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
  compare: (live, want) => {
    const changes: string[] = [];
    if (live.pattern !== want.pattern) changes.push('pattern');
    if (live['apply-to'] !== want.applyTo) changes.push('applyTo');
    if (live.priority !== want.priority) changes.push('priority');
    if (!sameJson(live.definition, want.definition)) changes.push('definition');
    return { changes };
  },
  write: (want) => [
    {
      op: 'putOperatorPolicy',
      vhost: want.vhost,
      name: want.name,
      settings: {
        pattern: want.pattern,
        definition: want.definition,
        priority: want.priority,
        'apply-to': want.applyTo,
      },
    },
  ],
  deletion: (want, _policy, fresh) =>
    fresh === undefined
      ? { action: 'gone' }
      : { action: 'delete', ops: [{ op: 'deleteOperatorPolicy', vhost: want.vhost, name: want.name }] },
};
