// Names, labels and metadata shared by every child object of a cluster.
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import type { RabbitmqCluster } from '../types.ts';

/** Name, namespace and uid of a cluster read from the API server (which always sets them). */
export function identity(cluster: RabbitmqCluster): { name: string; namespace: string; uid: string } {
  const { name = '', namespace = '', uid = '' } = cluster.metadata;
  return { name, namespace, uid };
}

/** The names of a cluster's children, in one place so builders, reconciler and tests agree. */
export function childNames(cluster: RabbitmqCluster) {
  const { name } = identity(cluster);
  return {
    clientService: name,
    headlessService: `${name}-nodes`,
    erlangCookie: `${name}-erlang-cookie`,
    defaultUser: `${name}-default-user`,
    pluginsConfig: `${name}-plugins-conf`,
    serverConfig: `${name}-server-conf`,
    serviceAccount: `${name}-server`,
    role: `${name}-peer-discovery`,
    roleBinding: `${name}-server`,
    statefulSet: `${name}-server`,
    podDisruptionBudget: `${name}-server`,
    /** The volumeClaimTemplate name; PVCs are `persistence-<name>-server-<ordinal>`. */
    persistenceVolume: 'persistence',
  } as const;
}

export const partOfLabel = 'app.kubernetes.io/part-of';
export const nameLabel = 'app.kubernetes.io/name';

/** The labels that select a cluster's pods. Never changes for a live cluster (StatefulSet selectors are immutable). */
export function selectorLabels(cluster: RabbitmqCluster): Record<string, string> {
  return { [nameLabel]: identity(cluster).name };
}

/**
 * Labels of every child: the standard three (as upstream writes them, so existing dashboards and
 * selectors keep working) plus the cluster's own labels, which cannot override the standard ones.
 */
export function childLabels(cluster: RabbitmqCluster): Record<string, string> {
  const inherited = Object.entries(cluster.metadata.labels ?? {}).filter(
    ([key]) => !key.startsWith('app.kubernetes.io'),
  );
  return {
    ...Object.fromEntries(inherited),
    ...selectorLabels(cluster),
    'app.kubernetes.io/component': 'rabbitmq',
    [partOfLabel]: 'rabbitmq',
  };
}

/** Cluster annotations worth copying: not Kubernetes' own, not Warren's controls. */
export function childAnnotations(cluster: RabbitmqCluster): Record<string, string> {
  return Object.fromEntries(
    Object.entries(cluster.metadata.annotations ?? {}).filter(
      ([key]) =>
        !key.includes('kubernetes.io') &&
        !key.includes('k8s.io') &&
        !key.startsWith('warren.dev/') &&
        !key.startsWith('rabbitmq.com/'),
    ),
  );
}

export function ownerReference(cluster: RabbitmqCluster): V1OwnerReference {
  return {
    apiVersion: cluster.apiVersion,
    kind: cluster.kind,
    name: identity(cluster).name,
    uid: identity(cluster).uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Metadata of a child object: name, namespace, labels, copied annotations and the controller reference. */
export function childMeta(
  cluster: RabbitmqCluster,
  name: string,
  extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): V1ObjectMeta {
  const annotations = { ...childAnnotations(cluster), ...extra.annotations };
  return {
    name,
    namespace: identity(cluster).namespace,
    labels: { ...extra.labels, ...childLabels(cluster) },
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    ownerReferences: [ownerReference(cluster)],
  };
}
