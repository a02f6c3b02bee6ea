import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aCluster } from './fixture.ts';
import {
  defaultUserSecret,
  erlangCookieSecret,
  generateDefaultUser,
  generateErlangCookie,
  secretValue,
} from './secrets.ts';

const credentials = { username: 'default_user_abc', password: 's3cr3t/+=' };
const decoded = (secret: ReturnType<typeof defaultUserSecret>) =>
  Object.fromEntries(Object.keys(secret.data ?? {}).map((key) => [key, secretValue(secret, key)]));

describe('Erlang cookie Secret', () => {
  it('holds the cookie it is given under .erlang.cookie', () => {
    const secret = erlangCookieSecret(aCluster(), 'cookie-value');
    assert.equal(secret.metadata?.name, 'orders-erlang-cookie');
    assert.equal(secretValue(secret, '.erlang.cookie'), 'cookie-value');
  });

  it('generates cookies of 24 random bytes, different every time', () => {
    const first = generateErlangCookie();
    assert.equal(Buffer.from(first, 'base64url').length, 24);
    assert.notEqual(first, generateErlangCookie());
  });
});

describe('Default-user Secret', () => {
  it('has the Service Binding shape the upstream operator writes', () => {
    const secret = defaultUserSecret(aCluster(), credentials, undefined);
    assert.equal(secret.metadata?.name, 'orders-default-user');
    assert.deepEqual(decoded(secret), {
      username: 'default_user_abc',
      password: 's3cr3t/+=',
      'default_user.conf': 'default_user = default_user_abc\ndefault_pass = s3cr3t/+=\n',
      host: 'orders.shop.svc',
      port: '5672',
      connection_string: 'amqp://default_user_abc:s3cr3t%2F%2B%3D@orders.shop.svc:5672/',
      provider: 'rabbitmq',
      type: 'rabbitmq',
    });
  });

  it('points clients at AMQPS and the TLS plugin ports when TLS is on', () => {
    const cluster = aCluster({ rabbitmq: { additionalPlugins: ['rabbitmq_mqtt', 'rabbitmq_stream'] } });
    const secret = decoded(
      defaultUserSecret(cluster, credentials, {
        secretName: 't',
        verifyPeer: false,
        disableNonTLSListeners: false,
      }),
    );
    assert.equal(secret.port, '5671');
    assert.match(secret.connection_string ?? '', /^amqps:\/\/.*:5671\/$/);
    assert.equal(secret['mqtt-port'], '8883');
    assert.equal(secret['stream-port'], '5551');
  });

  it('lists plain plugin ports without TLS', () => {
    const cluster = aCluster({ rabbitmq: { additionalPlugins: ['rabbitmq_web_mqtt', 'rabbitmq_stomp'] } });
    const secret = decoded(defaultUserSecret(cluster, credentials, undefined));
    assert.equal(secret['web-mqtt-port'], '15675');
    assert.equal(secret['stomp-port'], '61613');
    assert.equal(secret['mqtt-port'], undefined);
  });

  it('generates a 32-character user name and a 24-byte password', () => {
    const generated = generateDefaultUser(aCluster());
    assert.match(generated.username, /^default_user_[\w-]{19}$/);
    assert.equal(Buffer.from(generated.password, 'base64url').length, 24);
  });

  it('seeds the credentials from default_user and default_pass in additionalConfig', () => {
    const cluster = aCluster({
      rabbitmq: { additionalConfig: 'default_user = admin\ndefault_pass = changeme\n' },
    });
    assert.deepEqual(generateDefaultUser(cluster), { username: 'admin', password: 'changeme' });
  });
});
