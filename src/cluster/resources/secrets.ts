// The Erlang cookie Secret and the default-user Secret. Both hold generated values that are created
// once and then only ever read back: the builders take the values as inputs and never invent them.
import { randomBytes } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { RabbitmqCluster } from '../types.ts';
import { pluginSecretPorts, corePorts, type TlsMount } from './features.ts';
import { childMeta, childNames, identity } from './meta.ts';

export interface DefaultUserCredentials {
  username: string;
  password: string;
}

/** A fresh Erlang cookie: base64url of 24 random bytes, as upstream generates it. */
export function generateErlangCookie(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Fresh default-user credentials, unless `additionalConfig` sets `default_user`/`default_pass`, which
 * seed the Secret at creation (upstream behaviour: later edits of those lines do not change the Secret).
 */
export function generateDefaultUser(cluster: RabbitmqCluster): DefaultUserCredentials {
  const fromConfig = configuredDefaultUser(cluster.spec.rabbitmq?.additionalConfig ?? '');
  return {
    username: fromConfig.username ?? `default_user_${randomBytes(15).toString('base64url').slice(0, 19)}`,
    password: fromConfig.password ?? randomBytes(24).toString('base64url'),
  };
}

function configuredDefaultUser(additionalConfig: string): Partial<DefaultUserCredentials> {
  const result: Partial<DefaultUserCredentials> = {};
  for (const line of additionalConfig.split('\n')) {
    const match = /^\s*(default_user|default_pass)\s*=\s*(.*?)\s*$/.exec(line);
    if (match?.[1] === 'default_user' && match[2]) result.username = match[2];
    if (match?.[1] === 'default_pass' && match[2]) result.password = match[2];
  }
  return result;
}

function encode(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
  );
}

/** Reads a Secret's value as text, from `data` (base64) or `stringData`. */
export function secretValue(secret: V1Secret | undefined, key: string): string | undefined {
  const encoded = secret?.data?.[key];
  if (encoded !== undefined) return Buffer.from(encoded, 'base64').toString('utf8');
  return secret?.stringData?.[key];
}

export function erlangCookieSecret(cluster: RabbitmqCluster, cookie: string): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: childMeta(cluster, childNames(cluster).erlangCookie),
    data: encode({ '.erlang.cookie': cookie }),
  };
}

/** The client Service's in-cluster DNS name. */
export function clientHost(cluster: RabbitmqCluster): string {
  return `${childNames(cluster).clientService}.${identity(cluster).namespace}.svc`;
}

/**
 * `<name>-default-user` in the Service Binding "provisioned service" shape the upstream operator writes,
 * so applications and the topology reconcilers can bind to it unchanged.
 */
export function defaultUserSecret(
  cluster: RabbitmqCluster,
  credentials: DefaultUserCredentials,
  tls: TlsMount | undefined,
): V1Secret {
  const host = clientHost(cluster);
  // With TLS, clients should use AMQPS even while plain listeners stay open.
  const port = tls ? corePorts.amqps.port : corePorts.amqp.port;
  const scheme = tls ? 'amqps' : 'amqp';
  const user = encodeURIComponent(credentials.username);
  const pass = encodeURIComponent(credentials.password);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: childMeta(cluster, childNames(cluster).defaultUser),
    data: encode({
      username: credentials.username,
      password: credentials.password,
      'default_user.conf': `default_user = ${credentials.username}\ndefault_pass = ${credentials.password}\n`,
      host,
      port: String(port),
      connection_string: `${scheme}://${user}:${pass}@${host}:${port}/`,
      provider: 'rabbitmq',
      type: 'rabbitmq',
      ...pluginSecretPorts(cluster, tls),
    }),
  };
}
