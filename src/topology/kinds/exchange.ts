// Exchange: identity (vhost, name); type, durability and arguments are fixed at declaration.
import { apiPath, differingKeys, show } from './common.ts';
import type { ExchangeSpec } from './specs.ts';
import type { LiveExchange, TopologyKind } from './types.ts';

export interface ExchangeWant {
  vhost: string;
  name: string;
  type: string;
  durable: boolean;
  autoDelete: boolean;
  arguments: Record<string, unknown>;
}

const describe = (x: { vhost: string; name: string }) => `exchange "${x.name}" in vhost "${x.vhost}"`;

const advice =
  'RabbitMQ cannot change an exchange in place. Align the spec with the exchange, use a Policy for settings ' +
  'that change (alternate-exchange, federation), or delete the exchange on the broker so that Warren can ' +
  'declare it again (its bindings go with it).';

export const exchangeKind: TopologyKind<ExchangeSpec, ExchangeWant, LiveExchange> = {
  kind: 'Exchange',
  deletionPolicy: (spec) => spec.deletionPolicy ?? 'delete',
  desired: (spec) => ({
    ok: true,
    want: {
      vhost: spec.vhost,
      name: spec.name,
      type: spec.type,
      durable: spec.durable,
      autoDelete: spec.autoDelete,
      arguments: spec.arguments ?? {},
    },
  }),
  brokerKey: (x) => `exchange\0${x.vhost}\0${x.name}`,
  describe,
  dependencies: (x) => [{ type: 'vhost', name: x.vhost }],
  live: (state, x) => state.exchange(x.vhost, x.name),
  compare: (live, want) => {
    if (live.type !== want.type) {
      return {
        changes: [],
        conflict: {
          reason: 'ExchangeTypeConflict',
          message: `${describe(want)} exists with type ${live.type}; the spec asks for ${want.type}. ${advice}`,
        },
      };
    }
    const differences: string[] = [];
    if (live.durable !== want.durable)
      differences.push(`durable is ${live.durable}, the spec asks for ${want.durable}`);
    if (live.auto_delete !== want.autoDelete) {
      differences.push(`autoDelete is ${live.auto_delete}, the spec asks for ${want.autoDelete}`);
    }
    const liveArgs = live.arguments ?? {};
    for (const key of differingKeys(liveArgs, want.arguments)) {
      differences.push(
        `argument ${key} is ${show(liveArgs[key])}, the spec asks for ${show(want.arguments[key])}`,
      );
    }
    if (differences.length === 0) return { changes: [] };
    return {
      changes: [],
      conflict: {
        reason: 'ExchangePropertiesImmutable',
        message: `${describe(want)} exists with other properties: ${differences.join('; ')}. ${advice}`,
      },
    };
  },
  write: (want, live) =>
    live
      ? []
      : [
          {
            method: 'PUT',
            path: apiPath('exchanges', want.vhost, want.name),
            body: {
              type: want.type,
              durable: want.durable,
              auto_delete: want.autoDelete,
              arguments: want.arguments,
            },
          },
        ],
  freshRead: (x) => apiPath('exchanges', x.vhost, x.name),
  deletion: (want, policy, fresh) => {
    if (policy === 'retain') return { action: 'retain' };
    if (fresh === undefined) return { action: 'gone' };
    return {
      action: 'delete',
      requests: [{ method: 'DELETE', path: apiPath('exchanges', want.vhost, want.name) }],
    };
  },
};
