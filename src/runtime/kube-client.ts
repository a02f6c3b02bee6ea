// A thin JSON client for the Kubernetes REST API on one keep-alive undici pool.
//
// client-node's generated clients build a new undici Agent (a new TLS handshake) per request and deserialize
// built-in kinds into classes with Date fields; watches arrive as plain JSON. The runtime needs one form and
// cheap connections, so it speaks REST itself and takes only authentication and TLS from ApiServerAccess.
import { createHash } from 'node:crypto';
import type { RequestOptions } from 'node:https';
import type { Readable } from 'node:stream';
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import type { ApiServerAccess } from './api-server.ts';
import type { WriteFence } from './fence.ts';
import { apiVersionOf, resourcePath } from './resource.ts';
import type { KubeObject, ObjectKey, ResourceRef } from './resource.ts';

export const PatchType = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;
export type PatchType = (typeof PatchType)[keyof typeof PatchType];

export type JsonPatchOp =
  { op: 'add' | 'replace' | 'test'; path: string; value: unknown } | { op: 'remove'; path: string };

/** A failed API call. `code` is the HTTP status (0 when the server could not be reached). */
export class ApiError extends Error {
  readonly code: number;
  /**
   * The Status reason (`NotFound`, `Conflict`, `AlreadyExists`, …), `ConnectionFailed` (no answer in time
   * included), or `Aborted` (the caller's signal aborted).
   */
  readonly reason: string;
  /** The reasons of the Status's `details.causes` (`NamespaceTerminating`, `FieldValueInvalid`, …). */
  readonly causes: readonly string[];
  constructor(code: number, reason: string, message: string, options?: ErrorOptions & { causes?: string[] }) {
    super(message, options);
    this.name = 'ApiError';
    this.code = code;
    this.reason = reason;
    this.causes = options?.causes ?? [];
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.code === 404;
}
export function isConflict(err: unknown): boolean {
  return err instanceof ApiError && err.code === 409;
}
export function isAlreadyExists(err: unknown): boolean {
  return err instanceof ApiError && err.code === 409 && err.reason === 'AlreadyExists';
}
/** A 403 from namespace lifecycle admission: nothing new may be created in a namespace that is going away. */
export function isNamespaceTerminating(err: unknown): boolean {
  return err instanceof ApiError && err.code === 403 && err.causes.includes('NamespaceTerminating');
}

export interface RequestObserver {
  (info: { method: string; code: number; host: string }): void;
}

/** What every call takes: a reconcile passes its ctx.signal, leader election its renew deadline. */
export interface CallOptions {
  /** Abandons the request: once aborted, nothing more is sent and a request in flight is cut off. */
  signal?: AbortSignal;
  /** Whole-request deadline; default 30 s. Watches pass 0 and keep their own watchdog. */
  timeoutMs?: number;
}

export interface RequestOptionsOf extends CallOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
}

export interface ListOptions extends CallOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface ObjectList<T> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

export interface ApplyOptions extends CallOptions {
  fieldManager: string;
  /** Take ownership of fields another manager holds (default true: the operator is the source of truth). */
  force?: boolean;
  subresource?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** The connection pool, shared by a client and the views withSignal() makes of it. */
interface Transport {
  agent: Agent | undefined;
  fingerprint: string;
  closed: boolean;
}

export class KubeClient {
  readonly access: ApiServerAccess;
  readonly server: URL;
  private readonly observe: RequestObserver | undefined;
  private transport: Transport = { agent: undefined, fingerprint: '', closed: false };
  private bound: AbortSignal | undefined;
  private fence: WriteFence | undefined;

  constructor(access: ApiServerAccess, options: { observe?: RequestObserver; fence?: WriteFence } = {}) {
    this.access = access;
    this.server = new URL(access.server);
    this.observe = options.observe;
    this.fence = options.fence;
  }

  /**
   * This client with `signal` on every request, sharing its connections: a reconcile hands
   * `client.withSignal(ctx.signal)` to everything it calls, so that an abort stops all of its requests.
   */
  withSignal(signal: AbortSignal): KubeClient {
    const view = this.view();
    view.bound = this.bound ? AbortSignal.any([this.bound, signal]) : signal;
    return view;
  }

  /**
   * This client with every write (any method but GET) passing `fence` first, sharing its connections: a write
   * the fence refuses is never sent, and the fence's error is thrown as it is.
   */
  withFence(fence: WriteFence): KubeClient {
    const view = this.view();
    view.fence = fence;
    return view;
  }

  private view(): KubeClient {
    const view = new KubeClient(this.access, { observe: this.observe, fence: this.fence });
    view.transport = this.transport;
    view.bound = this.bound;
    return view;
  }

