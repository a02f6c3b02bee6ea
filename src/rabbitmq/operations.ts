// One broker write, typed from the kind that plans it to the wire and into the snapshot. A kind returns
// BrokerOps; the client applies each one (`ManagementClient.apply`): it takes the per-vhost policy gate the
// operation names, sends the request `wireRequest` builds, and hands the same operation to the snapshot
// (snapshot/apply.ts). Nothing reads a URL path back into meaning.
import { normaliseTags } from './normalise.ts';
import type {
  Binding,
  ExchangeSettings,
  ParameterValue,
  PermissionSettings,
  PolicySettings,
  QueueSettings,
  TopicPermissionSettings,
  UserSettings,
  VhostSettings,
} from './types.ts';

export type BrokerOp =
  | { op: 'putVhost'; name: string; settings: VhostSettings }
  | { op: 'deleteVhost'; name: string }
  | { op: 'putVhostLimit'; vhost: string; limit: string; value: number }
  | { op: 'deleteVhostLimit'; vhost: string; limit: string }
  | { op: 'putUser'; name: string; settings: UserSettings }
  | { op: 'deleteUser'; name: string }
  | { op: 'putUserLimit'; user: string; limit: string; value: number }
  | { op: 'deleteUserLimit'; user: string; limit: string }
  | { op: 'putPermission'; vhost: string; user: string; settings: PermissionSettings }
  | { op: 'deletePermission'; vhost: string; user: string }
  | { op: 'putTopicPermission'; vhost: string; user: string; settings: TopicPermissionSettings }
  /** Without `exchange`: all of the user's topic permissions in the vhost. */
  | { op: 'deleteTopicPermission'; vhost: string; user: string; exchange?: string }
  | { op: 'putExchange'; vhost: string; name: string; settings: ExchangeSettings }
  | { op: 'deleteExchange'; vhost: string; name: string; ifUnused?: boolean }
  | { op: 'putQueue'; vhost: string; name: string; settings: QueueSettings }
  | { op: 'deleteQueue'; vhost: string; name: string; ifEmpty: boolean; ifUnused: boolean }
  | { op: 'createBinding'; binding: Binding }
  | { op: 'deleteBinding'; binding: Binding }
  | { op: 'putPolicy'; vhost: string; name: string; settings: PolicySettings }
  | { op: 'deletePolicy'; vhost: string; name: string }
  | { op: 'putOperatorPolicy'; vhost: string; name: string; settings: PolicySettings }
  | { op: 'deleteOperatorPolicy'; vhost: string; name: string }
  /** A runtime parameter of a plugin component (`shovel`, `federation-upstream`). */
  | { op: 'putParameter'; component: string; vhost: string; name: string; value: ParameterValue }
  | { op: 'deleteParameter'; component: string; vhost: string; name: string };

export type OpName = BrokerOp['op'];

export type WireMethod = 'PUT' | 'POST' | 'DELETE';

export interface WireRequest {
  method: WireMethod;
  path: string;
  body?: unknown;
}

/** One path segment, percent-encoded (`/` → `%2F`, so the default vhost is `%2F`). */
export function segment(value: string): string {
  return encodeURIComponent(value);
}

/** `/api/a/b/c` from raw (unencoded) segments. */
export function apiPath(...segments: string[]): string {
  return `/api/${segments.map(segment).join('/')}`;
}

/** Exchange names in binding paths: the default exchange is spelt `amq.default`. */
function exchangeSegment(name: string): string {
  return name === '' ? 'amq.default' : name;
}

/** The bindings between one source exchange and one destination. */
export function bindingsPath(
  vhost: string,
  source: string,
  destinationType: Binding['destination_type'],
  destination: string,
): string {
  const dest = destinationType === 'queue' ? destination : exchangeSegment(destination);
  return apiPath(
    'bindings',
    vhost,
    'e',
    exchangeSegment(source),
    destinationType === 'queue' ? 'q' : 'e',
    dest,
  );
}

function withFlags(path: string, flags: Record<string, boolean | undefined>): string {
  const query = new URLSearchParams();
  for (const [flag, on] of Object.entries(flags)) if (on === true) query.set(flag, 'true');
  return query.size === 0 ? path : `${path}?${query.toString()}`;
}

/**
 * The request that performs an operation. A binding is deleted by the properties key the broker lists it
 * under, which the client looks up first (see `ManagementClient.apply`); here it is the listing's path.
 */
