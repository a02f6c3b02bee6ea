// One HTTP proxy in front of the broker's management API, counting the requests that pass through it by
// method and by route. Every operator a benchmark measures gets the proxy's URL in its connection Secret, so
// their broker requests are counted by the same meter, whatever each one reports about itself.
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Requests by method (`GET`) and by route (see routeOf). */
export interface RequestCounts {
  byMethod: Record<string, number>;
  byRoute: Record<string, number>;
}

/**
 * The route of a management API request: its method, the collection it addresses, and one `*` per further
 * path segment (vhost, name, …), so that a list and a read of one object stay apart and names stay out.
 */
export function routeOf(method: string, path: string): string {
  const [pathname = ''] = path.split('?');
  const segments = pathname.split('/').filter((segment) => segment !== '');
  if (segments[0] !== 'api' || segments.length === 1) return `${method} ${pathname || '/'}`;
  const [, collection, ...rest] = segments;
  return `${method} /api/${collection ?? ''}${rest.map(() => '/*').join('')}`;
}

export class RequestCounter {
  private readonly methods = new Map<string, number>();
  private readonly routes = new Map<string, number>();

  record(method: string, path: string): void {
    this.methods.set(method, (this.methods.get(method) ?? 0) + 1);
    const route = routeOf(method, path);
    this.routes.set(route, (this.routes.get(route) ?? 0) + 1);
  }

  /** The counts so far; later requests do not change it. */
  snapshot(): RequestCounts {
    return { byMethod: Object.fromEntries(this.methods), byRoute: Object.fromEntries(this.routes) };
  }
}

function difference(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([key, count]): [string, number] => [key, count - (before[key] ?? 0)])
      .filter(([, count]) => count > 0)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

/** The requests counted between two snapshots, without the keys that saw none. */
export function countsSince(before: RequestCounts, after: RequestCounts): RequestCounts {
  return {
    byMethod: difference(after.byMethod, before.byMethod),
    byRoute: difference(after.byRoute, before.byRoute),
  };
}

export function totalOf(counts: Record<string, number>, methods?: readonly string[]): number {
  return Object.entries(counts)
    .filter(([method]) => methods === undefined || methods.includes(method))
    .reduce((total, [, count]) => total + count, 0);
}

export interface CountingProxy {
  /** The proxy's base URL, to give to operators in place of the broker's. */
  url: string;
  counter: RequestCounter;
  close(): Promise<void>;
}

/** Starts the proxy on a free loopback port, forwarding to `upstream` (a management API base URL). */
export async function startCountingProxy(upstream: string): Promise<CountingProxy> {
  const target = new URL(upstream);
  if (target.protocol !== 'http:')
    throw new Error(`the counting proxy forwards to http only, not ${upstream}`);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const counter = new RequestCounter();
  const forward = (incoming: IncomingMessage, response: ServerResponse) => {
    const path = incoming.url ?? '/';
    counter.record(incoming.method ?? 'GET', path);
    const outgoing = request(
      {
        agent,
        hostname: target.hostname,
        port: target.port,
        method: incoming.method,
        path,
        headers: { ...incoming.headers, host: target.host },
      },
      (upstreamResponse) => {
        response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        upstreamResponse.pipe(response);
      },
    );
    outgoing.on('error', (error) => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`counting proxy: ${error.message}`);
    });
    incoming.pipe(outgoing);
  };
  const server = createServer({ keepAlive: true }, forward);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}`,
    counter,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
