// A RabbitmqCluster for the builders' tests: the manifest a user applies, parsed by the API schema so that
// the defaults the API server would add are there.
import { parseRabbitmqCluster } from '../../api/index.ts';
import type { RabbitmqCluster } from '../types.ts';

export function aCluster(
  spec: Record<string, unknown> = {},
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): RabbitmqCluster {
  const parsed = parseRabbitmqCluster({
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
  });
  if (!parsed.success) throw new Error(parsed.message);
  return parsed.object;
}
