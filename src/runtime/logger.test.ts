import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { REDACTED, createLogger, redact, redactText } from './logger.ts';

describe('Log redaction', () => {
  it('hides values under credential-like keys at any depth', () => {
    const out = redact({
      user: 'app',
      password: 'hunter2',
      nested: {
        password_hash: 'x',
        Authorization: 'Bearer abc',
        list: [{ token: 't' }],
        connection_string: 'c',
      },
    });
    assert.deepEqual(out, {
      user: 'app',
      password: REDACTED,
      nested: {
        password_hash: REDACTED,
        Authorization: REDACTED,
        list: [{ token: REDACTED }],
        connection_string: REDACTED,
      },
    });
  });

  it('hides the data of Secrets but keeps their metadata', () => {
    const out = redact({
      kind: 'Secret',
      metadata: { name: 's' },
      data: { a: 'YQ==' },
      stringData: { b: 'b' },
    });
    assert.deepEqual(out, { kind: 'Secret', metadata: { name: 's' }, data: REDACTED, stringData: REDACTED });
  });

  it('removes the user info of URIs inside strings', () => {
    assert.equal(
      redactText('connect amqp://guest:guest@rabbit:5672/vhost failed'),
      `connect amqp://${REDACTED}@rabbit:5672/vhost failed`,
    );
    assert.equal(redactText('https://rabbit:15672/api'), 'https://rabbit:15672/api');
  });

  it('does not change its input', () => {
    const input = { password: 'p' };
    redact(input);
    assert.equal(input.password, 'p');
  });

  it('keeps credentials out of the written log lines, messages and errors included', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const log = createLogger({ level: 'info', destination });
    log.info({ password: 'hunter2', uri: 'http://admin:s3cret@host/' }, 'dialing amqp://u:p4ss@h/');
    log.error({ err: new Error('login failed for http://admin:s3cret@host/') }, 'failed');
    const text = lines.join('');
    assert.doesNotMatch(text, /hunter2|s3cret|p4ss/);
    assert.match(text, /dialing amqp:\/\/\[REDACTED\]@h\//);
  });
});

describe('Structural redaction', () => {
  class Connection {
    url = new URL('amqp://admin:s3cret@rabbit:5672/');
    password = 'hunter2';
    options = new Map<string, unknown>([
      ['token', 'tok3n'],
      ['endpoint', 'http://u:p4ss@host/'],
    ]);
    tags = new Set(['https://t:t0ken@host/']);
  }

  it('walks URLs, Maps, Sets and class instances as it walks plain objects', () => {
    const out = JSON.stringify(redact({ connection: new Connection(), at: new URL('https://x:y0@h/') }));
    assert.doesNotMatch(out, /s3cret|hunter2|tok3n|p4ss|t0ken|y0/);
    assert.deepEqual(redact(new Connection()), {
      url: `amqp://${REDACTED}@rabbit:5672/`,
      password: REDACTED,
      options: { token: REDACTED, endpoint: `http://${REDACTED}@host/` },
      tags: [`https://${REDACTED}@host/`],
    });
  });

  it('walks the own fields of errors', () => {
    const err = Object.assign(new Error('failed'), { request: { authorization: 'Basic abc' }, code: 'E1' });
    assert.deepEqual(redact(err), {
      type: 'Error',
      message: 'failed',
      stack: redactText(err.stack ?? ''),
      code: 'E1',
      request: { authorization: REDACTED },
    });
  });

  it('removes a user-info whose password holds an unencoded @, / or #', () => {
    for (const uri of [
      'amqp://app:p@ss@rabbit/',
      'amqp://app:pa/ss@rabbit/',
      'http://app:a#b@rabbit:15672',
    ]) {
      const out = redactText(`dialing ${uri} failed`);
      assert.doesNotMatch(out, /ss@|pa\/|a#b|app/, out);
      assert.match(out, /\[REDACTED\]@rabbit/);
    }
  });

  it('masks the values of default_* and credential settings in config text, quoted or not', () => {
    assert.equal(
      redactText('default_pass = hunter2\nloopback_users = none'),
      `default_pass = ${REDACTED}\nloopback_users = none`,
    );
    assert.equal(redactText('default_user=admin'), `default_user=${REDACTED}`);
    assert.equal(
      redactText('line 3 is not a "key = value" setting: "default_pass hunter2"'),
      `line 3 is not a "key = value" setting: "default_pass ${REDACTED}"`,
    );
    assert.equal(redactText(JSON.stringify('default_pass: "hunter 2"')), `"default_pass: \\"${REDACTED}"`);
    assert.equal(
      redactText('auth_ldap.dn_lookup_bind.password = s3cret'),
      `auth_ldap.dn_lookup_bind.password = ${REDACTED}`,
    );
    assert.equal(
      redactText('Secret "s" lacks the username or password key.'),
      'Secret "s" lacks the username or password key.',
      'prose is left alone',
    );
  });
});