export function wireRequest(op: BrokerOp): WireRequest {
  switch (op.op) {
    case 'putVhost': {
      const { tags, ...rest } = op.settings;
      const body = { ...rest, ...(tags === undefined ? {} : { tags: normaliseTags(tags).join(',') }) };
      return { method: 'PUT', path: apiPath('vhosts', op.name), body };
    }
    case 'deleteVhost':
      return { method: 'DELETE', path: apiPath('vhosts', op.name) };
    case 'putVhostLimit':
      return { method: 'PUT', path: apiPath('vhost-limits', op.vhost, op.limit), body: { value: op.value } };
    case 'deleteVhostLimit':
      return { method: 'DELETE', path: apiPath('vhost-limits', op.vhost, op.limit) };
    case 'putUser': {
      const { password_hash, hashing_algorithm, tags } = op.settings;
      return {
        method: 'PUT',
        path: apiPath('users', op.name),
        body: { password_hash, hashing_algorithm, tags: normaliseTags(tags).join(',') },
      };
    }
    case 'deleteUser':
      return { method: 'DELETE', path: apiPath('users', op.name) };
    case 'putUserLimit':
      return { method: 'PUT', path: apiPath('user-limits', op.user, op.limit), body: { value: op.value } };
    case 'deleteUserLimit':
      return { method: 'DELETE', path: apiPath('user-limits', op.user, op.limit) };
    case 'putPermission':
      return { method: 'PUT', path: apiPath('permissions', op.vhost, op.user), body: op.settings };
    case 'deletePermission':
      return { method: 'DELETE', path: apiPath('permissions', op.vhost, op.user) };
    case 'putTopicPermission':
      return { method: 'PUT', path: apiPath('topic-permissions', op.vhost, op.user), body: op.settings };
    case 'deleteTopicPermission':
      return {
        method: 'DELETE',
        path:
          op.exchange === undefined
            ? apiPath('topic-permissions', op.vhost, op.user)
            : apiPath('topic-permissions', op.vhost, op.user, op.exchange),
      };
    case 'putExchange':
      return {
        method: 'PUT',
        path: apiPath('exchanges', op.vhost, op.name),
        body: { ...op.settings, internal: op.settings.internal ?? false },
      };
    case 'deleteExchange':
      return {
        method: 'DELETE',
        path: withFlags(apiPath('exchanges', op.vhost, op.name), { 'if-unused': op.ifUnused }),
      };
    case 'putQueue':
      return { method: 'PUT', path: apiPath('queues', op.vhost, op.name), body: op.settings };
    case 'deleteQueue':
      return {
        method: 'DELETE',
        path: withFlags(apiPath('queues', op.vhost, op.name), {
          'if-empty': op.ifEmpty,
          'if-unused': op.ifUnused,
        }),
      };
    case 'createBinding': {
      const b = op.binding;
      return {
        method: 'POST',
        path: bindingsPath(b.vhost, b.source, b.destination_type, b.destination),
        body: { routing_key: b.routing_key, arguments: b.arguments },
      };
    }
    case 'deleteBinding': {
      const b = op.binding;
      return { method: 'DELETE', path: bindingsPath(b.vhost, b.source, b.destination_type, b.destination) };
    }
    case 'putPolicy':
      return { method: 'PUT', path: apiPath('policies', op.vhost, op.name), body: op.settings };
    case 'deletePolicy':
      return { method: 'DELETE', path: apiPath('policies', op.vhost, op.name) };
    case 'putOperatorPolicy':
      return { method: 'PUT', path: apiPath('operator-policies', op.vhost, op.name), body: op.settings };
    case 'deleteOperatorPolicy':
      return { method: 'DELETE', path: apiPath('operator-policies', op.vhost, op.name) };
    case 'putParameter':
      return {
        method: 'PUT',
        path: apiPath('parameters', op.component, op.vhost, op.name),
        body: { component: op.component, vhost: op.vhost, name: op.name, value: op.value },
      };
    case 'deleteParameter':
      return { method: 'DELETE', path: apiPath('parameters', op.component, op.vhost, op.name) };
  }
}

/** Whether the operation removes something (a 404 then means it is already done). */
export function isDeletion(op: BrokerOp): boolean {
  return op.op.startsWith('delete');
}

const htmlEscapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/**
 * The ways a URI with credentials can appear in a broker's answer: as sent, HTML-escaped (the broker escapes
 * its validation messages), and its user-info and password alone, raw and decoded.
 */
function uriSecrets(uri: string): string[] {
  const spellings = [uri, uri.replace(/[&<>"]/g, (c) => htmlEscapes[c] ?? c)];
  const userInfo = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(uri)?.[1];
  if (userInfo !== undefined) {
    spellings.push(userInfo);
    const password = userInfo.slice(userInfo.indexOf(':') + 1);
    if (userInfo.includes(':')) spellings.push(password, safeDecode(password));
  }
  return spellings;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Every string in a parameter value that is a URI: shovel and federation URIs carry credentials. */
function urisIn(value: unknown): string[] {
  if (typeof value === 'string') return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? [value] : [];
  if (Array.isArray(value)) return value.flatMap(urisIn);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(urisIn);
  return [];
}

/** Values the operation carries that must never appear in an error message. */
export function secretsOf(op: BrokerOp): string[] {
  switch (op.op) {
    case 'putUser':
      return [op.settings.password_hash];
    case 'putParameter':
      return urisIn(op.value).flatMap(uriSecrets);
    default:
      return [];
  }
}
