// The management API's transport: one keep-alive undici Pool per broker bounds the requests in flight (its
// connection count). Every call has a total deadline (connect, headers, the whole body and its retries) and a
// cap on the response size enforced while the body streams in, so a broker that answers a byte at a time or
// without end holds neither a worker nor memory for long. Only idempotent requests (GET, PUT, DELETE) are
// retried with backoff; POST is retried only when it certainly never reached the broker. Errors are
// BrokerErrors carrying the broker's own reason. Upstream (MTO) opens a new connection per call with no
// timeout; this is the answer. The transport knows paths and bodies, not what they mean (see client.ts).
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, type Dispatcher } from 'undici';
import { jitteredBackoff } from '../../runtime/backoff.ts';
import type { WriteFence } from '../../runtime/fence.ts';
import {
  BrokerError,
  classifyTransportError,
  isTransientStatus,
  parseErrorBody,
  reasonForStatus,
  redact,
} from '../errors.ts';
import { countRequest, type ManagementMetrics } from '../metrics.ts';
import { KeyedSharedExclusiveLock, type GateClaim } from '../policy-gate.ts';
import type { BrokerEndpoint } from '../types.ts';

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
  writeFence?: WriteFence;
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

type ResolvedOptions = Required<Omit<ManagementClientOptions, 'metrics' | 'writeFence'>> &
  Pick<ManagementClientOptions, 'metrics' | 'writeFence'>;

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export interface RawResponse {
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
  /** The vhost's policy gate this call must hold while it runs (see policy-gate.ts). */
  gate?: GateClaim;
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

export class ManagementTransport {
  readonly brokerId: string;
  readonly key: string;
  readonly options: ResolvedOptions;
  readonly #prefix: string;
  readonly #pool: Pool;
  readonly #authorization: string;
  readonly #secrets: string[];
  #closed = false;
  /** Epoch milliseconds of the last request (or of creation). */
  lastUsedAt = Date.now();

  constructor(endpoint: BrokerEndpoint, options: ManagementClientOptions = {}) {
    const identity = endpointIdentity(endpoint);
    this.brokerId = identity.brokerId;
    this.key = identity.key;
    this.#prefix = identity.prefix;
    this.options = { ...defaults, ...options };
    this.#authorization = `Basic ${Buffer.from(`${endpoint.username}:${endpoint.password}`).toString('base64')}`;
    this.#secrets = [endpoint.password, this.#authorization.slice('Basic '.length)];
    this.#pool = new Pool(identity.origin, {
      connections: this.options.concurrency,
      pipelining: 1,
      connect: {
        timeout: this.options.connectTimeoutMs,
        ...(endpoint.ca === undefined ? {} : { ca: endpoint.ca }),
      },
      // Off: each call's deadline bounds the wait for headers and for the whole body.
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 30_000,
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.close();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * One request with retries; resolves for 2xx, throws a BrokerError otherwise. The deadline covers the
   * whole call, waiting for the policy gate and retries included; when it passes the call fails with
   * BrokerTimeout, and when the caller's signal aborts the call rejects with the signal's reason.
   */
  async request(
    method: HttpMethod,
    path: string,
    body?: unknown,
    options: RequestOptions = {},
  ): Promise<RawResponse> {
    options.signal?.throwIfAborted();
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    const call: Call = {
      method,
      path,
      body,
      secrets: [...this.#secrets, ...(options.secrets ?? [])],
      signal:
        options.signal === undefined ? deadline.signal : AbortSignal.any([options.signal, deadline.signal]),
      callerSignal: options.signal,
      timeoutMs,
    };
    const { gate } = options;
    try {
      return gate === undefined
        ? await this.#send(call)
        : await policyGates.run(`${this.brokerId}\0${gate.vhost}`, gate.exclusive, () => this.#send(call));
    } finally {
      clearTimeout(timer);
    }
  }

  async #send(call: Call): Promise<RawResponse> {
    const { method, path } = call;
    const idempotent = method !== 'POST';
    const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
    for (let attempt = 0; ; attempt++) {
      const canRetry = attempt < this.options.retries;
      const started = performance.now();
      let response: RawResponse;
      let text: string | undefined;
      this.lastUsedAt = Date.now();
      // Before every attempt, a retry after a pause included, and with nothing asynchronous before the send.
      if (method !== 'GET') this.options.writeFence?.assertValid();
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
        text = await readLimited(result, this.options.maxResponseBytes);
        response = { status: result.statusCode, headers: result.headers, text: text ?? '' };
      } catch (error) {
        this.options.metrics?.observe(method, 'error', (performance.now() - started) / 1000);
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
      this.options.metrics?.observe(method, String(response.status), (performance.now() - started) / 1000);
      if (text === undefined) throw this.#tooLarge(call, response.status);
      if (response.status < 300) return response;
      if (isTransientStatus(response.status) && idempotent && canRetry && !this.#closed) {
        const hinted = retryAfterMs(response.headers['retry-after']);
        await this.#pause(
          Math.min(hinted ?? this.#backoff(attempt), this.options.retryMaxDelayMs),
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
      `${formatBytes(this.options.maxResponseBytes)}, the most Warren reads, so reading stopped there`;
    return new BrokerError('BrokerResponseTooLarge', redact(message, call.secrets), {
      status,
      method: call.method,
      path: call.path,
    });
  }

  #backoff(attempt: number): number {
    return jitteredBackoff(this.options.retryMinDelayMs, this.options.retryMaxDelayMs, attempt);
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
}
