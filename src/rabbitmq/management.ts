// RabbitMQ management API client. One keep-alive undici Pool per broker bounds the requests
// in flight (its connection count). Every call has a total deadline (connect, headers, the whole
// body and its retries) and a cap on the response size enforced while the body streams in, so a
// broker that answers a byte at a time or without end holds neither a worker nor memory for
// long. Only idempotent requests (GET, PUT, DELETE) are retried with backoff; POST is retried
// only when it certainly never reached the broker. Errors are BrokerErrors carrying the broker's
// own reason. Upstream (MTO) opens a new connection per call with no timeout; this is the answer.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, type Dispatcher } from 'undici';
import {
  BrokerError,
  classifyTransportError,
  isTransientStatus,
  parseErrorBody,
  reasonForStatus,
  redact,
} from './errors.ts';
import { countRequest, type ManagementMetrics } from './metrics.ts';
import { defaultHashingAlgorithm, hashPassword } from './passwords.ts';
import { KeyedSharedExclusiveLock, policyGateClaim } from './policy-gate.ts';
import { pathSegments, writeFromRequest, type BindingKeyDelete, type BrokerWrite } from './writes.ts';
import type {
  Binding,
  BrokerEndpoint,
  Definitions,
  DestinationType,
  Exchange,
  ExchangeSettings,
  ListedBinding,
  ListedVhost,
  Overview,
  Permission,
  PermissionSettings,
  Policy,
  PolicySettings,
  QueueDetails,
  QueueSettings,
  TopicPermission,
  TopicPermissionSettings,
  User,
  UserSettings,
  VhostSettings,
} from './types.ts';

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

export interface ManagementClientOptions {
  /** Requests in flight per broker; more wait in the pool's queue. */
  concurrency?: number;
  connectTimeoutMs?: number;
  /** Longest one call may take in all: connect, headers, the whole body, and its retries. */
  requestTimeoutMs?: number;
  /** The same for a definitions export, which grows with the broker's topology. */
  exportTimeoutMs?: number;
  /** Largest response body read; past it the request is aborted. */
  maxResponseBytes?: number;
  /** Extra attempts for a failed idempotent request. */
  retries?: number;
  retryMinDelayMs?: number;
  retryMaxDelayMs?: number;
  metrics?: ManagementMetrics;
  /**
   * Passed by every write (any method but GET) just before each attempt goes out; it throws to refuse the
   * write, and its error is thrown as it is. The operator hands in its leadership fence.
   */
  writeFence?: { assertValid(): void };
}

const defaults = {
  concurrency: 8,
  connectTimeoutMs: 5_000,
  requestTimeoutMs: 30_000,
  exportTimeoutMs: 60_000,
  maxResponseBytes: 32 * 2 ** 20,
  retries: 3,
  retryMinDelayMs: 250,
  retryMaxDelayMs: 8_000,
} as const;

export type { BrokerWrite } from './writes.ts';

export type WriteListener = (write: BrokerWrite) => void;

/** One path segment, percent-encoded (`/` → `%2F`, so the default vhost is `%2F`). */
export function segment(value: string): string {
  return encodeURIComponent(value);
}

/** `/api/a/b/c` from raw (unencoded) segments. */
export function apiPath(...segments: string[]): string {
  return `/api/${segments.map(segment).join('/')}`;
}

/** A user PUT with a plain password becomes one with a hash made here (fresh salt). */
function hashPlainPassword(path: string, body: unknown): { body: unknown; secrets: string[] } {
  const segments = pathSegments(path);
  if (segments?.[0] !== 'users' || segments.length !== 2 || typeof body !== 'object' || body === null) {
    return { body, secrets: [] };
  }
  const { password, ...rest } = body as Record<string, unknown>;
  if (typeof password !== 'string') {
    const hash = (body as Record<string, unknown>).password_hash;
    return { body, secrets: typeof hash === 'string' ? [hash] : [] };
  }
  const passwordHash = hashPassword(password, defaultHashingAlgorithm);
  return {
    body: { ...rest, password_hash: passwordHash, hashing_algorithm: defaultHashingAlgorithm },
    secrets: [password, passwordHash],
  };
}

/** Exchange names in binding paths: the default exchange is spelt `amq.default`. */
function exchangeSegment(name: string): string {
  return name === '' ? 'amq.default' : name;
}

