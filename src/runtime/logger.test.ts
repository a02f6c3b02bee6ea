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
