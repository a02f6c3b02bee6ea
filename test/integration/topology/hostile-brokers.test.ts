// Brokers that answer badly: one trickles every answer a byte at a time, one sends a body without end. Their
// objects end in Ready=False with BrokerTimeout and BrokerResponseTooLarge, and meanwhile objects of the healthy
// test broker converge as fast as ever: a hostile broker holds at most MAX_RECONCILES_PER_BROKER workers, never
// all of a kind's. Both hostile brokers are node:http servers on 127.0.0.1 inside this test.
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  broker,
  create,
  createConnectionSecret,
  createNamespace,
  eventually,
  ready,
  startOperator,
  testEnv,
  waitReady,
  waitReason,
  get,
  type Operator,
} from './harness.ts';

const exportTimeoutSeconds = 8;
const settings = {
  topologyWorkers: '4',
  maxReconcilesPerBroker: '2',
  managementRequestTimeout: '2s',
  managementExportTimeout: `${exportTimeoutSeconds}s`,
  managementMaxResponseSize: '1Mi',
  reconcileTimeout: '15s',
};
const hostileCredentials = { username: 'hostile-user', password: 'hostile-password-never-shown' };

interface HostileBroker {
  url: string;
  requests: number;
  /** Milliseconds from each request to the client hanging up. */
  held: number[];
  /** Body bytes written per response. */
  written: number[];
  server: Server;
}

/** A management API stand-in that sends headers at once and then `answer`s the body, until the client hangs up. */
async function hostileBroker(answer: (response: ServerResponse, count: (bytes: number) => void) => void) {
  const hostile: HostileBroker = {
    url: '',
    requests: 0,
    held: [],
    written: [],
    server: createServer((_request, response) => {
      hostile.requests += 1;
      const started = performance.now();
      const index = hostile.written.push(0) - 1;
      response.on('close', () => hostile.held.push(performance.now() - started));
      response.writeHead(200, { 'content-type': 'application/json' });
      answer(response, (bytes) => (hostile.written[index]! += bytes));
    }),
  };
  await new Promise<void>((resolve) => hostile.server.listen(0, '127.0.0.1', resolve));
  hostile.url = `http://127.0.0.1:${(hostile.server.address() as AddressInfo).port}`;
  return hostile;
}

/** One byte every 200 ms, for as long as the client listens. */
function trickle(response: ServerResponse, count: (bytes: number) => void): void {
  response.write('{');
  const timer = setInterval(() => {
    response.write(' ');
    count(1);
  }, 200);
  response.on('close', () => clearInterval(timer));
}

/** 64 KiB chunks as fast as the client reads them; the server itself stops at 256 MiB per response. */
function endless(response: ServerResponse, count: (bytes: number) => void): void {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let written = 0;
  const pump = () => {
    while (written < 256 * 2 ** 20 && !response.destroyed) {
      written += chunk.length;
      count(chunk.length);
      if (!response.write(chunk)) {
        response.once('drain', pump);
        return;
      }
    }
    response.end();
  };
  pump();
}

let operator: Operator;
let ns: string;
let slow: HostileBroker;
let flood: HostileBroker;
const vhost = 'hostile-neighbours';
const slowQueues = ['slow-1', 'slow-2', 'slow-3', 'slow-4', 'slow-5', 'slow-6'];
const floodQueues = ['flood-1', 'flood-2'];
const healthyQueues = ['healthy-1', 'healthy-2', 'healthy-3', 'healthy-4'];
/** Most slots the trickling broker held at once, and most objects parked behind it, sampled every 10 ms. */
const sampled = { held: 0, parked: 0 };
let sampler: NodeJS.Timeout | undefined;

before(async () => {
  [slow, flood] = await Promise.all([hostileBroker(trickle), hostileBroker(endless)]);
  ns = await createNamespace('topology-hostile');
  await createConnectionSecret(ns, 'slow', { managementUrl: slow.url, ...hostileCredentials });
  await createConnectionSecret(ns, 'flood', { managementUrl: flood.url, ...hostileCredentials });
  await createConnectionSecret(ns, 'healthy');
  assert.ok((await broker().call('PUT', `/api/vhosts/${vhost}`, {})).status < 300);
  operator = await startOperator(settings);
  const { slots } = operator.topology.runtime;
  sampler = setInterval(() => {
    sampled.held = Math.max(sampled.held, slots.held(slow.url));
    sampled.parked = Math.max(sampled.parked, slots.parked(slow.url));
  }, 10);
});

