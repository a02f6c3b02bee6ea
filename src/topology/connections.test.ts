import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endpointFromSecret } from './connections.ts';

/** The reason a Secret cannot be used, or a failure when it can. */
function refusal(data: Record<string, string>): string {
  const result = endpointFromSecret(data);
  if (typeof result !== 'string') assert.fail(`expected a refusal, got an endpoint for ${result.url}`);
  return result;
}

describe('A connection Secret', () => {
  const valid = { username: 'app', password: 's3cret' };

  it('gives the management API address, with http:// when the uri names no scheme', () => {
    const endpoint = endpointFromSecret({ ...valid, uri: 'broker.example:15672' });
    assert.equal(typeof endpoint === 'string' ? endpoint : endpoint.url, 'http://broker.example:15672');
  });

  it('names the key that is missing', () => {
    assert.equal(refusal({ uri: 'http://b:15672' }), 'it lacks the key(s) username, password');
  });

  it('refuses a uri that does not parse, without quoting it', () => {
    const reason = refusal({ ...valid, uri: 'http://user:hidden@[::1' });
    assert.match(reason, /key uri is not a URL/);
    assert.doesNotMatch(reason, /hidden/);
  });

  it('refuses a uri of another protocol', () => {
    assert.match(refusal({ ...valid, uri: 'amqp://broker:5672' }), /uses amqp, not http/);
  });
});
