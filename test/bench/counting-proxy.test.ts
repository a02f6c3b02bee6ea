import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { countsSince, routeOf, startCountingProxy, totalOf, type CountingProxy } from './counting-proxy.ts';

describe('Routes of management requests', () => {
  it('keep the collection and hide the names behind one star per segment', () => {
    assert.equal(routeOf('GET', '/api/queues'), 'GET /api/queues');
    assert.equal(routeOf('PUT', '/api/queues/team%2Fa/orders'), 'PUT /api/queues/*/*');
    assert.equal(routeOf('POST', '/api/bindings/v/e/src/q/dst'), 'POST /api/bindings/*/*/*/*/*');
    assert.equal(routeOf('GET', '/api/definitions?columns=name'), 'GET /api/definitions');
    assert.equal(routeOf('GET', '/api'), 'GET /api');
    assert.equal(routeOf('GET', '/'), 'GET /');
  });
});

describe('Counts between two snapshots', () => {
  it('are what was added in between, without the methods that saw none', () => {
    const earlier = {
      byMethod: { GET: 3, PUT: 1 },
      byRoute: { 'GET /api/queues': 3, 'PUT /api/queues/*/*': 1 },
    };
    const later = {
      byMethod: { GET: 5, PUT: 1, DELETE: 2 },
      byRoute: { 'GET /api/queues': 5, 'PUT /api/queues/*/*': 1, 'DELETE /api/queues/*/*': 2 },
    };
    assert.deepEqual(countsSince(earlier, later), {
      byMethod: { DELETE: 2, GET: 2 },
      byRoute: { 'DELETE /api/queues/*/*': 2, 'GET /api/queues': 2 },
    });
  });

  it('add up over all methods or over the named ones', () => {
    assert.equal(totalOf({ GET: 4, PUT: 2, DELETE: 1 }), 7);
    assert.equal(totalOf({ GET: 4, PUT: 2, DELETE: 1 }, ['PUT', 'POST', 'DELETE']), 3);
  });
});

describe('The counting proxy', () => {
  const upstream = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      response.writeHead(request.url === '/api/missing' ? 404 : 200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          method: request.method,
          url: request.url,
          body,
          auth: request.headers.authorization,
        }),
      );
    });
  });
  let proxy: CountingProxy;

  before(async () => {
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', () => resolve()));
    proxy = await startCountingProxy(`http://127.0.0.1:${String((upstream.address() as AddressInfo).port)}`);
  });
  after(async () => {
    await proxy.close();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  it('forwards requests with their body, headers and status, and counts each by method and route', async () => {
    const start = proxy.counter.snapshot();
    const put = await fetch(`${proxy.url}/api/queues/v/q1`, {
      method: 'PUT',
      headers: { authorization: 'Basic Z3Vlc3Q6Z3Vlc3Q=' },
      body: '{"durable":true}',
    });
    assert.equal(put.status, 200);
    assert.deepEqual(await put.json(), {
      method: 'PUT',
      url: '/api/queues/v/q1',
      body: '{"durable":true}',
      auth: 'Basic Z3Vlc3Q6Z3Vlc3Q=',
    });
    const missing = await fetch(`${proxy.url}/api/missing`);
    assert.equal(missing.status, 404);
    await missing.text();
    await (await fetch(`${proxy.url}/api/queues/v/q2`, { method: 'DELETE' })).text();
    assert.deepEqual(countsSince(start, proxy.counter.snapshot()), {
      byMethod: { DELETE: 1, GET: 1, PUT: 1 },
      byRoute: { 'DELETE /api/queues/*/*': 1, 'GET /api/missing': 1, 'PUT /api/queues/*/*': 1 },
    });
  });
});
