// The runtime's public surface: reconcilers import from here.
export * from './resource.ts';
export * from './api-server.ts';
export * from './kube-client.ts';
export * from './informer.ts';
export * from './workqueue.ts';
export * from './backoff.ts';
export * from './controller.ts';
export * from './manager.ts';
export * from './leader-election.ts';
export * from './finalizers.ts';
export * from './conditions.ts';
export * from './status.ts';
export * from './apply.ts';
export * from './events.ts';
export * from './metrics.ts';
export * from './logger.ts';
