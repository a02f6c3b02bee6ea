// The public surface of the API package: import from here.
export * from './common.ts';
export * from './resource.ts';
export * from './kinds.ts';
export * from './rabbitmq-cluster.ts';
export * from './vhost.ts';
export * from './user.ts';
export * from './permission.ts';
export * from './topic-permission.ts';
export * from './exchange.ts';
export * from './queue.ts';
export * from './super-stream.ts';
export * from './binding.ts';
export * from './policy.ts';
export * from './operator-policy.ts';
export * from './shovel.ts';
export * from './federation.ts';
