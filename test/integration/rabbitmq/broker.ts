// The shared test broker, as the global setup exports it, and helpers to isolate a test in its own vhost.
import { randomBytes } from 'node:crypto';
import { ManagementClient } from '../../../src/rabbitmq/management/client.ts';
import { type ManagementClientOptions } from '../../../src/rabbitmq/management/transport.ts';
import type { BrokerEndpoint } from '../../../src/rabbitmq/types.ts';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '')
    throw new Error(`${name} is not set: run the integration tests with their global setup`);
  return value;
}

export function sharedBroker(): BrokerEndpoint & { amqpUrl: string } {
  return {
    url: required('RABBITMQ_MANAGEMENT_URL'),
    username: required('RABBITMQ_USERNAME'),
    password: required('RABBITMQ_PASSWORD'),
    amqpUrl: required('RABBITMQ_AMQP_URL'),
  };
}

export function sharedClient(options: ManagementClientOptions = {}): ManagementClient {
  return new ManagementClient(sharedBroker(), options);
}

/** A name no other test uses (vhosts isolate tests on the shared broker). */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** The AMQP URL of the shared broker for another user and vhost. */
export function amqpUrl(username: string, password: string, vhost: string): string {
  const url = new URL(sharedBroker().amqpUrl);
  url.username = encodeURIComponent(username);
  url.password = encodeURIComponent(password);
  url.pathname = `/${encodeURIComponent(vhost)}`;
  return url.toString();
}
