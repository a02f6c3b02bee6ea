// Binding: no name on the broker. Its identity is the whole tuple (source, destination, destination type,
// routing key, arguments); deletion removes exactly the broker's properties_key of the matching binding.
import { apiPath, sameJson } from './common.ts';
import type { BindingSpec } from './specs.ts';
import type { Dependency, LiveBinding, TopologyKind } from './types.ts';

export interface BindingWant {
  vhost: string;
  source: string;
  destination: string;
  destinationType: 'queue' | 'exchange';
  routingKey: string;
  arguments: Record<string, unknown>;
}

/** Exchanges every vhost has, which the definitions export leaves out. */
export function isBuiltInExchange(name: string): boolean {
  return name === '' || name.startsWith('amq.');
}

const describe = (b: BindingWant) =>
  `binding from exchange "${b.source}" to ${b.destinationType} "${b.destination}" with routing key ` +
  `"${b.routingKey}"${Object.keys(b.arguments).length ? ` and arguments ${JSON.stringify(b.arguments)}` : ''} ` +
  `in vhost "${b.vhost}"`;

/** The live binding that is this one, if any. */
export function findBinding(bindings: readonly LiveBinding[], want: BindingWant): LiveBinding | undefined {
  return bindings.find(
    (b) =>
      b.source === want.source &&
      b.destination === want.destination &&
      b.destination_type === want.destinationType &&
      b.routing_key === want.routingKey &&
      sameJson(b.arguments ?? {}, want.arguments),
  );
}

const listPath = (b: BindingWant) =>
  apiPath('bindings', b.vhost, 'e', b.source, b.destinationType === 'queue' ? 'q' : 'e', b.destination);

export const bindingKind: TopologyKind<BindingSpec, BindingWant, LiveBinding> = {
  kind: 'Binding',
  deletionPolicy: () => 'delete',
  desired: (spec) => ({
    ok: true,
    want: {
      vhost: spec.vhost,
      source: spec.source,
      destination: spec.destination,
      destinationType: spec.destinationType,
      routingKey: spec.routingKey ?? '',
      arguments: spec.arguments ?? {},
    },
  }),
  brokerKey: (b) =>
    [
      'binding',
      b.vhost,
      b.source,
      b.destinationType,
      b.destination,
      b.routingKey,
      canonicalJson(b.arguments),
    ].join('\0'),
  describe,
  dependencies: (b) => {
    const deps: Dependency[] = [{ type: 'vhost', name: b.vhost }];
    if (!isBuiltInExchange(b.source)) deps.push({ type: 'exchange', vhost: b.vhost, name: b.source });
    if (b.destinationType === 'queue') deps.push({ type: 'queue', vhost: b.vhost, name: b.destination });
    else if (!isBuiltInExchange(b.destination))
      deps.push({ type: 'exchange', vhost: b.vhost, name: b.destination });
    return deps;
  },
  live: (state, b) => findBinding(state.bindings(b.vhost, b.source, b.destinationType, b.destination), b),
  compare: () => ({ changes: [] }), // the identity is the whole binding: present means equal
  write: (want, live) =>
    live
      ? []
      : [
          {
            method: 'POST',
            path: listPath(want),
            body: { routing_key: want.routingKey, arguments: want.arguments },
          },
        ],
  freshRead: listPath,
  deletion: (want, _policy, fresh) => {
    const match = Array.isArray(fresh) ? findBinding(fresh as LiveBinding[], want) : undefined;
    if (match?.properties_key === undefined) return { action: 'gone' };
    return {
      action: 'delete',
      requests: [{ method: 'DELETE', path: `${listPath(want)}/${encodeURIComponent(match.properties_key)}` }],
    };
  },
};

function canonicalJson(value: Record<string, unknown>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b))));
}
