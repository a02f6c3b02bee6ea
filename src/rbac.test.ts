import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { leaderElectionRules, watchedNamespaceRules, type PolicyRule } from './rbac.ts';

const allRules: readonly PolicyRule[] = [...watchedNamespaceRules, ...leaderElectionRules];

describe('Operator RBAC rules', () => {
  it('name every group, resource and verb without a wildcard', () => {
    for (const rule of allRules) {
      for (const value of [...rule.apiGroups, ...rule.resources, ...rule.verbs]) {
        assert.ok(!value.includes('*'), `wildcard in ${JSON.stringify(rule)}`);
      }
      assert.ok(rule.resources.length > 0 && rule.verbs.length > 0 && rule.apiGroups.length > 0);
    }
  });

  it('grant each resource its verbs in one rule only', () => {
    const seen = new Set<string>();
    for (const rule of allRules) {
      for (const group of rule.apiGroups) {
        for (const resource of rule.resources) {
          const key = `${group}/${resource}`;
          assert.ok(!seen.has(key), `${key} appears in more than one rule`);
          seen.add(key);
        }
      }
    }
  });

  it('never delete a custom resource, read a pod log or exec into a pod', () => {
    for (const rule of watchedNamespaceRules) {
      if (rule.apiGroups.includes('warren.dev'))
        assert.ok(!rule.verbs.includes('delete'), JSON.stringify(rule));
      assert.ok(!rule.resources.some((r) => r === 'pods/log' || r === 'pods/exec'), JSON.stringify(rule));
    }
  });

  it('keep the Lease out of the namespace-wide rules', () => {
    const leases = (rules: readonly PolicyRule[]) => rules.some((rule) => rule.resources.includes('leases'));
    assert.ok(leases(leaderElectionRules));
    assert.ok(!leases(watchedNamespaceRules));
  });
});
