// Exchange: identity (vhost, name); type, durability and arguments are fixed when it is declared.
import { snapshotKeys } from '../../rabbitmq/snapshot/index.ts';
import { type ExchangeSpec, exchangeResource } from '../../api/index.ts';
import type { Exchange } from '../../rabbitmq/types.ts';
import { differingKeys } from '../../rabbitmq/normalise.ts';
import { show } from './common.ts';
import type { TopologyKind } from './types.ts';

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

export const exchangeKind: TopologyKind<ExchangeSpec, ExchangeWant, Exchange> = {
  kind: 'Exchange',
  resource: exchangeResource,
  deletionPolicy: (spec) => spec.deletionPolicy,
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
  brokerKey: (x) => ({ kind: 'exchange', key: snapshotKeys.exchange(x.vhost, x.name) }),
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
    for (const key of differingKeys(live.arguments, want.arguments)) {
      differences.push(
        `argument ${key} is ${show(live.arguments[key])}, the spec asks for ${show(want.arguments[key])}`,
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
            op: 'putExchange',
            vhost: want.vhost,
            name: want.name,
            settings: {
              type: want.type,
              durable: want.durable,
              auto_delete: want.autoDelete,
              arguments: want.arguments,
            },
          },
        ],
  deletion: (want, policy, fresh) => {
    if (policy === 'retain') return { action: 'retain' };
    if (fresh === undefined) return { action: 'gone' };
    return { action: 'delete', ops: [{ op: 'deleteExchange', vhost: want.vhost, name: want.name }] };
  },
};
