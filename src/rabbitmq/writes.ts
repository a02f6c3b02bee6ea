// What a successful management API write did to the broker's topology, read from the request
// itself (method, path, body). The client reports every write this way, typed helper or raw
// request alike, so the shared snapshot stays current without refetching after each write.
import { normaliseTags } from './normalise.ts';
import type {
  Binding,
  DestinationType,
  Exchange,
  Permission,
  Policy,
  Queue,
  TopicPermission,
  VhostSettings,
} from './types.ts';

export type BrokerWrite =
  | { kind: 'vhost'; op: 'put'; name: string; settings: VhostSettings }
  | { kind: 'vhost'; op: 'delete'; name: string }
  | { kind: 'vhostLimit'; op: 'put'; vhost: string; limit: string; value: number }
  | { kind: 'vhostLimit'; op: 'delete'; vhost: string; limit: string }
  | {
      kind: 'user';
      op: 'put';
      name: string;
      settings: { password_hash: string; hashing_algorithm: string; tags: string[] };
    }
  | { kind: 'user'; op: 'delete'; name: string }
  | { kind: 'userLimit'; op: 'put'; user: string; limit: string; value: number }
  | { kind: 'userLimit'; op: 'delete'; user: string; limit: string }
  | { kind: 'permission'; op: 'put'; value: Permission }
  | { kind: 'permission'; op: 'delete'; vhost: string; user: string }
  | { kind: 'topicPermission'; op: 'put'; value: TopicPermission }
  | { kind: 'topicPermission'; op: 'delete'; vhost: string; user: string; exchange?: string }
  | { kind: 'exchange'; op: 'put'; value: Exchange }
  | { kind: 'exchange'; op: 'delete'; vhost: string; name: string }
  | { kind: 'queue'; op: 'put'; value: Queue }
  | { kind: 'queue'; op: 'delete'; vhost: string; name: string }
  | { kind: 'binding'; op: 'put' | 'delete'; value: Binding }
  | { kind: 'policy'; op: 'put'; value: Policy }
  | { kind: 'policy'; op: 'delete'; vhost: string; name: string }
  /** A write whose effect the snapshot cannot model (definitions import, …): refetch. */
  | { kind: 'unknown'; method: string; path: string };

/** A binding deleted by properties key: resolved to its tuple by the client's last listing. */
export interface BindingKeyDelete {
  vhost: string;
  source: string;
  destination_type: DestinationType;
  destination: string;
  propertiesKey: string;
}

type Body = Record<string, unknown>;

function record(body: unknown): Body {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Body) : {};
}

function str(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}

function bool(value: unknown, fallback: boolean): boolean {
  return typeof value === 'boolean' ? value : fallback;
}

function args(value: unknown): Record<string, unknown> {
  return record(value);
}