export function bindingsPath(
  vhost: string,
  source: string,
  destinationType: DestinationType,
  destination: string,
): string {
  const dest = destinationType === 'queue' ? destination : exchangeSegment(destination);
  return apiPath(
    'bindings',
    vhost,
    'e',
    exchangeSegment(source),
    destinationType === 'queue' ? 'q' : 'e',
    dest,
  );
}

function sortedTags(tags: string[] | string | undefined): string[] {
  const list = Array.isArray(tags) ? tags : (tags ?? '').split(',');
  return [...new Set(list.map((tag) => tag.trim()).filter((tag) => tag !== ''))].sort();
}

/** Canonical JSON (sorted object keys): equal arguments give equal strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return item;
    const record = item as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(record)
        .sort()
        .map((key) => [key, record[key]]),
    );
  });
}

export function sameArguments(
  a: Record<string, unknown> | undefined,
  b: Record<string, unknown> | undefined,
): boolean {
  return canonicalJson(a ?? {}) === canonicalJson(b ?? {});
}

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Options of one call to the management API. */
export interface RequestOptions {
  /** Values to keep out of error messages besides the client's own credentials. */
  secrets?: string[];
  /** The caller's cancellation (a reconcile's signal): the call then rejects with its reason. */
  signal?: AbortSignal;
  /** This call's deadline instead of the client's `requestTimeoutMs`. */
  timeoutMs?: number;
}

/** What one call carries through its attempts. */
interface Call {
  method: HttpMethod;
  path: string;
  body: unknown;
  secrets: string[];
  /** Aborted by the caller or the deadline, whichever comes first. */
  signal: AbortSignal;
  callerSignal: AbortSignal | undefined;
  timeoutMs: number;
}

/** `30 s`, `1.5 s`, `200 ms`. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Number((ms / 1000).toFixed(1))} s`;
}

/** `32 MiB`, `1.5 KiB`, `100 bytes`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const [size, unit] = bytes < 2 ** 20 ? [bytes / 1024, 'KiB'] : [bytes / 2 ** 20, 'MiB'];
  return `${Number(size.toFixed(1))} ${unit}`;
}

/**
 * A response body as text, or undefined as soon as more than `maxBytes` arrived: reading stops
 * there and the connection is dropped, so no more than `maxBytes` is ever held.
 */
export async function readLimited(
  response: Pick<Dispatcher.ResponseData, 'body' | 'headers'>,
  maxBytes: number,
): Promise<string | undefined> {
  const { body } = response;
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    body.destroy();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > maxBytes) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, received).toString('utf8');
}

export interface ClientIdentity {
  /** The broker, independent of credentials: origin plus path prefix, no userinfo. */
  brokerId: string;
  /** The broker and the credentials (password as a digest): clients are shared per key. */
  key: string;
}

/** Origin, path prefix and identity of an endpoint; userinfo in the URL is dropped. */
export function endpointIdentity(
  endpoint: BrokerEndpoint,
): ClientIdentity & { origin: string; prefix: string } {
  const url = new URL(endpoint.url.includes('://') ? endpoint.url : `http://${endpoint.url}`);
  const prefix = url.pathname.replace(/\/+$/, '');
  const brokerId = `${url.protocol}//${url.host}${prefix}`;
  const secret = createHash('sha256')
    .update(`${endpoint.username}\0${endpoint.password}\0${endpoint.ca ?? ''}`)
    .digest('base64url');
  return { origin: `${url.protocol}//${url.host}`, prefix, brokerId, key: `${brokerId}#${secret}` };
}

/** One per process, keyed by broker and vhost: clients with other credentials share it too. */
const policyGates = new KeyedSharedExclusiveLock();

export class ManagementClient {
  readonly brokerId: string;
  readonly key: string;
  readonly #prefix: string;
  readonly #pool: Pool;
  readonly #authorization: string;
  readonly #secrets: string[];
  readonly #options: Required<Omit<ManagementClientOptions, 'metrics' | 'writeFence'>> &
    Pick<ManagementClientOptions, 'metrics' | 'writeFence'>;
  readonly #writeListeners = new Set<WriteListener>();
  readonly #bindingListings = new Map<string, ListedBinding[]>();
  #closed = false;
  /** Epoch milliseconds of the last request (or of creation). */
  lastUsedAt = Date.now();

