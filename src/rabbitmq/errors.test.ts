import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyTransportError, parseErrorBody, reasonForStatus, redact } from './errors.ts';

describe('Management API error mapping', () => {
  const cases: [number, string, string][] = [
    [
      400,
      `{"error":"bad_request","reason":"inequivalent arg 'x-queue-type' for queue 'q1' in vhost 'v1': received 'classic' but current is 'quorum'"}`,
      'PreconditionFailed',
    ],
    [400, `{"error":"bad_request","reason":"queue 'q2' in vhost 'v1' not empty"}`, 'QueueNotEmpty'],
    [400, `{"error":"bad_request","reason":"queue 'q2' in vhost 'v1' in use"}`, 'QueueInUse'],
    [400, `{"error":"bad_request","reason":"vhost_or_user_not_found"}`, 'VhostOrUserNotFound'],
    [400, `{"error":"bad_request","reason":"not_json"}`, 'BadRequest'],
    [401, `{"error":"not_authorized","reason":"Login failed"}`, 'Unauthorized'],
    [404, `{"error":"Object Not Found","reason":"Not Found"}`, 'NotFound'],
    [404, `{"error":"not_found","reason":"vhost_not_found"}`, 'NotFound'],
    [500, '', 'BrokerInternalError'],
    [503, '', 'BrokerUnavailable'],
    [429, '', 'BrokerUnavailable'],
    [504, '', 'Timeout'],
  ];
  for (const [status, body, reason] of cases) {
    it(`maps ${status} ${body === '' ? '(no body)' : body.slice(0, 60)} to ${reason}`, () => {
      assert.equal(reasonForStatus(status, parseErrorBody(body)), reason);
    });
  }

  it('reads the broker error text and undoes its HTML escaping', () => {
    const body = parseErrorBody(
      `{"error":"bad_request","reason":"Validation failed\\n\\n[{&lt;&lt;\\"max-lengthx\\"&gt;&gt;,10}] are not recognised policy settings\\n"}`,
    );
    assert.equal(body.error, 'bad_request');
    assert.equal(
      body.reason,
      `Validation failed\n\n[{<<"max-lengthx">>,10}] are not recognised policy settings`,
    );
  });

  it('keeps a body that is not JSON as text', () => {
    assert.deepEqual(parseErrorBody('<html>Bad Gateway</html>'), { reason: '<html>Bad Gateway</html>' });
    assert.deepEqual(parseErrorBody('  '), {});
  });

  it('classifies refused connections as unreachable and safe to repeat even for POST', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    assert.deepEqual(classifyTransportError(refused), {
      reason: 'BrokerUnreachable',
      code: 'ECONNREFUSED',
      transient: true,
      notSent: true,
    });
    const wrapped = new AggregateError([refused], 'connect failed');
    assert.equal(classifyTransportError(wrapped).reason, 'BrokerUnreachable');
  });

  it('classifies a reset connection as transient but possibly sent', () => {
    const reset = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    assert.equal(classifyTransportError(reset).transient, true);
    assert.equal(classifyTransportError(reset).notSent, false);
  });

  it('classifies timeouts and TLS failures', () => {
    assert.equal(classifyTransportError({ code: 'UND_ERR_HEADERS_TIMEOUT' }).reason, 'Timeout');
    const tls = classifyTransportError({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    assert.equal(tls.reason, 'TlsError');
    assert.equal(tls.transient, false);
  });

  it('redacts every occurrence of a secret', () => {
    assert.equal(redact('a s3cret b s3cret', ['s3cret']), 'a [redacted] b [redacted]');
  });
});
