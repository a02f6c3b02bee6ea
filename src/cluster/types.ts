// The cluster as the builders see it: the API type, with spec defaults applied by the schema.
export type { RabbitmqCluster, RabbitmqClusterSpec, RabbitmqClusterStatus } from '../api/index.ts';
