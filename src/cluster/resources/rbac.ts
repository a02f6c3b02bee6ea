// The identity the broker pods run as, and what rabbitmq_peer_discovery_k8s may read with it.
import type { V1Role, V1RoleBinding, V1ServiceAccount } from '@kubernetes/client-node';
import type { RabbitmqCluster } from '../types.ts';
import { childMeta, childNames, identity } from './meta.ts';

export function serviceAccount(cluster: RabbitmqCluster): V1ServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: childMeta(cluster, childNames(cluster).serviceAccount),
  };
}

/**
 * Peer discovery before RabbitMQ 4.1 lists the headless Service's endpoints and records events; 4.1 and later
 * need neither (seed-node discovery). The Role is kept for every version: it is tiny, and knowing the
 * version would mean asking a running broker, which a cluster being created does not have yet.
 */
export function peerDiscoveryRole(cluster: RabbitmqCluster): V1Role {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: childMeta(cluster, childNames(cluster).role),
    rules: [
      { apiGroups: [''], resources: ['endpoints'], verbs: ['get'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ],
  };
}

export function peerDiscoveryRoleBinding(cluster: RabbitmqCluster): V1RoleBinding {
  const names = childNames(cluster);
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: childMeta(cluster, names.roleBinding),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: names.role },
    subjects: [
      { kind: 'ServiceAccount', name: names.serviceAccount, namespace: identity(cluster).namespace },
    ],
  };
}
