// A PodDisruptionBudget, which the upstream operator leaves out: node drains take one broker at a time.
import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { RabbitmqCluster } from '../types.ts';
import { childMeta, childNames, selectorLabels } from './meta.ts';

/** One pod at a time for a multi-node cluster; none for a single node, where a budget would block every drain. */
export function podDisruptionBudget(cluster: RabbitmqCluster): V1PodDisruptionBudget | undefined {
  if (cluster.spec.replicas <= 1) return undefined;
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: childMeta(cluster, childNames(cluster).podDisruptionBudget),
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: selectorLabels(cluster) },
      // A pod that never became ready may be evicted even when the budget is spent (it serves nobody).
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  };
}
