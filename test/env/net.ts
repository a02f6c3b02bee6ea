// Loopback networking helpers for the test environment.
//
//   freePorts(n)         n distinct free TCP ports on 127.0.0.1 (free when asked; callers retry on a race).
//   httpGet(url, tls?)   a GET over http or https with optional CA, client certificate and basic auth;
//                        resolves to { status, body } and never throws on an HTTP error status.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';

export async function freePorts(count: number): Promise<number[]> {
  // Hold every listener open until all are allocated, so the ports are distinct.
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export interface GetOptions {
  ca?: string;
  cert?: string;
  key?: string;
  /** Accept any server certificate (for components that serve a self-signed one). */
  insecure?: boolean;
  auth?: { username: string; password: string };
  timeoutMs?: number;
}

export function httpGet(url: string, options: GetOptions = {}): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers: Record<string, string> = {};
  if (options.auth) {
    const token = Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64');
    headers.authorization = `Basic ${token}`;
  }
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'GET',
        headers,
        ca: options.ca,
        cert: options.cert,
        key: options.key,
        rejectUnauthorized: !options.insecure,
        timeout: options.timeoutMs ?? 5000,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${target.pathname} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
