import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { federationSpecSchema } from '../../api/index.ts';
import { planConverge } from '../plan.ts';
import { federationKind } from './federation.ts';
import { fakeSecrets, noReferences, stateOf } from './testing.ts';
import type { References } from './types.ts';

const uri = 'amqp://fed:s3cret@upstream:5672/%2F';
const withSecret = (data: Record<string, string> | undefined): References => ({
  ...noReferences,
  secretData: () => data,
});

describe('Federation', () => {
  // An upstream manifest as the official operator documents it, apiVersion aside.
  const spec = federationSpecSchema.parse({
    name: 'origin',
    vhost: 'shop',
    uriSecret: { name: 'upstream-uri' },
    'prefetch-count': 100,
    ackMode: 'on-confirm',
    expires: 60000,
    messageTTL: 3600000,
    maxHops: 1,
    reconnectDelay: 5,
    trustUserId: false,
    exchange: 'events',
    rabbitmqClusterReference: { name: 'downstream' },
  });
  const value = {
    uri: [uri],
    'prefetch-count': 100,
    'ack-mode': 'on-confirm',
    expires: 60000,
    'message-ttl': 3600000,
    'max-hops': 1,
    'reconnect-delay': 5,
    exchange: 'events',
  };

  it('is a federation-upstream parameter with the URI from the Secret and the spec in the broker’s names', () => {
    assert.deepEqual(federationKind.desired(spec, withSecret({ uri })), {
      ok: true,
      want: { vhost: 'shop', name: 'origin', value },
    });
  });

  it('names the Secret and the key uri when it is missing', () => {
    const missing = federationKind.desired(spec, withSecret({ url: uri }));
    assert.ok(!missing.ok);
    assert.equal(missing.reason, 'SecretInvalid');
    assert.match(missing.message, /Secret "upstream-uri" .*lacks the key uri/);
  });

  it('writes nothing for an equal value and names what differs', () => {
    const want = { vhost: 'shop', name: 'origin', value };
    const live = { component: 'federation-upstream', vhost: 'shop', name: 'origin' };
    const base = { vhosts: [{ name: 'shop' }] };
    assert.deepEqual(
      planConverge(
        federationKind,
        want,
        stateOf({ ...base, parameters: [{ ...live, value }] }),
        fakeSecrets,
        true,
      ),
      { type: 'in-sync' },
    );
    const drifted = { ...value, 'max-hops': 3, queue: 'extra' };
    const plan = planConverge(
      federationKind,
      want,
      stateOf({ ...base, parameters: [{ ...live, value: drifted }] }),
      fakeSecrets,
      true,
    );
    assert.ok(plan.type === 'write');
    assert.equal(plan.verb, 'restore');
    assert.deepEqual(plan.changes, ['maxHops', 'queue']);
  });

  it('deletes the upstream it declared', () => {
    const want = federationKind.deletionWant?.({ metadata: { name: 'origin' } }, spec);
    assert.deepEqual(federationKind.deletion(want!, 'delete', { value }), {
      action: 'delete',
      ops: [{ op: 'deleteParameter', component: 'federation-upstream', vhost: 'shop', name: 'origin' }],
    });
  });
});
