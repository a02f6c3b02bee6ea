// A RabbitmqCluster for the builders' tests: the minimal manifest a user applies, plus what the API server adds.
import type { RabbitmqCluster, RabbitmqClusterSpec } from '../types.ts';

export function aCluster(
  spec: RabbitmqClusterSpec = {},
  metadata: Partial<RabbitmqCluster['metadata']> = {},
): RabbitmqCluster {
  return {
    apiVersion: 'warren.dev/v1alpha1',
    kind: 'RabbitmqCluster',
    metadata: {
      name: 'orders',
      namespace: 'shop',
      uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
      generation: 1,
      ...metadata,
    },
    spec,
  };
}
