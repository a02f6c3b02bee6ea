// The generic topology reconciler: import from here.
export { createTopologyReconciler } from './reconcile.ts';
export { topologyFinalizer, type TopologyRuntime } from './context.ts';