  /** Sends one request and returns the parsed JSON body; throws ApiError for any non-2xx status. */
  async request<T>(method: Dispatcher.HttpMethod, path: string, options: RequestOptionsOf = {}): Promise<T> {
    const response = await this.send(method, path, options);
    const text = await response.body.text();
    if (response.statusCode >= 300) throw errorFrom(method, path, response.statusCode, text);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /** Opens a streaming request (a watch). The caller consumes or destroys the body. */
  async stream(path: string, options: RequestOptionsOf = {}): Promise<Readable> {
    const response = await this.send('GET', path, { ...options, timeoutMs: 0 });
    if (response.statusCode !== 200) {
      const text = await response.body.text();
      throw errorFrom('GET', path, response.statusCode, text);
    }
    return response.body;
  }

  async get<T extends KubeObject>(
    resource: ResourceRef,
    key: ObjectKey,
    options: CallOptions = {},
  ): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', resourcePath(resource, key.namespace, key.name), options);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list<T extends KubeObject>(resource: ResourceRef, options: ListOptions = {}): Promise<ObjectList<T>> {
    return this.request<ObjectList<T>>('GET', resourcePath(resource, options.namespace), {
      query: {
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        limit: options.limit,
        continue: options.continue,
        resourceVersion: options.resourceVersion,
      },
      signal: options.signal,
      timeoutMs: options.timeoutMs,
    });
  }

  async create<T extends KubeObject>(resource: ResourceRef, obj: T, options: CallOptions = {}): Promise<T> {
    return this.request<T>('POST', resourcePath(resource, obj.metadata.namespace), {
      ...callOptions(options),
      body: withTypeMeta(resource, obj),
    });
  }

  /** Full update; the object's resourceVersion makes it fail with 409 if someone wrote in between. */
  async replace<T extends KubeObject>(
    resource: ResourceRef,
    obj: T,
    subresource?: string,
    options: CallOptions = {},
  ): Promise<T> {
    return this.request<T>(
      'PUT',
      resourcePath(resource, obj.metadata.namespace, obj.metadata.name ?? '', subresource),
      { ...callOptions(options), body: withTypeMeta(resource, obj) },
    );
  }

  async patch<T extends KubeObject>(
    resource: ResourceRef,
    key: ObjectKey,
    patch: unknown,
    type: PatchType,
    options: CallOptions & { subresource?: string; fieldManager?: string; force?: boolean } = {},
  ): Promise<T> {
    return this.request<T>('PATCH', resourcePath(resource, key.namespace, key.name, options.subresource), {
      ...callOptions(options),
      body: patch,
      contentType: type,
      query: { fieldManager: options.fieldManager, force: options.force },
    });
  }

  async mergePatch<T extends KubeObject>(
    resource: ResourceRef,
    key: ObjectKey,
    patch: unknown,
    subresource?: string,
    options: CallOptions = {},
  ): Promise<T> {
    return this.patch<T>(resource, key, patch, PatchType.merge, { ...callOptions(options), subresource });
  }

  async jsonPatch<T extends KubeObject>(
    resource: ResourceRef,
    key: ObjectKey,
    ops: JsonPatchOp[],
    subresource?: string,
    options: CallOptions = {},
  ): Promise<T> {
    return this.patch<T>(resource, key, ops, PatchType.json, { ...callOptions(options), subresource });
  }

  /** Server-side apply of a whole object (apiVersion and kind are filled in from the resource). */
  async apply<T extends KubeObject>(
    resource: ResourceRef,
    obj: KubeObject,
    options: ApplyOptions,
  ): Promise<T> {
    const key = { namespace: obj.metadata.namespace ?? '', name: obj.metadata.name ?? '' };
    return this.patch<T>(resource, key, withTypeMeta(resource, obj), PatchType.apply, {
      ...callOptions(options),
      subresource: options.subresource,
      fieldManager: options.fieldManager,
      force: options.force ?? true,
    });
  }

