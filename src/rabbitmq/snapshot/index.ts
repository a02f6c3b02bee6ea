// The broker snapshot: import from here.
export * from './snapshot.ts';
export * from './read.ts';
export * from './apply.ts';
export * from './drift.ts';
export * from './cache.ts';