after(async () => {
  clearInterval(sampler);
  await operator.stop();
  await broker().call('DELETE', `/api/vhosts/${vhost}`);
  for (const hostile of [slow, flood]) {
    hostile.server.closeAllConnections();
    await new Promise((resolve) => hostile.server.close(resolve));
  }
});

const queue = (name: string, secret: string) => ({
  name,
  vhost,
  rabbitmqClusterReference: { connectionSecret: { name: secret } },
});

describe('Brokers that answer a byte at a time or without end', () => {
  it('leave healthy objects converging while their own objects wait', async () => {
    for (const name of slowQueues) await create('Queue', ns, name, queue(name, 'slow'));
    for (const name of floodQueues) await create('Queue', ns, name, queue(name, 'flood'));
    // The trickling broker's export is under way: its reconciles now wait on it.
    await eventually('the trickling broker asked', () => slow.requests > 0, { intervalMs: 20 });
    const started = performance.now();
    for (const name of healthyQueues) await create('Queue', ns, name, queue(name, 'healthy'));
    for (const name of healthyQueues) await waitReady('Queue', ns, name);
    const seconds = (performance.now() - started) / 1000;
    // Without the cap, the six slow Queues would hold all four Queue workers until the export's deadline.
    assert.ok(
      seconds < exportTimeoutSeconds - 2,
      `healthy Queues took ${seconds.toFixed(1)} s, as long as the slow broker's deadline`,
    );
    for (const name of healthyQueues) {
      assert.ok(await broker().get(`/api/queues/${vhost}/${name}`), `${name} is on the healthy broker`);
    }
    for (const name of slowQueues) {
      assert.notEqual(ready(await get('Queue', ns, name))?.status, 'True');
    }
  });

  it('report the trickling broker as BrokerTimeout, naming it and the deadline', async () => {
    for (const name of slowQueues) {
      const condition = ready(await waitReason('Queue', ns, name, 'BrokerTimeout'));
      assert.equal(condition?.status, 'False');
      assert.match(
        condition.message ?? '',
        new RegExp(`the broker at ${slow.url} did not answer in full within ${exportTimeoutSeconds} s`),
      );
    }
    assert.ok(sampled.held <= 2, `the slow broker held ${sampled.held} slots at once`);
    assert.ok(sampled.parked >= 1, 'objects of the slow broker waited for a slot without a worker');
    // Every trickled answer was abandoned at its deadline (the export's is the longest), not read to the end.
    const longest = Math.max(...slow.held);
    assert.ok(
      longest < (exportTimeoutSeconds + 2) * 1000,
      `an answer was read for ${Math.round(longest)} ms`,
    );
  });

  it('report the endless broker as BrokerResponseTooLarge, having stopped reading at the limit', async () => {
    for (const name of floodQueues) {
      const condition = ready(await waitReason('Queue', ns, name, 'BrokerResponseTooLarge'));
      assert.equal(condition?.status, 'False');
      assert.match(
        condition.message ?? '',
        new RegExp(`the broker at ${flood.url} answered with more than 1 MiB`),
      );
    }
    await eventually('every endless answer cut off', () => flood.held.length === flood.requests);
    const most = Math.max(...flood.written);
    // The 1 MiB read plus what socket buffers held when the operator hung up; not the 256 MiB on offer.
    assert.ok(most < 16 * 2 ** 20, `the endless broker wrote ${most} bytes into one answer`);
  });

  it('keep converging healthy objects afterwards, and show no credential anywhere', async () => {
    await create('Queue', ns, 'healthy-late', queue('healthy-late', 'healthy'));
    await waitReady('Queue', ns, 'healthy-late');
    const output = await operator.output(ns);
    const { username, password } = testEnv();
    for (const secret of [
      hostileCredentials.password,
      Buffer.from(`${hostileCredentials.username}:${hostileCredentials.password}`).toString('base64'),
      password,
      Buffer.from(`${username}:${password}`).toString('base64'),
    ]) {
      assert.ok(!output.includes(secret), 'a credential appears in the logs, Events, statuses or metrics');
    }
  });
});
