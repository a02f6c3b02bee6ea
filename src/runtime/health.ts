// The probe server (/healthz, /readyz) and the metrics server (/metrics), each on its own address as in
// controller-runtime (":8081" and ":8080"; "0" turns a server off).
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.ts';

export type Check = () => boolean;

/** Parses ":8080", "0.0.0.0:8080", "[::1]:8080", "8080"; undefined for "0" (disabled). */
export function parseBindAddress(address: string): { host: string | undefined; port: number } | undefined {
  if (address === '0' || address === '') return undefined;
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address) ?? /^()()(\d+)$/.exec(address);
  if (!match)
    throw new Error(`not a bind address: "${address}" (use ":8080", "host:port" or "0" to disable)`);
  const host = match[1] ?? match[2];
  return { host: host === '' ? undefined : host, port: Number(match[3]) };
}

export class HttpEndpoint {
  private readonly server: Server;
  private readonly log: Logger;
  private readonly name: string;

  constructor(
    name: string,
    routes: Record<string, () => Promise<{ status: number; type: string; body: string }>>,
    log: Logger,
  ) {
    this.name = name;
    this.log = log;
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const route = req.method === 'GET' || req.method === 'HEAD' ? routes[path] : undefined;
      if (!route) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      route().then(
        ({ status, type, body }) =>
          res.writeHead(status, { 'content-type': type }).end(req.method === 'HEAD' ? undefined : body),
        (err: unknown) => {
          this.log.error({ err, path }, 'endpoint failed');
          res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
        },
      );
    });
    this.server.keepAliveTimeout = 5_000;
  }

  /** Starts listening; resolves with the bound port. */
  async listen(address: { host: string | undefined; port: number }): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(address.port, address.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const port = (this.server.address() as AddressInfo).port;
    this.log.info({ port, host: address.host ?? '*' }, `${this.name} server listening`);
    return port;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function probeEndpoint(checks: { healthz: Check; readyz: Check }, log: Logger): HttpEndpoint {
  const answer = (ok: boolean) =>
    Promise.resolve({ status: ok ? 200 : 503, type: 'text/plain', body: ok ? 'ok\n' : 'not ready\n' });
  return new HttpEndpoint(
    'probe',
    { '/healthz': () => answer(checks.healthz()), '/readyz': () => answer(checks.readyz()) },
    log,
  );
}

export function metricsEndpoint(registry: Registry, log: Logger): HttpEndpoint {
  return new HttpEndpoint(
    'metrics',
    { '/metrics': async () => ({ status: 200, type: registry.contentType, body: await registry.metrics() }) },
    log,
  );
}
