// List-then-watch informers with a local cache, written for the failure modes client-node's ListWatch has
// (see docs: it stops for good on any error but 410, never requests bookmarks, and turns a throwing handler
// into an unhandled rejection). This one:
// - lists in pages, then watches from the list's resourceVersion with bookmarks and a server-side timeout;
// - on 410 Gone (status or in-stream ERROR) lists again, diffing against the cache so vanished objects
//   produce delete events and unchanged ones produce nothing;
// - after any other failure retries forever with jittered exponential backoff, keeping the cache;
// - aborts a watch that stays silent longer than the watchdog allows (bookmarks arrive about once a minute);
// - drops managedFields from cached objects (they are often the largest part of an object);
// - calls handlers synchronously inside try/catch: a handler can neither throw nor reject out of here.
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff } from './backoff.ts';
import { ApiError } from './kube-client.ts';
import type { KubeClient } from './kube-client.ts';
import type { Logger } from './logger.ts';
import type { RuntimeMetrics } from './metrics.ts';
import { apiVersionOf, keyString, resourceId, resourcePath } from './resource.ts';
import type { KubeObject, ObjectKey, ResourceRef } from './resource.ts';

/** Read access to the objects an informer holds. Objects are shared: never mutate them. */
export interface Cache<T extends KubeObject = KubeObject> {
  get(key: ObjectKey): T | undefined;
  /** All cached objects, or those of one namespace. */
  list(namespace?: string): T[];
  hasSynced(): boolean;
}

export interface EventHandler<T extends KubeObject = KubeObject> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

export interface Informer<T extends KubeObject = KubeObject> extends Cache<T> {
  readonly resource: ResourceRef;
  readonly labelSelector: string | undefined;
  addHandler(handler: EventHandler<T>): void;
  start(): void;
  stop(): Promise<void>;
  /** Resolves once the first list is in the cache (rejects if `signal` aborts first). */
  waitForSync(signal?: AbortSignal): Promise<void>;
}

export interface InformerOptions {
  client: KubeClient;
  resource: ResourceRef;
  /** Watch one namespace; undefined watches all (or the cluster scope of a cluster-scoped resource). */
  namespace?: string;
  labelSelector?: string;
  /** Field selector, e.g. `metadata.name=x` to watch one object. */
  fieldSelector?: string;
  logger: Logger;
  metrics?: RuntimeMetrics;
  /** Restart a watch when nothing (not even a bookmark) arrived for this long. Default 5 minutes. */
  watchdogMs?: number;
  /** Server-side watch timeout; each watch draws a value in [t, 2t) like client-go. Default 300 s. */
  watchTimeoutSeconds?: number;
  /** Retry delays after a failed list or watch. Default 500 ms doubling to 30 s, jittered. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  pageSize?: number;
}

class GoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoneError';
  }
}

class WatchdogError extends Error {
  constructor() {
    super('watch silent for too long');
    this.name = 'WatchdogError';
  }
}

interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject & { code?: number; reason?: string; message?: string };
}

/** An informer for one scope: all namespaces, or one namespace, with an optional label selector. */
const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';

export class ListWatchInformer<T extends KubeObject = KubeObject> implements Informer<T> {
  readonly resource: ResourceRef;
  readonly labelSelector: string | undefined;
  readonly namespace: string | undefined;
  private readonly fieldSelector: string | undefined;
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly metrics: RuntimeMetrics | undefined;
  private readonly metricLabel: { resource: string };
  private readonly watchdogMs: number;
  private readonly watchTimeoutSeconds: number;
  private readonly backoff: Backoff;
  private readonly pageSize: number;
  private readonly store = new Map<string, T>();
  private readonly handlers: EventHandler<T>[] = [];
  private resourceVersion = '';
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;

  constructor(options: InformerOptions) {
    this.client = options.client;
    this.resource = options.resource;
    this.namespace = options.resource.namespaced ? options.namespace : undefined;
    this.labelSelector = options.labelSelector;
    this.fieldSelector = options.fieldSelector;
    this.metrics = options.metrics;
    this.metricLabel = { resource: resourceId(options.resource) };
    this.watchdogMs = options.watchdogMs ?? 300_000;
    this.watchTimeoutSeconds = options.watchTimeoutSeconds ?? 300;
    this.backoff = new Backoff(options.backoffBaseMs ?? 500, options.backoffMaxMs ?? 30_000);
    this.pageSize = options.pageSize ?? 500;
    this.log = options.logger.child({
      informer: this.metricLabel.resource,
      ...(this.namespace ? { watchNamespace: this.namespace } : {}),
      ...(this.labelSelector ? { labelSelector: this.labelSelector } : {}),
    });
  }

  get(key: ObjectKey): T | undefined {
    return this.store.get(keyString(this.resource.namespaced ? key : { namespace: '', name: key.name }));
  }

