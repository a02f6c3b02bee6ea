import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aCluster } from './fixture.ts';
import { podDisruptionBudget } from './pdb.ts';
import { peerDiscoveryRole, peerDiscoveryRoleBinding, serviceAccount } from './rbac.ts';

describe('Peer discovery RBAC', () => {
  it('binds the pods service account to a role that reads endpoints and records events', () => {
    assert.equal(serviceAccount(aCluster()).metadata?.name, 'orders-server');
    const role = peerDiscoveryRole(aCluster());
    assert.equal(role.metadata?.name, 'orders-peer-discovery');
    assert.deepEqual(role.rules, [
      { apiGroups: [''], resources: ['endpoints'], verbs: ['get'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ]);
    const binding = peerDiscoveryRoleBinding(aCluster());
    assert.deepEqual(binding.roleRef, {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'orders-peer-discovery',
    });
    assert.deepEqual(binding.subjects, [
      { kind: 'ServiceAccount', name: 'orders-server', namespace: 'shop' },
    ]);
  });
});

describe('PodDisruptionBudget', () => {
  it('lets one pod of a multi-node cluster go at a time', () => {
    const pdb = podDisruptionBudget(aCluster({ replicas: 3 }));
    assert.equal(pdb?.spec?.maxUnavailable, 1);
    assert.deepEqual(pdb.spec.selector, { matchLabels: { 'app.kubernetes.io/name': 'orders' } });
  });

  it('is not created for a single node, where it would block every drain', () => {
    assert.equal(podDisruptionBudget(aCluster({ replicas: 1 })), undefined);
    assert.equal(podDisruptionBudget(aCluster()), undefined);
  });
});
