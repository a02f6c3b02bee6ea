// Test helpers for the runtime (imported by *.test.ts only): an in-memory Kubernetes API server over plain
// HTTP, just enough for a Manager: list and watch (watches stay open and send nothing), get, create, replace
// with resourceVersion checks, and patch as "record and answer". Requests can be stalled to play a dead
// connection: they are held open, unanswered, until the client gives up.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiServerAccess } from './api-server.ts';
import type { KubeObject } from './resource.ts';

export interface SeenRequest {
  method: string;
  path: string;
  /** Date.now() when it arrived. */
  at: number;
  body: unknown;
  /** Set when the client closed the connection before an answer (it gave up). */
  cutOffAt?: number;
  stalled: boolean;
}

const collections = new Set(['configmaps', 'leases', 'events', 'secrets']);

export class FakeApiServer {
  readonly requests: SeenRequest[] = [];
  /** Objects by collection path (`/api/v1/namespaces/ns/configmaps`) and name. */
  readonly objects = new Map<string, Map<string, KubeObject>>();
  private stallWhen: (method: string, path: string) => boolean = () => false;
  private version = 0;
  private readonly server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => this.handle(req, res, text));
  });

  /** Holds every later request that matches open and unanswered (until stall(() => false)). */
  stall(when: (method: string, path: string) => boolean): void {
    this.stallWhen = when;
  }

  put(collection: string, obj: KubeObject): void {
    this.version += 1;
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.version) } };
    let items = this.objects.get(collection);
    if (!items) this.objects.set(collection, (items = new Map<string, KubeObject>()));
    items.set(obj.metadata.name ?? '', stored);
  }

  get(collection: string, name: string): KubeObject | undefined {
    return this.objects.get(collection)?.get(name);
  }

  /** Stalled requests still held open. */
  get hanging(): SeenRequest[] {
    return this.requests.filter((r) => r.stalled && r.cutOffAt === undefined);
  }

  async start(): Promise<ApiServerAccess> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const port = (this.server.address() as AddressInfo).port;
    return {
      server: `http://127.0.0.1:${port}`,
      namespace: 'ns',
      authentication: 'kubeconfig',
      applyToHTTPSOptions: () => Promise.resolve(),
    };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(req: IncomingMessage, res: ServerResponse, text: string): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const body = text === '' ? undefined : (JSON.parse(text) as unknown);
    const seen: SeenRequest = { method, path: url.pathname, at: Date.now(), body, stalled: false };
    this.requests.push(seen);
    res.on('close', () => {
      if (!res.writableFinished) seen.cutOffAt = Date.now();
    });
    const segments = url.pathname.split('/');
    const isCollection = collections.has(segments.at(-1) ?? '');
    const collection = isCollection ? url.pathname : segments.slice(0, -1).join('/');
    const name = isCollection ? undefined : segments.at(-1);
    if (url.searchParams.get('watch') === 'true') {
      // A watch that never hears of a change; the client's abort ends it.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      return;
    }
    if (this.stallWhen(method, url.pathname)) {
      seen.stalled = true;
      return;
    }
    const answer = (status: number, value: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    };
    const items = this.objects.get(collection) ?? new Map<string, KubeObject>();
    const current = name === undefined ? undefined : items.get(name);
    const notFound = () => answer(404, { kind: 'Status', reason: 'NotFound', message: 'not found' });
    switch (method) {
      case 'GET':
        if (name === undefined) {
          return answer(200, {
            metadata: { resourceVersion: String(this.version) },
            items: [...items.values()],
          });
        }
        return current ? answer(200, current) : notFound();
      case 'POST': {
        const obj = body as KubeObject;
        const objName = obj.metadata.name ?? `generated-${this.version}`;
        if (items.has(objName))
          return answer(409, { kind: 'Status', reason: 'AlreadyExists', message: 'exists' });
        this.put(collection, { ...obj, metadata: { ...obj.metadata, name: objName } });
        return answer(201, this.get(collection, objName));
      }
      case 'PUT': {
        const obj = body as KubeObject;
        if (!current) return notFound();
        if (obj.metadata.resourceVersion !== current.metadata.resourceVersion) {
          return answer(409, { kind: 'Status', reason: 'Conflict', message: 'the object has been modified' });
        }
        this.put(collection, obj);
        return answer(200, this.get(collection, name ?? ''));
      }
      case 'PATCH':
        return current ? answer(200, current) : notFound();
      default:
        return answer(405, { kind: 'Status', reason: 'MethodNotAllowed', message: method });
    }
  }
}