  list(namespace?: string): T[] {
    const all = [...this.store.values()];
    return namespace === undefined ? all : all.filter((o) => (o.metadata.namespace ?? '') === namespace);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  addHandler(handler: EventHandler<T>): void {
    this.handlers.push(handler);
    // A handler added late still hears about every object already cached, as in client-go.
    for (const obj of this.store.values()) this.dispatch('add', handler, obj);
  }

  start(): void {
    if (this.loop) return;
    const abort = new AbortController();
    this.abort = abort;
    this.loop = this.run(abort.signal);
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.loop;
    this.loop = undefined;
    this.abort = undefined;
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        if (this.resourceVersion === '') await this.relist(signal);
        const { events, seconds } = await this.watch(signal);
        // A watch that closed at once without news means the server is unhappy: do not spin.
        if (events === 0 && seconds < 1) await sleep(this.backoff.next(), undefined, { signal });
        else this.backoff.reset();
      } catch (err) {
        // The await above may have ended because stop() aborted the signal.
        if (isAborted(signal)) break;
        if (err instanceof GoneError || (err instanceof ApiError && err.code === 410)) {
          this.log.info({ resourceVersion: this.resourceVersion }, 'resource version expired; listing again');
          this.resourceVersion = '';
          continue;
        }
        if (err instanceof WatchdogError) {
          this.metrics?.watchdogRestarts.inc(this.metricLabel);
          this.log.warn({ watchdogMs: this.watchdogMs }, 'watch was silent for too long; restarting it');
          continue;
        }
        this.metrics?.watchErrors.inc(this.metricLabel);
        const delay = this.backoff.next();
        this.log.warn({ err, retryInMs: Math.round(delay) }, 'list or watch failed; retrying');
        try {
          await sleep(delay, undefined, { signal });
        } catch {
          break;
        }
      }
    }
  }

  private listQuery(): Record<string, string | undefined> {
    return { labelSelector: this.labelSelector, fieldSelector: this.fieldSelector };
  }

  private async relist(signal: AbortSignal): Promise<void> {
    this.metrics?.relists.inc(this.metricLabel);
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion: string;
    let paged = true;
    for (;;) {
      let page;
      try {
        page = await this.client.list<T>(this.resource, {
          namespace: this.namespace,
          labelSelector: this.labelSelector,
          fieldSelector: this.fieldSelector,
          limit: paged ? this.pageSize : undefined,
          continue: continueToken,
          signal,
        });
      } catch (err) {
        // The continue token expired mid-way: list everything in one go, as client-go's pager does.
        if (err instanceof ApiError && err.code === 410 && continueToken !== undefined) {
          items.length = 0;
          continueToken = undefined;
          paged = false;
          continue;
        }
        throw err;
      }
      for (const item of page.items) items.push(this.normalize(item));
      resourceVersion = page.metadata.resourceVersion ?? '';
      continueToken = page.metadata.continue || undefined;
      if (!continueToken) break;
    }
    this.replace(items);
    this.resourceVersion = resourceVersion;
    if (!this.synced) {
      this.synced = true;
      this.log.debug({ objects: this.store.size }, 'cache synced');
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private replace(items: T[]): void {
    const fresh = new Map<string, T>();
    for (const item of items) fresh.set(keyString(objectKey(item)), item);
    for (const [key, old] of this.store) {
      if (!fresh.has(key)) {
        this.store.delete(key);
        this.emit('delete', old);
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.store.get(key);
      this.store.set(key, obj);
      if (!old) this.emit('add', obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit('update', obj, old);
    }
    this.metrics?.cachedObjects.set(this.metricLabel, this.store.size);
  }

  private async watch(signal: AbortSignal): Promise<{ events: number; seconds: number }> {
    const started = performance.now();
    const abort = new AbortController();
    const onStop = () => abort.abort();
    signal.addEventListener('abort', onStop, { once: true });
    let watchdog: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => abort.abort(new WatchdogError()), this.watchdogMs);
      watchdog.unref();
    };
    let events = 0;
    try {
      arm();
      const timeoutSeconds = Math.floor(this.watchTimeoutSeconds * (1 + Math.random()));
      const body = await this.client.stream(resourcePath(this.resource, this.namespace), {
        query: {
          ...this.listQuery(),
          watch: 'true',
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: 'true',
          timeoutSeconds,
        },
        signal: abort.signal,
      });
      this.metrics?.watchConnects.inc(this.metricLabel);
      abort.signal.addEventListener('abort', () => body.destroy(), { once: true });
      const lines = createInterface({ input: body, crlfDelay: Infinity });
      for await (const line of lines) {
        arm();
        if (line.trim() === '') continue;
        let event: WatchEvent;
        try {
          event = JSON.parse(line) as WatchEvent;
        } catch {
          this.log.warn('ignoring a watch line that is not JSON');
          continue;
        }
        events += 1;
        this.apply(event);
      }
      if (abort.signal.aborted) throw abort.signal.reason;
    } catch (err) {
      if (abort.signal.reason instanceof WatchdogError) throw abort.signal.reason;
      throw err;
    } finally {
      clearTimeout(watchdog);
      signal.removeEventListener('abort', onStop);
    }
    return { events, seconds: (performance.now() - started) / 1000 };
  }

  private apply(event: WatchEvent): void {
    const obj = event.object;
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const item = this.normalize(obj as T);
        const key = keyString(objectKey(item));
        const old = this.store.get(key);
        this.store.set(key, item);
        if (!old) this.emit('add', item);
        else if (old.metadata.resourceVersion !== item.metadata.resourceVersion)
          this.emit('update', item, old);
        break;
      }
      case 'DELETED': {
        const key = keyString(objectKey(obj));
        const old = this.store.get(key);
        this.store.delete(key);
        if (old) this.emit('delete', this.normalize(obj as T));
        break;
      }
      case 'BOOKMARK':
        break;
      case 'ERROR':
        if (obj.code === 410) throw new GoneError(obj.message ?? 'resource version too old');
        throw new ApiError(
          obj.code ?? 500,
          obj.reason ?? 'WatchError',
          `watch: ${obj.message ?? 'error event'}`,
        );
    }
    const rv = obj.metadata.resourceVersion;
    if (rv) this.resourceVersion = rv;
    this.metrics?.cachedObjects.set(this.metricLabel, this.store.size);
  }

