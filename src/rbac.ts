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
    // Informers list and watch every kind; finalizers are added and removed with JSON patches.
    apiGroups: [warrenGroup],
    resources: warrenPlurals,
    verbs: ['get', 'list', 'watch', 'patch'],
  },
  {
    // Conditions and observedGeneration are merge-patched into the status subresource.
    apiGroups: [warrenGroup],
    resources: warrenPlurals.map((plural) => `${plural}/status`),
    verbs: ['patch'],
  },
  {
    // Children carry owner references with blockOwnerDeletion; with the OwnerReferencesPermissionEnforcement
    // admission plugin, setting one needs update on the owner's finalizers.
    apiGroups: [warrenGroup],
    resources: ['rabbitmqclusters/finalizers', 'users/finalizers'],
    verbs: ['update'],
  },
  {
    // A cluster's Erlang cookie, default user and TLS Secrets (read, created, server-side applied); a User's
    // generated credentials (created); connection and import Secrets (read once, then labelled
    // warren.dev/watched so that the label-selected informer sees their changes).
    apiGroups: [''],
    resources: ['secrets'],
    verbs: ['get', 'list', 'watch', 'create', 'patch'],
  },
  {
    // A cluster's children, server-side applied (an apply that creates needs create) and watched by label.
    apiGroups: [''],
    resources: ['services', 'configmaps', 'serviceaccounts'],
    verbs: ['list', 'watch', 'create', 'patch'],
  },
  {
    // Server-side applied and watched like the other children; read afresh (get) before a lost cookie or
    // default-user Secret is refused, because the cache may lag and that decision is about the brokers' data.
    apiGroups: ['apps'],
    resources: ['statefulsets'],
    verbs: ['get', 'list', 'watch', 'create', 'patch'],
  },
  {
    // The peer-discovery Role and RoleBinding of each cluster.
    apiGroups: ['rbac.authorization.k8s.io'],
    resources: ['roles', 'rolebindings'],
    verbs: ['list', 'watch', 'create', 'patch'],
  },
  {
    // The PodDisruptionBudget is deleted when the cluster no longer wants one (a single replica).
    apiGroups: ['policy'],
    resources: ['poddisruptionbudgets'],
    verbs: ['list', 'watch', 'create', 'patch', 'delete'],
  },
  {
    // Pods are labelled to skip the preStop quorum wait when their cluster is deleted.
    apiGroups: [''],
    resources: ['pods'],
    verbs: ['list', 'patch'],
  },
  {
    // Volume claims are patched to a larger size when persistence.storage grows.
    apiGroups: [''],
    resources: ['persistentvolumeclaims'],
    verbs: ['list', 'patch'],
  },
  {
    // The peer-discovery Role grants the broker pods endpoints get and events create; RBAC lets the operator
    // grant only what it holds itself.
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
    // Events about the resources; a repeated Event is patched into a series.
    apiGroups: ['events.k8s.io'],
    resources: ['events'],
    verbs: ['create', 'patch'],
  },
];

/** Rules for leader election, granted only in the operator's own namespace. */
export const leaderElectionRules: readonly PolicyRule[] = [
  {
    // Read, create, then renew and release by update (a 409 means the Lease was lost); list and watch the one
    // Lease (by field selector) so a standby sees a renewal or a release at once.
    apiGroups: ['coordination.k8s.io'],
    resources: ['leases'],
    verbs: ['get', 'list', 'watch', 'create', 'update'],
  },
];