  /** Deletes an object; resolves false when it was already gone. */
  async delete(
    resource: ResourceRef,
    key: ObjectKey,
    options: CallOptions & { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan'; uid?: string } = {},
  ): Promise<boolean> {
    const body: Record<string, unknown> = { apiVersion: 'v1', kind: 'DeleteOptions' };
    if (options.propagationPolicy) body.propagationPolicy = options.propagationPolicy;
    if (options.uid) body.preconditions = { uid: options.uid };
    try {
      await this.request('DELETE', resourcePath(resource, key.namespace, key.name), {
        ...callOptions(options),
        body,
      });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Lets requests in flight finish, then closes the connections; later requests fail. */
  async close(): Promise<void> {
    const agent = this.shutTransport();
    if (agent) await agent.close();
  }

  /** Cuts off every request in flight at once and closes the connections; later requests fail. */
  async destroy(): Promise<void> {
    const agent = this.shutTransport();
    if (agent) await agent.destroy();
  }

  private shutTransport(): Agent | undefined {
    const agent = this.transport.agent;
    this.transport.agent = undefined;
    this.transport.closed = true;
    return agent;
  }

  private async send(
    method: Dispatcher.HttpMethod,
    path: string,
    options: RequestOptionsOf,
  ): Promise<Dispatcher.ResponseData> {
    // The fence is passed first, before anything asynchronous lets a starved process's timers run, and again
    // just before the dispatch below.
    const write = method !== 'GET';
    if (write) this.fence?.assertValid();
    // Credentials are read on every request: service account tokens and exec plugins rotate them.
    const tls: RequestOptions = {};
    await this.access.applyToHTTPSOptions(tls);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'warren-operator' };
    for (const [name, value] of Object.entries(tls.headers ?? {})) {
      if (value !== undefined) headers[name.toLowerCase()] = String(value);
    }
    if (tls.auth) headers.authorization = `Basic ${Buffer.from(tls.auth).toString('base64')}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = options.contentType ?? 'application/json';
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const caller = [this.bound, options.signal].filter((s) => s !== undefined);
    const signals = [...caller, timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined].filter(
      (s) => s !== undefined,
    );
    const basePath = this.server.pathname.replace(/\/$/, '');
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) query.set(name, String(value));
    }
    const search = query.size > 0 ? `?${query.toString()}` : '';
    const host = this.server.host;
    // Checked last, with nothing asynchronous between it and the dispatch below: a process starved after an
    // earlier check must not send a write once its leadership may have run out.
    if (write) this.fence?.assertValid();
    try {
      // Checked after the await above: an abort meanwhile must not let the request go out.
      for (const signal of caller) signal.throwIfAborted();
      if (this.transport.closed) throw new Error('the client is closed');
      const response = await this.agentFor(tls).request({
        origin: this.server.origin,
        path: `${basePath}${path}${search}`,
        method,
        headers,
        body,
        signal: signals.length > 0 ? AbortSignal.any(signals) : undefined,
        // Watches stay open for minutes; their liveness is the informer's watchdog's job.
        bodyTimeout: 0,
        headersTimeout: DEFAULT_TIMEOUT_MS,
      });
      this.observe?.({ method, code: response.statusCode, host });
      return response;
    } catch (err) {
      this.observe?.({ method, code: 0, host });
      const cause = err instanceof Error ? err.message : String(err);
      // The caller gave up (a reconcile abandoned, a renew past its deadline): not the server's fault.
      const reason = caller.some((s) => s.aborted) ? 'Aborted' : 'ConnectionFailed';
      throw new ApiError(0, reason, `${method} ${path}: ${cause}`, { cause: err });
    }
  }

  /** One pool for every request; rebuilt only if the TLS material changes (rotated client certificates). */
  private agentFor(tls: RequestOptions): Agent {
    const fingerprint = createHash('sha256')
      .update(
        JSON.stringify(
          [tls.ca, tls.cert, tls.key].map((v) => (Array.isArray(v) ? v.map(String) : String(v))),
        ),
      )
      .update(String(tls.rejectUnauthorized))
      .update(String(tls.servername))
      .digest('hex');
    const transport = this.transport;
    if (!transport.agent || fingerprint !== transport.fingerprint) {
      const previous = transport.agent;
      transport.agent = new Agent({
        connect: {
          ca: tls.ca,
          cert: tls.cert,
          key: tls.key,
          ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
          ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
        },
        keepAliveTimeout: 30_000,
      });
      transport.fingerprint = fingerprint;
      // In-flight requests on the old pool finish; it closes once they do.
      if (previous) void previous.close().catch(() => undefined);
    }
    return transport.agent;
  }
}

/** Only the call options, so that a caller's other fields never reach the request. */
function callOptions(options: CallOptions): CallOptions {
  return { signal: options.signal, timeoutMs: options.timeoutMs };
}

function withTypeMeta(resource: ResourceRef, obj: KubeObject): KubeObject {
  return { ...obj, apiVersion: obj.apiVersion ?? apiVersionOf(resource), kind: obj.kind ?? resource.kind };
}

function errorFrom(method: string, path: string, code: number, text: string): ApiError {
  let reason = '';
  let message = text.slice(0, 500);
  let causes: string[] = [];
  try {
    const status = JSON.parse(text) as {
      reason?: string;
      message?: string;
      details?: { causes?: { reason?: string }[] };
    };
    reason = status.reason ?? '';
    message = status.message ?? message;
    causes = (status.details?.causes ?? []).flatMap((c) => (c.reason ? [c.reason] : []));
  } catch {
    // Not a Status object: keep the (truncated) text.
  }
  return new ApiError(code, reason || `HTTP${code}`, `${method} ${path}: ${code} ${message}`, { causes });
}
