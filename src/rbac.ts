// The permissions the operator needs, in one place. The Helm chart's ClusterRole and namespaced Roles and the
// plain manifests in config/rbac/ are rendered from these lists (npm run generate), so they cannot drift apart.
// Every rule names its resources and verbs exactly; no wildcards. Each rule says which calls need it.

import { group as warrenGroup } from './api/common.ts';
import { kinds } from './api/kinds.ts';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: Verb[];
}

const warrenPlurals = kinds.map((kind) => kind.plural);

/** Rules the operator needs in every namespace it watches (granted cluster-wide, or per namespace). */
export const watchedNamespaceRules: readonly PolicyRule[] = [
  {
    // Informers list and watch every kind; finalizers are added and removed with patches.
    apiGroups: [warrenGroup],
    resources: warrenPlurals,
    verbs: ['get', 'list', 'watch', 'patch', 'update'],
  },
  {
    // Conditions and observedGeneration are written to the status subresource only.
    apiGroups: [warrenGroup],
    resources: warrenPlurals.map((plural) => `${plural}/status`),
    verbs: ['get', 'patch', 'update'],
  },
  {
    // Child objects carry owner references with blockOwnerDeletion; with the
    // OwnerReferencesPermissionEnforcement admission plugin that needs update on the owner's finalizers.
    apiGroups: [warrenGroup],
    resources: ['rabbitmqclusters/finalizers', 'users/finalizers'],
    verbs: ['update'],
  },
  {
    // Secrets: the cluster's Erlang cookie and default user, a User's generated credentials and TLS certificates
    // (server-side apply), credentials read from connection and import Secrets (a label-selected informer).
    apiGroups: [''],
    resources: ['secrets'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'],
  },
  {
    // The cluster's children, applied server-side and watched through owner-labelled informers.
    apiGroups: [''],
    resources: ['services', 'configmaps', 'serviceaccounts'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'],
  },
  {
    // Pod readiness feeds the cluster status; PVCs are expanded in place when persistence.storage grows.
    apiGroups: [''],
    resources: ['pods'],
    verbs: ['get', 'list', 'watch'],
  },
  {
    apiGroups: [''],
    resources: ['persistentvolumeclaims'],
    verbs: ['get', 'list', 'watch', 'patch'],
  },
  {
    // The peer-discovery Role grants endpoints get and events create to the broker pods; RBAC lets the
    // operator grant only what it holds itself.
    apiGroups: [''],
    resources: ['endpoints'],
    verbs: ['get'],
  },
  {
    apiGroups: [''],
    resources: ['events'],
    verbs: ['create'],
  },
  {
    apiGroups: ['apps'],
    resources: ['statefulsets'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'],
  },
  {
    apiGroups: ['policy'],
    resources: ['poddisruptionbudgets'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'],
  },
  {
    // The peer-discovery Role and RoleBinding of each cluster.
    apiGroups: ['rbac.authorization.k8s.io'],
    resources: ['roles', 'rolebindings'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'],
  },
  {
    // ClusterAvailable follows the client Service's EndpointSlices.
    apiGroups: ['discovery.k8s.io'],
    resources: ['endpointslices'],
    verbs: ['get', 'list', 'watch'],
  },
  {
    // Events about the resources, de-duplicated by patching the series.
    apiGroups: ['events.k8s.io'],
    resources: ['events'],
    verbs: ['create', 'patch'],
  },
];

/** Rules for leader election, granted only in the operator's own namespace. */
export const leaderElectionRules: readonly PolicyRule[] = [
  {
    apiGroups: ['coordination.k8s.io'],
    resources: ['leases'],
    verbs: ['get', 'create', 'update'],
  },
];
