import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiPath, bindingsPath, canonicalJson, endpointIdentity, sameArguments } from './management.ts';

describe('Management API paths', () => {
  it('percent-encodes the default vhost and names in path segments', () => {
    assert.equal(apiPath('queues', '/', 'orders'), '/api/queues/%2F/orders');
    assert.equal(apiPath('queues', 'team/a', 'q 1?#%'), '/api/queues/team%2Fa/q%201%3F%23%25');
  });

  it('spells the default exchange amq.default in binding paths', () => {
    assert.equal(bindingsPath('/', '', 'queue', 'q'), '/api/bindings/%2F/e/amq.default/q/q');
    assert.equal(bindingsPath('v', 'x/y', 'exchange', 'z'), '/api/bindings/v/e/x%2Fy/e/z');
  });
});

describe('Broker endpoint identity', () => {
  const endpoint = {
    url: 'https://user:pw@rabbit.ns.svc:15671/mgmt/',
    username: 'admin',
    password: 'secret',
  };

  it('names the broker by origin and path prefix, without userinfo', () => {
    const identity = endpointIdentity(endpoint);
    assert.equal(identity.brokerId, 'https://rabbit.ns.svc:15671/mgmt');
    assert.equal(identity.origin, 'https://rabbit.ns.svc:15671');
    assert.equal(identity.prefix, '/mgmt');
    assert.ok(!identity.key.includes('secret') && !identity.key.includes('pw'));
  });

  it('gives other credentials another key but the same broker', () => {
    const a = endpointIdentity(endpoint);
    const b = endpointIdentity({ ...endpoint, password: 'rotated' });
    assert.equal(a.brokerId, b.brokerId);
    assert.notEqual(a.key, b.key);
  });

  it('assumes http for a URI without scheme, as upstream does', () => {
    assert.equal(
      endpointIdentity({ url: 'rabbit:15672', username: 'a', password: 'b' }).brokerId,
      'http://rabbit:15672',
    );
  });
});

describe('Binding arguments', () => {
  it('compares arguments regardless of key order', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: 2, c: [3] } }), '{"a":{"c":[3],"d":2},"b":1}');
    assert.equal(sameArguments({ 'x-match': 'all', a: 1 }, { a: 1, 'x-match': 'all' }), true);
    assert.equal(sameArguments({ a: 1 }, { a: '1' }), false);
    assert.equal(sameArguments(undefined, {}), true);
  });
});