/** `/api/queues/%2F/q?if-empty=true` → ['queues', '/', 'q']; undefined outside `/api/`. */
export function pathSegments(path: string): string[] | undefined {
  const bare = path.split('?')[0] ?? '';
  if (!bare.startsWith('/api/')) return undefined;
  try {
    return bare.slice('/api/'.length).split('/').map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

const exchangeName = (segment: string): string => (segment === 'amq.default' ? '' : segment);

/**
 * The effect of a write that succeeded (or a DELETE that found nothing). A binding DELETE by
 * properties key comes back as a BindingKeyDelete for the caller to resolve.
 */
export function writeFromRequest(
  method: string,
  path: string,
  body: unknown,
): BrokerWrite | BindingKeyDelete | undefined {
  if (method === 'GET') return undefined;
  const unknown: BrokerWrite = { kind: 'unknown', method, path };
  const segments = pathSegments(path);
  if (segments === undefined) return unknown;
  const b = record(body);
  const put = method === 'PUT';
  const del = method === 'DELETE';
  const [resource, ...rest] = segments;
  const [first = '', second = '', third = '', , fifth = '', sixth = ''] = rest;
  switch (resource) {
    case 'vhosts':
      if (rest.length !== 1) break;
      if (del) return { kind: 'vhost', op: 'delete', name: first };
      if (put) {
        const settings: VhostSettings = {
          ...(typeof b.description === 'string' ? { description: b.description } : {}),
          ...('tags' in b ? { tags: normaliseTags(Array.isArray(b.tags) ? b.tags : str(b.tags)) } : {}),
          ...(typeof b.default_queue_type === 'string' ? { default_queue_type: b.default_queue_type } : {}),
          ...(typeof b.tracing === 'boolean' ? { tracing: b.tracing } : {}),
        };
        return { kind: 'vhost', op: 'put', name: first, settings };
      }
      break;
    case 'vhost-limits':
      if (rest.length !== 2) break;
      if (del) return { kind: 'vhostLimit', op: 'delete', vhost: first, limit: second };
      if (put && typeof b.value === 'number') {
        return { kind: 'vhostLimit', op: 'put', vhost: first, limit: second, value: b.value };
      }
      break;
    case 'users':
      if (rest.length !== 1) break;
      if (del) return { kind: 'user', op: 'delete', name: first };
      // A plain `password` is hashed by the client before sending, so first hash is always known here.
      if (put && typeof b.password_hash === 'string') {
        return {
          kind: 'user',
          op: 'put',
          name: first,
          settings: {
            password_hash: b.password_hash,
            hashing_algorithm: str(b.hashing_algorithm, 'rabbit_password_hashing_sha256'),
            tags: normaliseTags(Array.isArray(b.tags) ? b.tags : str(b.tags)),
          },
        };
      }
      break;
    case 'user-limits':
      if (rest.length !== 2) break;
      if (del) return { kind: 'userLimit', op: 'delete', user: first, limit: second };
      if (put && typeof b.value === 'number') {
        return { kind: 'userLimit', op: 'put', user: first, limit: second, value: b.value };
      }
      break;
    case 'permissions':
      if (rest.length !== 2) break;
      if (del) return { kind: 'permission', op: 'delete', vhost: first, user: second };
      if (put) {
        return {
          kind: 'permission',
          op: 'put',
          value: {
            vhost: first,
            user: second,
            configure: str(b.configure),
            write: str(b.write),
            read: str(b.read),
          },
        };
      }
      break;
    case 'topic-permissions':
      if (del && (rest.length === 2 || rest.length === 3)) {
        return {
          kind: 'topicPermission',
          op: 'delete',
          vhost: first,
          user: second,
          ...(rest.length === 3 ? { exchange: third } : {}),
        };
      }
      if (put && rest.length === 2) {
        return {
          kind: 'topicPermission',
          op: 'put',
          value: {
            vhost: first,
            user: second,
            exchange: str(b.exchange),
            write: str(b.write),
            read: str(b.read),
          },
        };
      }
      break;
    case 'exchanges':
      if (rest.length !== 2) break;
      if (del) return { kind: 'exchange', op: 'delete', vhost: first, name: second };
      if (put) {
        return {
          kind: 'exchange',
          op: 'put',
          value: {
            vhost: first,
            name: second,
            type: str(b.type),
            durable: bool(b.durable, false),
            auto_delete: bool(b.auto_delete, false),
            internal: bool(b.internal, false),
            arguments: args(b.arguments),
          },
        };
      }
      break;
    case 'queues':
      if (rest.length !== 2) break;
      if (del) return { kind: 'queue', op: 'delete', vhost: first, name: second };
      if (put) {
        return {
          kind: 'queue',
          op: 'put',
          value: {
            vhost: first,
            name: second,
            durable: bool(b.durable, false),
            auto_delete: bool(b.auto_delete, false),
            arguments: args(b.arguments),
          },
        };
      }
      break;
    case 'bindings': {
      // {vhost}/fifth/{source}/{q|fifth}/{destination}[/{properties key}]
      if ((rest.length !== 5 && rest.length !== 6) || rest[1] !== 'e' || (rest[3] !== 'q' && rest[3] !== 'e'))
        break;
      const destinationType: DestinationType = rest[3] === 'q' ? 'queue' : 'exchange';
      const vhost = first;
      const source = exchangeName(third);
      const destination = destinationType === 'queue' ? fifth : exchangeName(fifth);
      if (method === 'POST' && rest.length === 5) {
        return {
          kind: 'binding',
          op: 'put',
          value: {
            vhost,
            source,
            destination,
            destination_type: destinationType,
            routing_key: str(b.routing_key),
            arguments: args(b.arguments),
          },
        };
      }
      if (del && rest.length === 6) {
        return { vhost, source, destination, destination_type: destinationType, propertiesKey: sixth };
      }
      break;
    }
    case 'policies':
      if (rest.length !== 2) break;
      if (del) return { kind: 'policy', op: 'delete', vhost: first, name: second };
      if (put) {
        return {
          kind: 'policy',
          op: 'put',
          value: {
            vhost: first,
            name: second,
            pattern: str(b.pattern),
            definition: record(b.definition),
            priority: typeof b.priority === 'number' ? b.priority : 0,
            'apply-to': str(b['apply-to'], 'all'),
          },
        };
      }
      break;
    default:
      break;
  }
  // Publishing and other writes that leave the topology alone.
  if (resource === 'exchanges' && rest[2] === 'publish') return undefined;
  if (resource === 'queues' && (rest[2] === 'get' || rest[2] === 'contents')) return undefined;
  return unknown;
}
