// Typed errors of the management API. A reason is a stable CamelCase word that
// conditions and Events can carry; the message is a sentence a person can act on,
// with the broker's own error text (upstream drops it) and never a credential.

export type BrokerErrorReason =
  | 'BadRequest'
  | 'PreconditionFailed'
  | 'QueueNotEmpty'
  | 'QueueInUse'
  | 'VhostOrUserNotFound'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'Conflict'
  | 'BrokerInternalError'
  | 'BrokerUnavailable'
  | 'BrokerUnreachable'
  | 'Timeout'
  /** A call did not complete within its deadline (a broker answering slowly or a byte at a time). */
  | 'BrokerTimeout'
  /** An answer larger than the client reads; reading stopped at the limit. */
  | 'BrokerResponseTooLarge'
  | 'TlsError'
  | 'UnexpectedResponse'
  // Reasons that callers (the topology kinds) raise with the same class.
  | (string & {});

export interface BrokerErrorDetails {
  status?: number;
  method?: string;
  path?: string;
  /** The broker's `error` field, e.g. `bad_request`. */
  brokerError?: string;
  /** The broker's `reason` field, e.g. `inequivalent arg 'durable' …`. */
  brokerReason?: string;
  /** Whether repeating the same request may succeed (broker down, timeout, 503). */
  transient?: boolean;
  cause?: unknown;
}

export class BrokerError extends Error {
  readonly reason: BrokerErrorReason;
  readonly status: number | undefined;
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly brokerError: string | undefined;
  readonly brokerReason: string | undefined;
  readonly transient: boolean;

  constructor(reason: BrokerErrorReason, message: string, details: BrokerErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'BrokerError';
    this.reason = reason;
    this.status = details.status;
    this.method = details.method;
    this.path = details.path;
    this.brokerError = details.brokerError;
    this.brokerReason = details.brokerReason;
    this.transient = details.transient ?? false;
  }
}

export function isBrokerError(error: unknown, reason?: BrokerErrorReason): error is BrokerError {
  return error instanceof BrokerError && (reason === undefined || error.reason === reason);
}

export interface BrokerErrorBody {
  error?: string;
  reason?: string;
}

const htmlEntities: Record<string, string> = {
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&#39;': "'",
  '&amp;': '&',
};

/** The broker HTML-escapes some reasons (policy validation); make them readable again. */
function unescapeHtml(text: string): string {
  return text.replace(/&(lt|gt|quot|#39|amp);/g, (entity) => htmlEntities[entity] ?? entity);
}

/** Reads `{"error": .., "reason": ..}` from a response body; anything else is kept as plain text. */
export function parseErrorBody(text: string): BrokerErrorBody {
  const trimmed = text.trim();
  if (trimmed === '') return {};
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (typeof parsed === 'object' && parsed !== null) {
      const { error, reason } = parsed as Record<string, unknown>;
      return {
        ...(typeof error === 'string' ? { error: unescapeHtml(error).trim() } : {}),
        ...(typeof reason === 'string' ? { reason: unescapeHtml(reason).trim() } : {}),
      };
    }
  } catch {
    // not JSON: fall through
  }
  return { reason: trimmed.slice(0, 500) };
}

/** Maps an HTTP status and the broker's error body to a stable reason. */
export function reasonForStatus(status: number, body: BrokerErrorBody): BrokerErrorReason {
  const text = `${body.error ?? ''} ${body.reason ?? ''}`;
  switch (status) {
    case 400:
      if (/inequivalent arg|PRECONDITION_FAILED/i.test(text)) return 'PreconditionFailed';
      if (/\bnot empty\b/i.test(text)) return 'QueueNotEmpty';
      if (/\bin use\b/i.test(text)) return 'QueueInUse';
      if (/vhost_or_user_not_found/.test(text)) return 'VhostOrUserNotFound';
      return 'BadRequest';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 405:
      return 'MethodNotAllowed';
    case 409:
      return 'Conflict';
    case 408:
    case 504:
      return 'Timeout';
    case 429:
    case 502:
    case 503:
      return 'BrokerUnavailable';
    default:
      if (status >= 500) return 'BrokerInternalError';
      return 'UnexpectedResponse';
  }
}

/** Statuses worth repeating an idempotent request for. */
export function isTransientStatus(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 504;
}

const connectionCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
]);
const timeoutCodes = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
// Failures before any byte of the request reached the broker: safe to repeat even for POST.
const notSentCodes = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function errorCode(error: unknown): string | undefined {
  // Node wraps some failures (AggregateError for happy eyeballs, cause chains in undici).
  for (let current: unknown = error, depth = 0; current !== undefined && depth < 4; depth++) {
    if (typeof current !== 'object' || current === null) return undefined;
    const { code, errors, cause } = current as { code?: unknown; errors?: unknown; cause?: unknown };
    if (typeof code === 'string') return code;
    current = Array.isArray(errors) ? (errors[0] as unknown) : cause;
  }
  return undefined;
}

export interface TransportFailure {
  reason: 'BrokerUnreachable' | 'Timeout' | 'TlsError' | 'UnexpectedResponse';
  code: string | undefined;
  transient: boolean;
  /** The request certainly never reached the broker. */
  notSent: boolean;
}

/** Classifies an error thrown by the HTTP layer (no response). */
export function classifyTransportError(error: unknown): TransportFailure {
  const code = errorCode(error);
  if (code !== undefined && timeoutCodes.has(code)) {
    return { reason: 'Timeout', code, transient: true, notSent: notSentCodes.has(code) };
  }
  if (code !== undefined && connectionCodes.has(code)) {
    return { reason: 'BrokerUnreachable', code, transient: true, notSent: notSentCodes.has(code) };
  }
  if (
    code !== undefined &&
    (/CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code) || code === 'ERR_TLS_CERT_ALTNAME_INVALID')
  ) {
    return { reason: 'TlsError', code, transient: false, notSent: true };
  }
  return { reason: 'UnexpectedResponse', code, transient: false, notSent: false };
}

/** Replaces every occurrence of a secret in a text; used on anything that ends up in a message. */
export function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length >= 3) result = result.split(secret).join('[redacted]');
  }
  return result;
}
