// A realistic topology of N objects, described once and rendered two ways: as Warren custom resources
// (what the operator converges) and as the plain management API writes that create the same objects
// (the broker's own speed limit, measured without the operator).
//
// The unit is a team: one user and its permission, a topic and a headers exchange, ten queues (one of
// them quorum), ten bindings (two of them headers bindings with arguments) and a policy; every ten teams
// share a vhost. That is about 25 objects per team, the shape of a platform with many small services.
import { hashPassword } from '../../src/rabbitmq/passwords.ts';
import { apiPath, bindingsPath } from '../../src/rabbitmq/operations.ts';

export type MixKind = 'Vhost' | 'User' | 'Permission' | 'Exchange' | 'Queue' | 'Binding' | 'Policy';

/** The spec fields the mix uses, across kinds. */
export interface MixSpec {
  name?: string;
  vhost?: string;
  type?: string;
  durable?: boolean;
  tags?: string[];
  limits?: Record<string, number>;
  arguments?: Record<string, unknown>;
  userReference?: { name: string };
  permissions?: { configure: string; write: string; read: string };
  source?: string;
  destination?: string;
  destinationType?: 'queue' | 'exchange';
  routingKey?: string;
  pattern?: string;
  applyTo?: string;
  priority?: number;
  definition?: Record<string, unknown>;
}

export interface MixObject {
  kind: MixKind;
  /** The custom resource's metadata.name. */
  name: string;
  /** The custom resource's spec, without rabbitmqClusterReference. */
  spec: MixSpec;
}

export interface BrokerWriteRequest {
  method: 'PUT' | 'POST';
  path: string;
  body: unknown;
}

const queuesPerTeam = 10;
const teamsPerVhost = 10;

/** The first `count` objects of the mix, dependencies (vhost, exchanges, queues) before dependants. */
export function topologyMix(count: number, prefix = 'bench'): MixObject[] {
  const objects: MixObject[] = [];
  const add = (object: MixObject) => {
    if (objects.length < count) objects.push(object);
  };
  for (let team = 0; objects.length < count; team++) {
    const vhost = `${prefix}-v${Math.floor(team / teamsPerVhost)}`;
    if (team % teamsPerVhost === 0) {
      add({ kind: 'Vhost', name: vhost, spec: { name: vhost, tags: ['bench'], limits: { queues: 1000 } } });
    }
    const t = `${prefix}-t${team}`;
    add({ kind: 'User', name: t, spec: { tags: ['monitoring'] } });
    add({
      kind: 'Permission',
      name: `${t}-perm`,
      spec: {
        vhost,
        userReference: { name: t },
        permissions: { configure: `^${t}\\.`, write: `^${t}\\.`, read: `^${t}\\.` },
      },
    });
    add({
      kind: 'Exchange',
      name: `${t}-events`,
      spec: { name: `${t}.events`, vhost, type: 'topic', durable: true },
    });
    add({
      kind: 'Exchange',
      name: `${t}-headers`,
      spec: { name: `${t}.headers`, vhost, type: 'headers', durable: true },
    });
    for (let q = 0; q < queuesPerTeam; q++) {
      add({
        kind: 'Queue',
        name: `${t}-q${q}`,
        spec: {
          name: `${t}.q${q}`,
          vhost,
          durable: true,
          ...(q === 0 ? { type: 'quorum' } : { arguments: { 'x-max-length': 100_000 } }),
        },
      });
    }
    for (let q = 0; q < queuesPerTeam; q++) {
      const headers = q >= queuesPerTeam - 2;
      add({
        kind: 'Binding',
        name: `${t}-b${q}`,
        spec: {
          vhost,
          source: headers ? `${t}.headers` : `${t}.events`,
          destination: `${t}.q${q}`,
          destinationType: 'queue',
          ...(headers ? { arguments: { 'x-match': 'all', queue: `q${q}` } } : { routingKey: `${t}.q${q}.#` }),
        },
      });
    }
    add({
      kind: 'Policy',
      name: `${t}-limits`,
      spec: {
        name: `${t}-limits`,
        vhost,
        pattern: `^${t}\\.`,
        applyTo: 'queues',
        priority: 1,
        definition: { 'max-length': 100_000 },
      },
    });
  }
  return objects;
}

/** How many objects of each kind. */
export function countByKind(objects: readonly MixObject[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const object of objects) counts[object.kind] = (counts[object.kind] ?? 0) + 1;
  return counts;
}

/**
 * The management API writes that create the same objects directly, one request per object (limits are
 * part of the vhost and user objects and cost an extra PUT each, as they do for the operator).
 */
export function brokerWrites(objects: readonly MixObject[]): BrokerWriteRequest[][] {
  const users = new Map<string, string>(); // User resource name → broker username
  const first: BrokerWriteRequest[] = [];
  const second: BrokerWriteRequest[] = [];
  const third: BrokerWriteRequest[] = [];
  const vhostOf = (spec: MixSpec) => spec.vhost ?? '/';
  for (const { kind, name, spec } of objects) {
    const objectName = spec.name ?? name;
    switch (kind) {
      case 'Vhost':
        first.push({ method: 'PUT', path: apiPath('vhosts', objectName), body: { tags: 'bench' } });
        second.push({
          method: 'PUT',
          path: apiPath('vhost-limits', objectName, 'max-queues'),
          body: { value: 1000 },
        });
        break;
      case 'User':
        users.set(name, name);
        first.push({
          method: 'PUT',
          path: apiPath('users', name),
          body: {
            password_hash: hashPassword(name),
            hashing_algorithm: 'rabbit_password_hashing_sha256',
            tags: 'monitoring',
          },
        });
        break;
      case 'Permission': {
        const user = users.get(spec.userReference?.name ?? '') ?? '';
        second.push({
          method: 'PUT',
          path: apiPath('permissions', vhostOf(spec), user),
          body: spec.permissions,
        });
        break;
      }
      case 'Exchange':
        second.push({
          method: 'PUT',
          path: apiPath('exchanges', vhostOf(spec), objectName),
          body: { type: spec.type, durable: true, auto_delete: false, arguments: {} },
        });
        break;
      case 'Queue': {
        const args = { ...spec.arguments, ...(spec.type === undefined ? {} : { 'x-queue-type': spec.type }) };
        second.push({
          method: 'PUT',
          path: apiPath('queues', vhostOf(spec), objectName),
          body: { durable: true, auto_delete: false, arguments: args },
        });
        break;
      }
      case 'Binding':
        third.push({
          method: 'POST',
          path: bindingsPath(vhostOf(spec), spec.source ?? '', 'queue', spec.destination ?? ''),
          body: { routing_key: spec.routingKey ?? '', arguments: spec.arguments ?? {} },
        });
        break;
      case 'Policy':
        second.push({
          method: 'PUT',
          path: apiPath('policies', vhostOf(spec), objectName),
          body: {
            pattern: spec.pattern,
            definition: spec.definition,
            priority: spec.priority,
            'apply-to': spec.applyTo,
          },
        });
        break;
    }
  }
  // Dependencies first: vhosts and users, then what lives in them, then bindings.
  return [first, second, third];
}
