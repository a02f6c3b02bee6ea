// A TCP proxy in front of the API server that can go silent: stall() stops every byte in both directions, on the
// connections it has and on any new one, as a dead network path does (nothing is delivered later either).
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

export class StallProxy {
  private stalled = false;
  private readonly sockets = new Set<Socket>();
  private readonly server = createServer((client) => this.accept(client));
  private readonly target: { host: string; port: number };

  constructor(target: { host: string; port: number }) {
    this.target = target;
  }

  /** Listens on 127.0.0.1; resolves with the port. */
  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  stall(): void {
    this.stalled = true;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: Socket): void {
    this.track(client);
    const upstream = connect(this.target.port, this.target.host);
    this.track(upstream);
    // Bytes are dropped, not queued, once stalled: a request sent into the stall never arrives.
    client.on('data', (chunk) => {
      if (!this.stalled) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!this.stalled) client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
  }
}
