import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { BrokerError } from '../errors.ts';
import { ManagementClient } from './client.ts';
import { endpointIdentity, formatBytes, formatDuration, readLimited } from './transport.ts';

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

// ---- bounded calls, against real sockets on 127.0.0.1 -----------------------------------------

interface TestServer {
  url: string;
  /** Bytes of body the server has written, and whether the client's connection has closed. */
  sent(): number;
  connectionClosed: Promise<void>;
  close(): Promise<void>;
}

/** A management API stand-in whose handler decides how (badly) to answer. */
async function serve(
  handler: (request: IncomingMessage, response: ServerResponse, count: (bytes: number) => void) => void,
): Promise<TestServer> {
  let sent = 0;
  let closed: () => void = () => undefined;
  const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
  const server = createServer((request, response) => {
    request.socket.once('close', closed);
    handler(request, response, (bytes) => (sent += bytes));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sent: () => sent,
    connectionClosed,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const credentials = { username: 'warren', password: 'trickle-secret-password' };
const basic = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');

async function failure(call: () => Promise<unknown>): Promise<BrokerError> {
  const error = await call().then(
    () => assert.fail('the call should have failed'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof BrokerError, String(error));
  assert.ok(!error.message.includes(credentials.password), error.message);
  assert.ok(!error.message.includes(basic), error.message);
  return error;
}

describe('A management call with a slow or endless answer', () => {
  it('is abandoned at its deadline when the body trickles in a byte every 200 ms', async (t) => {
    const server = await serve((_request, response, count) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('[');
      const timer = setInterval(() => {
        response.write(' ');
        count(1);
      }, 200);
      response.on('close', () => clearInterval(timer));
    });
    const client = new ManagementClient({ url: server.url, ...credentials }, { requestTimeoutMs: 1_000 });
    t.after(() => Promise.all([client.close(), server.close()]));
    const started = performance.now();
    const error = await failure(() => client.overview());
    const elapsed = performance.now() - started;
    assert.equal(error.reason, 'BrokerTimeout');
    assert.equal(error.transient, true);
    assert.match(error.message, new RegExp(`the broker at ${server.url} did not answer in full within 1 s`));
    assert.ok(elapsed >= 950 && elapsed < 2_000, `abandoned after ${Math.round(elapsed)} ms`);
    await server.connectionClosed;
    assert.ok(server.sent() <= 6, `the server trickled ${server.sent()} bytes`);
  });

  it('stops reading an endless body as soon as it passes the size limit', async (t) => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const serverLimit = 256 * 2 ** 20;
    const server = await serve((_request, response, count) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      let written = 0;
      // Endless as far as the client can tell; the server itself stops at 256 MiB.
      const pump = () => {
        while (written < serverLimit && !response.destroyed) {
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
    });
    const client = new ManagementClient({ url: server.url, ...credentials }, { maxResponseBytes: 2 ** 20 });
    t.after(() => Promise.all([client.close(), server.close()]));
    const error = await failure(() => client.definitions());
    assert.equal(error.reason, 'BrokerResponseTooLarge');
    assert.equal(error.transient, false);
    assert.match(error.message, new RegExp(`the broker at ${server.url} answered with more than 1 MiB`));
    await server.connectionClosed;
    // The 1 MiB read plus what the socket buffers held when the client hung up (about 4 MiB in all
    // on Linux), not the 256 MiB the server was ready to send.
    assert.ok(server.sent() < 8 * 2 ** 20, `the server wrote ${server.sent()} bytes`);
  });

  it('refuses a declared Content-Length over the limit without reading the body', async (t) => {
    const server = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(2 ** 30) });
      response.write('[');
    });
    const client = new ManagementClient({ url: server.url, ...credentials }, { maxResponseBytes: 2 ** 20 });
    t.after(() => Promise.all([client.close(), server.close()]));
    assert.equal((await failure(() => client.overview())).reason, 'BrokerResponseTooLarge');
    await server.connectionClosed;
  });

  it('reads a body of exactly the limit', async (t) => {
    const body = JSON.stringify({ padding: 'x'.repeat(1000) });
    const server = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(body);
    });
    const client = new ManagementClient(
      { url: server.url, ...credentials },
      { maxResponseBytes: Buffer.byteLength(body) },
    );
    t.after(() => Promise.all([client.close(), server.close()]));
    assert.deepEqual(await client.overview(), JSON.parse(body));
  });

  it('gives a definitions export its own deadline, longer than that of other calls', async (t) => {
    // Every answer takes 600 ms: too slow for a 300 ms call, in time for a 2 s export.
    const server = await serve((_request, response) => {
      const timer = setTimeout(() => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{"queues":[]}');
      }, 600);
      response.on('close', () => clearTimeout(timer));
    });
    const client = new ManagementClient(
      { url: server.url, ...credentials },
      { requestTimeoutMs: 300, exportTimeoutMs: 2_000 },
    );
    t.after(() => Promise.all([client.close(), server.close()]));
    assert.equal((await failure(() => client.overview())).reason, 'BrokerTimeout');
    assert.deepEqual(await client.definitions(), { queues: [] });
  });

  it('counts retries against the same deadline', async (t) => {
    let attempts = 0;
    const server = await serve((_request, response) => {
      attempts += 1;
      response.writeHead(503).end();
    });
    const client = new ManagementClient(
      { url: server.url, ...credentials },
      { requestTimeoutMs: 500, retries: 100, retryMinDelayMs: 100, retryMaxDelayMs: 100 },
    );
    t.after(() => Promise.all([client.close(), server.close()]));
    const started = performance.now();
    const error = await failure(() => client.overview());
    assert.equal(error.reason, 'BrokerTimeout');
    assert.ok(performance.now() - started < 1_500);
    assert.ok(attempts >= 2 && attempts < 100, `${attempts} attempts`);
    assert.match(error.message, /after \d+ attempts/);
  });

  it("rejects with the caller's own reason when the caller's signal aborts first", async (t) => {
    const server = await serve(() => undefined); // never answers
    const client = new ManagementClient({ url: server.url, ...credentials }, { requestTimeoutMs: 10_000 });
    t.after(() => Promise.all([client.close(), server.close()]));
    const request = client.request('GET', '/api/overview', undefined, {
      signal: AbortSignal.timeout(100),
    });
    await assert.rejects(request, (error: unknown) => (error as Error).name === 'TimeoutError');
    const reason = new Error('reconcile cancelled');
    const cancelled = new AbortController();
    cancelled.abort(reason);
    await assert.rejects(
      client.request('GET', '/api/overview', undefined, { signal: cancelled.signal }),
      reason,
    );
  });
});

describe('Reading a limited body', () => {
  it('pulls no more chunks once the limit is passed', async () => {
    let pulled = 0;
    const body = Readable.from(
      (function* endless() {
        for (;;) {
          pulled += 1;
          yield Buffer.alloc(1024);
        }
      })(),
    );
    const text = await readLimited({ body: body as never, headers: {} }, 10 * 1024);
    assert.equal(text, undefined);
    assert.ok(pulled <= 12, `pulled ${pulled} chunks of 1 KiB for a 10 KiB limit`);
    assert.equal(body.destroyed, true);
  });

  it('formats limits the way messages show them', () => {
    assert.equal(formatBytes(32 * 2 ** 20), '32 MiB');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatDuration(30_000), '30 s');
    assert.equal(formatDuration(250), '250 ms');
  });
});