  constructor(endpoint: BrokerEndpoint, options: ManagementClientOptions = {}) {
    const identity = endpointIdentity(endpoint);
    this.brokerId = identity.brokerId;
    this.key = identity.key;
    this.#prefix = identity.prefix;
    this.#options = { ...defaults, ...options };
    this.#authorization = `Basic ${Buffer.from(`${endpoint.username}:${endpoint.password}`).toString('base64')}`;
    this.#secrets = [endpoint.password, this.#authorization.slice('Basic '.length)];
    this.#pool = new Pool(identity.origin, {
      connections: this.#options.concurrency,
      pipelining: 1,
      connect: {
        timeout: this.#options.connectTimeoutMs,
        ...(endpoint.ca === undefined ? {} : { ca: endpoint.ca }),
      },
      // Off: each call's deadline bounds the wait for headers and for the whole body.
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 30_000,
    });
  }

  /** Called after each successful write (the snapshot cache keeps its copy current). */
  onWrite(listener: WriteListener): () => void {
    this.#writeListeners.add(listener);
    return () => this.#writeListeners.delete(listener);
  }

  #wrote(write: BrokerWrite): void {
    for (const listener of this.#writeListeners) listener(write);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#writeListeners.clear();
    await this.#pool.close();
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ---- transport -------------------------------------------------------------------------

  /**
   * One request with retries; resolves for 2xx, throws a BrokerError otherwise. Every write
   * that took effect is reported to the write listeners. A user PUT with a plain `password`
   * is sent as a locally made hash: the broker stores exactly what the snapshot records.
   * Queue declarations and policy writes in one vhost never overlap (see policy-gate.ts).
   * The deadline covers the whole call, waiting for the policy gate and retries included; when
   * it passes the call fails with BrokerTimeout, and when the caller's signal aborts the call
   * rejects with the signal's reason.
   */
  async request(
    method: HttpMethod,
    path: string,
    body?: unknown,
    options: RequestOptions = {},
  ): Promise<RawResponse> {
    options.signal?.throwIfAborted();
    const sent = method === 'PUT' ? hashPlainPassword(path, body) : { body, secrets: [] };
    const timeoutMs = options.timeoutMs ?? this.#options.requestTimeoutMs;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    const call: Call = {
      method,
      path,
      body: sent.body,
      secrets: [...this.#secrets, ...(options.secrets ?? []), ...sent.secrets],
      signal:
        options.signal === undefined ? deadline.signal : AbortSignal.any([options.signal, deadline.signal]),
      callerSignal: options.signal,
      timeoutMs,
    };
    const claim = policyGateClaim(method, path);
    try {
      const response =
        claim === undefined
          ? await this.#send(call)
          : await policyGates.run(`${this.brokerId}\0${claim.vhost}`, claim.exclusive, () =>
              this.#send(call),
            );
      if (method === 'GET') this.#rememberBindings(path, response.text);
      else this.#reportWrite(method, path, sent.body);
      return response;
    } catch (error) {
      // A DELETE of something already gone leaves the broker as the caller wanted it.
      if (method === 'DELETE' && error instanceof BrokerError && error.reason === 'NotFound') {
        this.#reportWrite(method, path, sent.body);
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async #send(call: Call): Promise<RawResponse> {
    const { method, path } = call;
    const idempotent = method !== 'POST';
    const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
    for (let attempt = 0; ; attempt++) {
      const canRetry = attempt < this.#options.retries;
      const started = performance.now();
      let response: RawResponse;
      let text: string | undefined;
      this.lastUsedAt = Date.now();
      // Before every attempt, a retry after a pause included, and with nothing asynchronous before the send.
      if (method !== 'GET') this.#options.writeFence?.assertValid();
      try {
        countRequest(method);
        const result = await this.#pool.request({
          method,
          path: `${this.#prefix}${path}`,
          // No Accept header: the broker answers 406 to `Accept: application/json` on limit PUTs.
          headers: {
            authorization: this.#authorization,
            ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(payload === undefined ? {} : { body: payload }),
          signal: call.signal,
        });
        text = await readLimited(result, this.#options.maxResponseBytes);
        response = { status: result.statusCode, headers: result.headers, text: text ?? '' };
      } catch (error) {
        this.#options.metrics?.observe(method, 'error', (performance.now() - started) / 1000);
        if (call.signal.aborted) throw this.#abandoned(call, attempt + 1);
        const failure = classifyTransportError(error);
        if (!this.#closed && failure.transient && canRetry && (idempotent || failure.notSent)) {
          await this.#pause(this.#backoff(attempt), call, attempt);
          continue;
        }
        throw new BrokerError(
          this.#closed ? 'ClientClosed' : failure.reason,
          redact(
            `${method} ${path} failed: ${this.#transportText(failure.reason, failure.code)}` +
              (attempt > 0 ? ` (after ${attempt + 1} attempts)` : ''),
            call.secrets,
          ),
          { method, path, transient: failure.transient, cause: failure.code },
        );
      }
      this.#options.metrics?.observe(method, String(response.status), (performance.now() - started) / 1000);
      if (text === undefined) throw this.#tooLarge(call, response.status);
      if (response.status < 300) return response;
      if (isTransientStatus(response.status) && idempotent && canRetry && !this.#closed) {
        const hinted = retryAfterMs(response.headers['retry-after']);
        await this.#pause(
          Math.min(hinted ?? this.#backoff(attempt), this.#options.retryMaxDelayMs),
          call,
          attempt,
        );
        continue;
      }
      throw this.#statusError(method, path, response, attempt, call.secrets);
    }
  }

  /** Waits before the next attempt, unless the call is abandoned meanwhile. */
  async #pause(ms: number, call: Call, attempt: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: call.signal });
    } catch {
      throw this.#abandoned(call, attempt + 1);
    }
  }

  /** Why an aborted call failed: the caller's own reason, or the deadline. */
  #abandoned(call: Call, attempts: number): unknown {
    if (call.callerSignal?.aborted) return call.callerSignal.reason;
    const message =
      `${call.method} ${call.path} failed: the broker at ${this.brokerId} did not answer in full within ` +
      `${formatDuration(call.timeoutMs)}, so the request was abandoned` +
      (attempts > 1 ? ` (after ${attempts} attempts)` : '');
    return new BrokerError('BrokerTimeout', redact(message, call.secrets), {
      method: call.method,
      path: call.path,
      transient: true,
    });
  }

  #tooLarge(call: Call, status: number): BrokerError {
    const message =
      `${call.method} ${call.path} failed: the broker at ${this.brokerId} answered with more than ` +
      `${formatBytes(this.#options.maxResponseBytes)}, the most Warren reads, so reading stopped there`;
    return new BrokerError('BrokerResponseTooLarge', redact(message, call.secrets), {
      status,
      method: call.method,
      path: call.path,
    });
  }

  #reportWrite(method: HttpMethod, path: string, body: unknown): void {
    if (this.#writeListeners.size === 0) return;
    const write = writeFromRequest(method, path, body);
    if (write === undefined) return;
    this.#wrote('kind' in write ? write : this.#resolveBindingKey(write, method, path));
  }

  /** The binding a properties key named, from the listing read right before the DELETE. */
  #resolveBindingKey(key: BindingKeyDelete, method: string, path: string): BrokerWrite {
    const listPath = bindingsPath(key.vhost, key.source, key.destination_type, key.destination);
    const match = this.#bindingListings
      .get(listPath)
      ?.find((item) => item.properties_key === key.propertiesKey);
    if (match === undefined) return { kind: 'unknown', method, path };
    return {
      kind: 'binding',
      op: 'delete',
      value: {
        vhost: key.vhost,
        source: key.source,
        destination: key.destination,
        destination_type: key.destination_type,
        routing_key: match.routing_key,
        arguments: match.arguments,
      },
    };
  }

  /** Keeps recent binding listings (bounded) so a delete by properties key can be resolved. */
  #rememberBindings(path: string, text: string): void {
    if (this.#writeListeners.size === 0) return;
    const segments = pathSegments(path);
    if (segments?.[0] !== 'bindings' || segments.length !== 6 || path.includes('?')) return;
    try {
      const listed = JSON.parse(text) as ListedBinding[];
      this.#bindingListings.delete(path);
      this.#bindingListings.set(path, listed);
      if (this.#bindingListings.size > 256) {
        const oldest = this.#bindingListings.keys().next();
        if (oldest.done !== true) this.#bindingListings.delete(oldest.value);
      }
    } catch {
      // not a listing: nothing to remember
    }
  }

  #backoff(attempt: number): number {
    const ceiling = Math.min(this.#options.retryMaxDelayMs, this.#options.retryMinDelayMs * 2 ** attempt);
    // Equal jitter: at least half the ceiling, so retries of many reconciles spread out.
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  #transportText(reason: string, code: string | undefined): string {
    const what =
      reason === 'Timeout'
        ? 'the broker did not answer in time'
        : reason === 'BrokerUnreachable'
          ? 'the broker cannot be reached'
          : reason === 'TlsError'
            ? 'the TLS handshake failed (is the CA right?)'
            : 'the request failed';
    return `${what} at ${this.brokerId}${code === undefined ? '' : ` (${code})`}`;
  }

  #statusError(
    method: HttpMethod,
    path: string,
    response: RawResponse,
    attempt: number,
    secrets: string[],
  ): BrokerError {
    const body = parseErrorBody(response.text);
    const reason = reasonForStatus(response.status, body);
    const brokerText = [body.error, body.reason]
      .filter((part) => part !== undefined && part !== '')
      .join(': ');
    const message =
      `${method} ${path} failed with HTTP ${response.status}` +
      (brokerText === '' ? '' : `: ${brokerText}`) +
      (attempt > 0 ? ` (after ${attempt + 1} attempts)` : '');
    return new BrokerError(reason, redact(message, [...this.#secrets, ...secrets]), {
      status: response.status,
      method,
      path,
      ...(body.error === undefined ? {} : { brokerError: body.error }),
      ...(body.reason === undefined ? {} : { brokerReason: body.reason }),
      transient: isTransientStatus(response.status),
    });
  }

  async #json<T>(method: HttpMethod, path: string, body?: unknown, options?: RequestOptions): Promise<T> {
    const response = await this.request(method, path, body, options);
    if (response.text === '') return undefined as T;
    try {
      return JSON.parse(response.text) as T;
    } catch {
      throw new BrokerError(
        'UnexpectedResponse',
        `${method} ${path}: the broker answered with something other than JSON`,
        {
          status: response.status,
          method,
          path,
        },
      );
    }
  }

  /** GET that maps 404 to undefined. */
  async #find<T>(path: string, signal?: AbortSignal): Promise<T | undefined> {
    try {
      return await this.#json<T>('GET', path, undefined, { signal });
    } catch (error) {
      if (error instanceof BrokerError && error.reason === 'NotFound') return undefined;
      throw error;
    }
  }

  /** DELETE that treats 404 as done; true when something was deleted. */
  async #delete(path: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.request('DELETE', path, undefined, { signal });
      return true;
    } catch (error) {
      if (error instanceof BrokerError && error.reason === 'NotFound') return false;
      throw error;
    }
  }

  // ---- broker ----------------------------------------------------------------------------

  overview(): Promise<Overview> {
    return this.#json('GET', '/api/overview');
  }

  /** The whole broker's definitions: the bulk read behind the snapshot. */
  definitions(): Promise<Definitions> {
    return this.#json('GET', '/api/definitions', undefined, { timeoutMs: this.#options.exportTimeoutMs });
  }

  vhostDefinitions(vhost: string): Promise<Definitions> {
    return this.#json('GET', apiPath('definitions', vhost), undefined, {
      timeoutMs: this.#options.exportTimeoutMs,
    });
  }

  // ---- vhosts ----------------------------------------------------------------------------

  /** Vhosts with their settings only (no message statistics). */
  listVhosts(): Promise<ListedVhost[]> {
    return this.#json('GET', '/api/vhosts?columns=name,description,tags,tracing,default_queue_type,metadata');
  }

  getVhost(name: string): Promise<ListedVhost | undefined> {
    return this.#find(apiPath('vhosts', name));
  }

  async putVhost(name: string, settings: VhostSettings, signal?: AbortSignal): Promise<void> {
    const body = {
      ...settings,
      ...(settings.tags === undefined ? {} : { tags: sortedTags(settings.tags).join(',') }),
    };
    await this.request('PUT', apiPath('vhosts', name), body, { signal });
  }

  /** Deletes the vhost and everything in it. */
  async deleteVhost(name: string, signal?: AbortSignal): Promise<boolean> {
    const deleted = await this.#delete(apiPath('vhosts', name), signal);
    return deleted;
  }

  async getVhostLimits(vhost: string): Promise<Record<string, number>> {
    const list = await this.#json<{ vhost: string; value: Record<string, number> }[]>(
      'GET',
      apiPath('vhost-limits', vhost),
    );
    return list[0]?.value ?? {};
  }

  async putVhostLimit(vhost: string, limit: string, value: number, signal?: AbortSignal): Promise<void> {
    await this.request('PUT', apiPath('vhost-limits', vhost, limit), { value }, { signal });
  }

  async deleteVhostLimit(vhost: string, limit: string, signal?: AbortSignal): Promise<boolean> {
    const deleted = await this.#delete(apiPath('vhost-limits', vhost, limit), signal);
    return deleted;
  }

  // ---- users -----------------------------------------------------------------------------

  listUsers(): Promise<User[]> {
    return this.#json('GET', '/api/users');
  }

  /** Every user's limits, by user. */
  async listUserLimits(): Promise<Map<string, Record<string, number>>> {
    const list = await this.#json<{ user: string; value: Record<string, number> }[]>(
      'GET',
      '/api/user-limits',
    );
    return new Map(list.map((item) => [item.user, item.value]));
  }

  getUser(name: string, signal?: AbortSignal): Promise<User | undefined> {
    return this.#find(apiPath('users', name), signal);
  }

  /**
   * Creates or updates a user. A plain `password` is hashed here (the broker only ever sees
   * the hash, and the snapshot can record exactly what was stored).
   */
  async putUser(
    name: string,
    user: { password: string; tags: string[] } | UserSettings,
    signal?: AbortSignal,
  ): Promise<void> {
    const tags = sortedTags(user.tags).join(',');
    const body =
      'password' in user
        ? { password: user.password, tags }
        : { password_hash: user.password_hash, hashing_algorithm: user.hashing_algorithm, tags };
    await this.request('PUT', apiPath('users', name), body, { signal });
  }

  async deleteUser(name: string, signal?: AbortSignal): Promise<boolean> {
    const deleted = await this.#delete(apiPath('users', name), signal);
    return deleted;
  }

  async getUserLimits(user: string): Promise<Record<string, number>> {
    const list = await this.#json<{ user: string; value: Record<string, number> }[]>(
      'GET',
      apiPath('user-limits', user),
    );
    return list[0]?.value ?? {};
  }

  async putUserLimit(user: string, limit: string, value: number, signal?: AbortSignal): Promise<void> {
    await this.request('PUT', apiPath('user-limits', user, limit), { value }, { signal });
  }

  async deleteUserLimit(user: string, limit: string, signal?: AbortSignal): Promise<boolean> {
    const deleted = await this.#delete(apiPath('user-limits', user, limit), signal);
    return deleted;
  }

  // ---- permissions -----------------------------------------------------------------------

  listPermissions(): Promise<Permission[]> {
    return this.#json('GET', '/api/permissions');
  }

  listTopicPermissions(): Promise<TopicPermission[]> {
    return this.#json('GET', '/api/topic-permissions');
  }

  getPermission(vhost: string, user: string, signal?: AbortSignal): Promise<Permission | undefined> {
    return this.#find(apiPath('permissions', vhost, user), signal);
  }

  async putPermission(
    vhost: string,
    user: string,
    settings: PermissionSettings,
    signal?: AbortSignal,
  ): Promise<void> {
    const body = { configure: settings.configure, write: settings.write, read: settings.read };
    await this.request('PUT', apiPath('permissions', vhost, user), body, { signal });
  }

  async deletePermission(vhost: string, user: string, signal?: AbortSignal): Promise<boolean> {
    const deleted = await this.#delete(apiPath('permissions', vhost, user), signal);
    return deleted;
  }

  /** The user's topic permissions in a vhost, one per exchange. */
  async getTopicPermissions(vhost: string, user: string): Promise<TopicPermission[]> {
    return (await this.#find<TopicPermission[]>(apiPath('topic-permissions', vhost, user))) ?? [];
  }

  async putTopicPermission(vhost: string, user: string, settings: TopicPermissionSettings): Promise<void> {
    const body = { exchange: settings.exchange, write: settings.write, read: settings.read };
    await this.request('PUT', apiPath('topic-permissions', vhost, user), body);
  }

  /** Deletes the topic permission for one exchange, or all of the user's in the vhost. */
  async deleteTopicPermission(vhost: string, user: string, exchange?: string): Promise<boolean> {
    const path =
      exchange === undefined
        ? apiPath('topic-permissions', vhost, user)
        : apiPath('topic-permissions', vhost, user, exchange);
    const deleted = await this.#delete(path);
    return deleted;
  }

  // ---- exchanges -------------------------------------------------------------------------

  getExchange(vhost: string, name: string, signal?: AbortSignal): Promise<Exchange | undefined> {
    return this.#find(apiPath('exchanges', vhost, name), signal);
  }

  async putExchange(
    vhost: string,
    name: string,
    settings: ExchangeSettings,
    signal?: AbortSignal,
  ): Promise<void> {
    const body = {
      type: settings.type,
      durable: settings.durable,
      auto_delete: settings.auto_delete,
      internal: settings.internal ?? false,
      arguments: settings.arguments,
    };
    await this.request('PUT', apiPath('exchanges', vhost, name), body, { signal });
  }

  async deleteExchange(
    vhost: string,
    name: string,
    options: { ifUnused?: boolean } = {},
    signal?: AbortSignal,
  ): Promise<boolean> {
    const query = options.ifUnused === true ? '?if-unused=true' : '';
    const deleted = await this.#delete(apiPath('exchanges', vhost, name) + query, signal);
    return deleted;
  }

  // ---- queues ----------------------------------------------------------------------------

  /** One queue with its message and consumer counts (the snapshot has neither). */
  getQueue(vhost: string, name: string, signal?: AbortSignal): Promise<QueueDetails | undefined> {
    return this.#find(
      `${apiPath('queues', vhost, name)}?columns=name,vhost,durable,auto_delete,arguments,type,messages,consumers,state,node`,
      signal,
    );
  }

  async putQueue(vhost: string, name: string, settings: QueueSettings, signal?: AbortSignal): Promise<void> {
    const body = {
      durable: settings.durable,
      auto_delete: settings.auto_delete,
      arguments: settings.arguments,
    };
    await this.request('PUT', apiPath('queues', vhost, name), body, { signal });
  }

  /**
   * Deletes a queue. With `ifEmpty`/`ifUnused` the broker refuses (QueueNotEmpty, QueueInUse)
   * a queue that holds messages or has consumers. Quorum queues and streams reject the flags
   * (server#10543); for them the counts are checked first, which leaves a small race the
   * broker cannot close for us (and its statistics lag by up to their 5 s interval).
   */
  async deleteQueue(
    vhost: string,
    name: string,
    options: { ifEmpty?: boolean; ifUnused?: boolean } = {},
    signal?: AbortSignal,
  ): Promise<boolean> {
    const flags = new URLSearchParams();
    if (options.ifEmpty === true) flags.set('if-empty', 'true');
    if (options.ifUnused === true) flags.set('if-unused', 'true');
    const path = apiPath('queues', vhost, name);
    let deleted: boolean;
    try {
      deleted = await this.#delete(flags.size === 0 ? path : `${path}?${flags.toString()}`, signal);
    } catch (error) {
      if (!(
        error instanceof BrokerError &&
        error.reason === 'BadRequest' &&
        /not supported by/.test(error.brokerReason ?? '')
      )) {
        throw error;
      }
      const queue = await this.getQueue(vhost, name, signal);
      if (queue === undefined) {
        deleted = false;
      } else {
        if (options.ifEmpty === true && queue.messages === undefined) {
          // A new queue has no statistics yet: unknown is not empty.
          throw new BrokerError(
            'QueueMessageCountUnknown',
            `queue '${name}' in vhost '${vhost}' reports no message count yet; it is kept until the broker does`,
            { method: 'DELETE', path, transient: true },
          );
        }
        if (options.ifEmpty === true && (queue.messages ?? 0) > 0) {
          throw new BrokerError(
            'QueueNotEmpty',
            `queue '${name}' in vhost '${vhost}' holds ${queue.messages} messages; it is kept until it is empty`,
            { method: 'DELETE', path },
          );
        }
        if (options.ifUnused === true && (queue.consumers ?? 0) > 0) {
          throw new BrokerError(
            'QueueInUse',
            `queue '${name}' in vhost '${vhost}' has ${queue.consumers} consumers; it is kept until it is unused`,
            { method: 'DELETE', path },
          );
        }
        deleted = await this.#delete(path, signal);
      }
    }
    return deleted;
  }

  // ---- bindings --------------------------------------------------------------------------

  listBindings(
    vhost: string,
    source: string,
    destinationType: DestinationType,
    destination: string,
    signal?: AbortSignal,
  ): Promise<ListedBinding[]> {
    return this.#json('GET', bindingsPath(vhost, source, destinationType, destination), undefined, {
      signal,
    });
  }

  /** Creates a binding; returns its properties key (from the Location header). */
  async createBinding(binding: Binding, signal?: AbortSignal): Promise<string | undefined> {
    const response = await this.request(
      'POST',
      bindingsPath(binding.vhost, binding.source, binding.destination_type, binding.destination),
      { routing_key: binding.routing_key, arguments: binding.arguments },
      { signal },
    );
    const location = response.headers.location;
    const value = Array.isArray(location) ? location[0] : location;
    if (value === undefined) return undefined;
    return decodeURIComponent(value.slice(value.lastIndexOf('/') + 1));
  }

  /**
   * Deletes exactly this binding (same routing key and arguments), never a neighbour between
   * the same source and destination. The broker's properties key of a binding with arguments
   * includes a hash clients cannot compute, so it is read from the list. False: already gone.
   */
  async deleteBinding(binding: Binding, signal?: AbortSignal): Promise<boolean> {
    let listed: ListedBinding[];
    try {
      listed = await this.listBindings(
        binding.vhost,
        binding.source,
        binding.destination_type,
        binding.destination,
        signal,
      );
    } catch (error) {
      if (error instanceof BrokerError && error.reason === 'NotFound') listed = [];
      else throw error;
    }
    const match = listed.find(
      (item) => item.routing_key === binding.routing_key && sameArguments(item.arguments, binding.arguments),
    );
    if (match === undefined) {
      this.#wrote({ kind: 'binding', op: 'delete', value: binding });
      return false;
    }
    return this.deleteBindingByKey(
      binding.vhost,
      binding.source,
      binding.destination_type,
      binding.destination,
      match.properties_key,
      signal,
    );
  }

  /** Low level: delete by the broker's properties key (as listed, not yet path-encoded). */
  deleteBindingByKey(
    vhost: string,
    source: string,
    destinationType: DestinationType,
    destination: string,
    propertiesKey: string,
    signal?: AbortSignal,
  ): Promise<boolean> {
    return this.#delete(
      `${bindingsPath(vhost, source, destinationType, destination)}/${segment(propertiesKey)}`,
      signal,
    );
  }

  // ---- policies --------------------------------------------------------------------------

  getPolicy(vhost: string, name: string, signal?: AbortSignal): Promise<Policy | undefined> {
    return this.#find(apiPath('policies', vhost, name), signal);
  }

  async putPolicy(
    vhost: string,
    name: string,
    settings: PolicySettings,
    signal?: AbortSignal,
  ): Promise<void> {
    const body = {
      pattern: settings.pattern,
      definition: settings.definition,
      priority: settings.priority,
      'apply-to': settings['apply-to'],
    };
    await this.request('PUT', apiPath('policies', vhost, name), body, { signal });
  }

  async deletePolicy(vhost: string, name: string, signal?: AbortSignal): Promise<boolean> {
    const deleted = await this.#delete(apiPath('policies', vhost, name), signal);
    return deleted;
  }
}

