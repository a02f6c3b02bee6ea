import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  finalizerBindingSpec,
  finalizerByPlural,
  finalizerExpression,
  finalizerPolicySpec,
} from './admission.ts';
import { kinds } from './api/kinds.ts';
import { clusterFinalizer } from './cluster/reconciler.ts';
import { topologyFinalizer } from './topology/reconciler/index.ts';

describe('the finalizer admission policy', () => {
  it('matches the creation of every Warren kind, and nothing else', () => {
    const spec = finalizerPolicySpec() as {
      matchConstraints: { resourceRules: [{ resources: string[]; operations: string[] }] };
    };
    const rule = spec.matchConstraints.resourceRules[0];
    assert.deepEqual(
      rule.resources,
      kinds.map((kind) => kind.plural),
    );
    assert.deepEqual(rule.operations, ['CREATE']);
  });

  it('lets a create through when it cannot be evaluated, since the operator adds the finalizer anyway', () => {
    assert.equal(finalizerPolicySpec().failurePolicy, 'Ignore');
  });

  it('gives a cluster the cluster finalizer and every topology object the topology finalizer', () => {
    const byPlural = finalizerByPlural();
    assert.equal(byPlural.get('rabbitmqclusters'), clusterFinalizer);
    for (const kind of kinds.filter((k) => k.kind !== 'RabbitmqCluster'))
      assert.equal(byPlural.get(kind.plural), topologyFinalizer, kind.kind);
    assert.equal(
      finalizerExpression(byPlural),
      `Object{metadata: Object.metadata{finalizers: [request.resource.resource in ["rabbitmqclusters"] ? "${clusterFinalizer}" : "${topologyFinalizer}"]}}`,
    );
  });

  it('writes one finalizer without a choice when every kind has the same', () => {
    const expression = finalizerExpression(
      new Map([
        ['queues', 'example.com/f'],
        ['users', 'example.com/f'],
      ]),
    );
    assert.equal(expression, 'Object{metadata: Object.metadata{finalizers: ["example.com/f"]}}');
  });

  it('binds to every namespace when the operator watches all of them', () => {
    assert.deepEqual(finalizerBindingSpec('p', []), { policyName: 'p' });
  });

  it('binds to the watched namespaces alone, so that no finalizer is left for nobody to remove', () => {
    assert.deepEqual(finalizerBindingSpec('p', ['team-a']), {
      policyName: 'p',
      matchResources: {
        namespaceSelector: {
          matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['team-a'] }],
        },
      },
    });
  });
});
