// Binding: no name on the broker. Its identity is the whole tuple (source, destination, destination type,
// routing key, arguments); the client deletes exactly the properties key of the matching binding.
import { type BindingSpec, bindingResource } from '../../api/index.ts';
import type { Binding } from '../../rabbitmq/types.ts';
import { snapshotKeys } from '../../rabbitmq/snapshot/index.ts';
import type { Dependency, TopologyKind } from './types.ts';

/** Exchanges every vhost has, which the definitions export leaves out. */
export function isBuiltInExchange(name: string): boolean {
  return name === '' || name.startsWith('amq.');
}

const describe = (b: Binding) =>
  `binding from exchange "${b.source}" to ${b.destination_type} "${b.destination}" with routing key ` +
  `"${b.routing_key}"${Object.keys(b.arguments).length ? ` and arguments ${JSON.stringify(b.arguments)}` : ''} ` +
  `in vhost "${b.vhost}"`;

export const bindingKind: TopologyKind<BindingSpec, Binding, Binding> = {
  kind: 'Binding',
  resource: bindingResource,
  deletionPolicy: () => 'delete',
  desired: (spec) => ({
    ok: true,
    want: {
      vhost: spec.vhost,
      source: spec.source,
      destination: spec.destination,
      destination_type: spec.destinationType,
      routing_key: spec.routingKey,
      arguments: spec.arguments ?? {},
    },
  }),
  brokerKey: (b) => ({ kind: 'binding', key: snapshotKeys.binding(b) }),
  describe,
  dependencies: (b) => {
    const deps: Dependency[] = [{ type: 'vhost', name: b.vhost }];
    if (!isBuiltInExchange(b.source)) deps.push({ type: 'exchange', vhost: b.vhost, name: b.source });
    if (b.destination_type === 'queue') deps.push({ type: 'queue', vhost: b.vhost, name: b.destination });
    else if (!isBuiltInExchange(b.destination))
      deps.push({ type: 'exchange', vhost: b.vhost, name: b.destination });
    return deps;
  },
  live: (state, b) => (state.hasBinding(b) ? b : undefined),
  compare: () => ({ changes: [] }), // the identity is the whole binding: present means equal
  write: (want, live) => (live ? [] : [{ op: 'createBinding', binding: want }]),
  deletion: (want, _policy, fresh) =>
    fresh === undefined
      ? { action: 'gone' }
      : { action: 'delete', ops: [{ op: 'deleteBinding', binding: want }] },
};