/**
 * Clients shared by endpoint and credentials, so all reconciles of one broker use one pool.
 * New credentials (a rotated Secret) give a new client; a client that is not the newest of its
 * broker is closed once it has been idle for `idleMs` (several users of one broker stay apart).
 */
export class ManagementClientRegistry {
  readonly #clients = new Map<string, ManagementClient>();
  readonly #options: ManagementClientOptions;
  readonly #idleMs: number;

  constructor(options: ManagementClientOptions & { idleMs?: number } = {}) {
    const { idleMs, ...clientOptions } = options;
    this.#options = clientOptions;
    this.#idleMs = idleMs ?? 10 * 60_000;
  }

  get(endpoint: BrokerEndpoint): ManagementClient {
    const { key } = endpointIdentity(endpoint);
    const existing = this.#clients.get(key);
    if (existing !== undefined && !existing.closed) return existing;
    const client = new ManagementClient(endpoint, this.#options);
    this.#clients.delete(key);
    this.#clients.set(key, client);
    this.#retireIdle();
    return client;
  }

  #retireIdle(): void {
    const newest = new Map<string, ManagementClient>();
    for (const client of this.#clients.values()) newest.set(client.brokerId, client); // insertion order: last wins
    const cutoff = Date.now() - this.#idleMs;
    for (const [key, client] of this.#clients) {
      if (newest.get(client.brokerId) !== client && client.lastUsedAt < cutoff) {
        this.#clients.delete(key);
        void client.close().catch(() => undefined);
      }
    }
  }

  /** Closes and forgets the clients of a broker (the cluster is gone). */
  async forget(brokerId: string): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [key, client] of this.#clients) {
      if (client.brokerId === brokerId) {
        this.#clients.delete(key);
        closing.push(client.close());
      }
    }
    await Promise.all(closing);
  }

  get size(): number {
    return this.#clients.size;
  }

  async close(): Promise<void> {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.all(clients.map((client) => client.close()));
  }
}
