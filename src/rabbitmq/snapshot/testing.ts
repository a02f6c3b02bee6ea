// Test fixtures for the snapshot (imported by *.test.ts only).
import type { Definitions } from '../types.ts';
import { buildSnapshot } from './read.ts';
import type { BrokerSnapshot } from './snapshot.ts';

// An export as RabbitMQ 3.10 produces it (vhosts without settings, vhost limits as parameters).
export const exported: Definitions = {
  rabbitmq_version: '3.10.8',
  users: [
    {
      name: 'app',
      password_hash: 'IQyC95hDJab9nOutb6in1ZXJGttkWj8P9BO3CQoyIEcJFThw',
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags: ['monitoring', 'management'],
      limits: { 'max-channels': 10 },
    },
  ],
  vhosts: [{ name: '/' }, { name: 'orders' }],
  permissions: [{ user: 'app', vhost: 'orders', configure: '.*', write: '.*', read: '' }],
  topic_permissions: [{ user: 'app', vhost: 'orders', exchange: 'amq.topic', write: '.*', read: '.*' }],
  parameters: [{ value: { 'max-queues': 10 }, vhost: 'orders', component: 'vhost-limits', name: 'limits' }],
  policies: [
    {
      vhost: 'orders',
      name: 'ttl',
      pattern: '^q',
      'apply-to': 'queues',
      definition: { 'message-ttl': 1000 },
      priority: 1,
    },
  ],
  queues: [
    {
      name: 'q1',
      vhost: 'orders',
      durable: true,
      auto_delete: false,
      arguments: { 'x-queue-type': 'quorum' },
    },
    { name: 'q2', vhost: 'orders', durable: true, auto_delete: false, arguments: {} },
  ],
  exchanges: [
    {
      name: 'x1',
      vhost: 'orders',
      type: 'headers',
      durable: true,
      auto_delete: false,
      internal: false,
      arguments: {},
    },
  ],
  bindings: [
    {
      source: 'x1',
      vhost: 'orders',
      destination: 'q1',
      destination_type: 'queue',
      routing_key: 'k',
      arguments: { 'x-match': 'all', a: 1 },
    },
    {
      source: 'x1',
      vhost: 'orders',
      destination: 'q1',
      destination_type: 'queue',
      routing_key: 'k',
      arguments: {},
    },
    {
      source: 'x1',
      vhost: 'orders',
      destination: 'q2',
      destination_type: 'queue',
      routing_key: '',
      arguments: {},
    },
  ],
};

export const listedVhosts = [
  {
    name: '/',
    description: 'Default virtual host',
    tags: [],
    tracing: false,
    default_queue_type: 'undefined',
  },
  { name: 'orders', description: 'd', tags: ['b', 'a'], tracing: true, default_queue_type: 'quorum' },
];

export function snapshot(definitions: Definitions = exported, fetchedAt = 1): BrokerSnapshot {
  return buildSnapshot('http://broker:15672', fetchedAt, {
    definitions: structuredClone(definitions),
    vhosts: listedVhosts,
  });
}
