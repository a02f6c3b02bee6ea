import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { officialManifest, officialResources } from './official-operator.ts';
import { topologyMix } from './topology-mix.ts';

describe("The mix as the official operator's resources", () => {
  const mix = topologyMix(260, 'm');

  it('keeps every object of the mix, its name and its whole spec, with the connection Secret as reference', () => {
    for (const object of mix) {
      const manifest = officialManifest(object, 'bench', 'broker');
      assert.equal(manifest.apiVersion, 'rabbitmq.com/v1beta1');
      assert.equal(manifest.kind, object.kind);
      assert.deepEqual(manifest.metadata, { name: object.name, namespace: 'bench' });
      assert.deepEqual(manifest.spec, {
        ...object.spec,
        rabbitmqClusterReference: { connectionSecret: { name: 'broker' } },
      });
    }
    assert.deepEqual(new Set(mix.map((object) => object.kind)), new Set(Object.keys(officialResources)));
  });

  it('writes the objects the mix holds of each kind as the official operator spells them', () => {
    const byName = (name: string) =>
      officialManifest(
        mix.find((o) => o.name === name)!,
        'bench',
        'broker',
      ).spec;
    assert.deepEqual(byName('m-v0'), {
      name: 'm-v0',
      tags: ['bench'],
      limits: { queues: 1000 },
      rabbitmqClusterReference: { connectionSecret: { name: 'broker' } },
    });
    assert.deepEqual(byName('m-t0-b9'), {
      vhost: 'm-v0',
      source: 'm-t0.headers',
      destination: 'm-t0.q9',
      destinationType: 'queue',
      arguments: { 'x-match': 'all', queue: 'q9' },
      rabbitmqClusterReference: { connectionSecret: { name: 'broker' } },
    });
    assert.deepEqual(byName('m-t0-q0'), {
      name: 'm-t0.q0',
      vhost: 'm-v0',
      durable: true,
      type: 'quorum',
      rabbitmqClusterReference: { connectionSecret: { name: 'broker' } },
    });
  });

  it('refuses a field the official kind lacks instead of dropping it', () => {
    assert.throws(
      () => officialManifest({ kind: 'User', name: 'u', spec: { tags: [], vhost: 'v' } }, 'bench', 'broker'),
      /the official User has no spec.vhost \(object u\)/,
    );
    assert.throws(
      () =>
        officialManifest(
          { kind: 'Vhost', name: 'v', spec: { name: 'v', limits: { exchanges: 3 } } },
          'b',
          's',
        ),
      /the official Vhost has no limit "exchanges"/,
    );
  });

  it('addresses the rabbitmq.com/v1beta1 resources by their plural', () => {
    assert.deepEqual(officialResources.Policy, {
      group: 'rabbitmq.com',
      version: 'v1beta1',
      plural: 'policies',
      kind: 'Policy',
      namespaced: true,
    });
  });
});