  /**
   * List items lack apiVersion and kind. managedFields and kubectl's last-applied-configuration (a second copy of
   * the whole object) are dropped to keep the cache small: no reconciler reads them.
   */
  private normalize(obj: T): T {
    obj.apiVersion ??= apiVersionOf(this.resource);
    obj.kind ??= this.resource.kind;
    if (obj.metadata.managedFields !== undefined) delete obj.metadata.managedFields;
    const annotations = obj.metadata.annotations;
    if (annotations?.[lastAppliedAnnotation] !== undefined) {
      Reflect.deleteProperty(annotations, lastAppliedAnnotation);
      if (Object.keys(annotations).length === 0) delete obj.metadata.annotations;
    }
    return obj;
  }

  private emit(kind: 'add' | 'update' | 'delete', obj: T, old?: T): void {
    for (const handler of this.handlers) this.dispatch(kind, handler, obj, old);
  }

  private dispatch(kind: 'add' | 'update' | 'delete', handler: EventHandler<T>, obj: T, old?: T): void {
    try {
      let result: unknown;
      if (kind === 'add') result = handler.add?.(obj);
      else if (kind === 'update') result = handler.update?.(old ?? obj, obj);
      else result = handler.delete?.(obj);
      if (result instanceof Promise) {
        result.catch((err: unknown) => this.log.error({ err }, 'informer event handler failed'));
      }
    } catch (err) {
      this.log.error({ err }, 'informer event handler failed');
    }
  }
}

/** One informer per watched namespace behind one cache, for operators limited to a list of namespaces. */
export class MultiNamespaceInformer<T extends KubeObject = KubeObject> implements Informer<T> {
  readonly resource: ResourceRef;
  readonly labelSelector: string | undefined;
  private readonly byNamespace: Map<string, ListWatchInformer<T>>;

  constructor(namespaces: string[], options: Omit<InformerOptions, 'namespace'>) {
    this.resource = options.resource;
    this.labelSelector = options.labelSelector;
    this.byNamespace = new Map(
      namespaces.map((ns) => [ns, new ListWatchInformer<T>({ ...options, namespace: ns })] as const),
    );
  }

  get(key: ObjectKey): T | undefined {
    return this.byNamespace.get(key.namespace)?.get(key);
  }

  list(namespace?: string): T[] {
    if (namespace !== undefined) return this.byNamespace.get(namespace)?.list() ?? [];
    return [...this.byNamespace.values()].flatMap((i) => i.list());
  }

  hasSynced(): boolean {
    return [...this.byNamespace.values()].every((i) => i.hasSynced());
  }

  addHandler(handler: EventHandler<T>): void {
    for (const i of this.byNamespace.values()) i.addHandler(handler);
  }

  start(): void {
    for (const i of this.byNamespace.values()) i.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.byNamespace.values()].map((i) => i.stop()));
  }

  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.byNamespace.values()].map((i) => i.waitForSync(signal)));
  }
}

function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

function objectKey(obj: KubeObject): ObjectKey {
  return { namespace: obj.metadata.namespace ?? '', name: obj.metadata.name ?? '' };
}
