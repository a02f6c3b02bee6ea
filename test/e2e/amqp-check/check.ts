// Runs inside the kind cluster as a Job: proves that the topology Warren declared routes messages as the
// Bindings say, using the credentials Warren generated for each User.
//   PUBLISHER_URI  order-service: may publish to the orders exchange only
//   CONSUMER_URI   billing-service: may read orders.billing only
//   ADMIN_URI      the cluster's default user, to look at orders.shipping
import amqp from 'amqplib';

function fail(message: string): never {
  console.error(`FAIL ${message}`);
  process.exit(1);
}

function uri(name: string): string {
  return process.env[name] ?? fail(`${name} is not set`);
}

const publisherUri = uri('PUBLISHER_URI');
const consumerUri = uri('CONSUMER_URI');
const adminUri = uri('ADMIN_URI');
const marker = `e2e-${Date.now()}`;

interface Taken {
  key: string;
  body: string;
}

async function take(uri: string, queue: string): Promise<Taken | undefined> {
  const connection = await amqp.connect(uri);
  try {
    const channel = await connection.createChannel();
    const message = await channel.get(queue, { noAck: false });
    if (message) channel.ack(message);
    await channel.close();
    return message ? { key: message.fields.routingKey, body: message.content.toString() } : undefined;
  } finally {
    await connection.close();
  }
}

async function drainWait(uri: string, queue: string, timeoutMs = 10_000): Promise<Taken | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const message = await take(uri, queue);
    if (message?.body.startsWith(marker)) return message;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return undefined;
}

const publisher = await amqp.connect(publisherUri);
const channel = await publisher.createConfirmChannel();
for (const key of ['orders.created', 'orders.paid']) {
  channel.publish('orders', key, Buffer.from(`${marker} ${key}`), { persistent: true, mandatory: true });
}
await channel.waitForConfirms();
await publisher.close();
console.log('published orders.created and orders.paid to exchange orders as order-service');

const billing = await drainWait(consumerUri, 'orders.billing');
if (billing?.key !== 'orders.created')
  fail(`orders.billing should hold orders.created, got ${JSON.stringify(billing)}`);
console.log('billing-service consumed orders.created from orders.billing');

const shipping = await drainWait(adminUri, 'orders.shipping');
if (shipping?.key !== 'orders.paid')
  fail(`orders.shipping should hold orders.paid, got ${JSON.stringify(shipping)}`);
console.log('orders.paid arrived in orders.shipping');

// billing-service may not publish: the Permission grants it read on its queue only.
const denied = await amqp.connect(consumerUri);
const deniedChannel = await denied.createConfirmChannel();
const refused = await new Promise<boolean>((resolve) => {
  deniedChannel.on('error', () => resolve(true));
  deniedChannel.publish('orders', 'orders.created', Buffer.from(`${marker} forbidden`));
  deniedChannel.waitForConfirms().then(
    () => resolve(false),
    () => resolve(true),
  );
});
await denied.close().catch(() => undefined);
if (!refused) fail('billing-service could publish to orders, but its Permission grants no write');
console.log('billing-service was refused when it tried to publish');
console.log('OK routing and permissions hold');
