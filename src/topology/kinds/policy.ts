// Policy: identity (vhost, name); everything else is updated in place.
import { apiPath, sameJson } from './common.ts';
import type { PolicySpec } from './specs.ts';
import type { LivePolicy, TopologyKind } from './types.ts';

export interface PolicyWant {
  vhost: string;
  name: string;
  pattern: string;
  applyTo: string;
  priority: number;
  definition: Record<string, unknown>;
}

export const policyKind: TopologyKind<PolicySpec, PolicyWant, LivePolicy> = {
  kind: 'Policy',
  deletionPolicy: () => 'delete',
  desired: (spec) => ({
    ok: true,
    want: {
      vhost: spec.vhost,
      name: spec.name,
      pattern: spec.pattern,
      applyTo: spec.applyTo ?? 'all',
      priority: spec.priority ?? 0,
      definition: spec.definition,
    },
  }),
  brokerKey: (p) => `policy\0${p.vhost}\0${p.name}`,
  describe: (p) => `policy "${p.name}" in vhost "${p.vhost}"`,
  dependencies: (p) => [{ type: 'vhost', name: p.vhost }],
  live: (state, p) => state.policy(p.vhost, p.name),
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
      method: 'PUT',
      path: apiPath('policies', want.vhost, want.name),
      body: {
        pattern: want.pattern,
        definition: want.definition,
        priority: want.priority,
        'apply-to': want.applyTo,
      },
    },
  ],
  freshRead: (p) => apiPath('policies', p.vhost, p.name),
  deletion: (want, _policy, fresh) =>
    fresh === undefined
      ? { action: 'gone' }
      : {
          action: 'delete',
          requests: [{ method: 'DELETE', path: apiPath('policies', want.vhost, want.name) }],
        },
};
