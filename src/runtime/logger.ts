// JSON logs with pino. Anything that could hold a credential is redacted before it is written: values under
// sensitive keys, the data of Secrets, and the user-info part of URIs inside any string.
import { pino } from 'pino';
import type { Logger, LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

export const REDACTED = '[REDACTED]';

// Key names whose values are never logged (matched case-insensitively, ignoring `_` and `-`).
const SENSITIVE_KEY =
  /^(password|passwd|pass|passwordhash|secret|secretkey|clientsecret|token|accesstoken|refreshtoken|bearertoken|authorization|proxyauthorization|cookie|setcookie|connectionstring|connectionuri|apikey|privatekey|tlskey|credentials?|erlangcookie|defaultpass)$/;

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key.toLowerCase().replace(/[_-]/g, ''));
}

// scheme://user:password@host → scheme://[REDACTED]@host (also a lone user name, which can be a token).
const URI_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]*(?::[^\s/@]*)?@/gi;

/** A string with the user-info of every URI it contains replaced. */
export function redactText(text: string): string {
  return text.replace(URI_USERINFO, `$1${REDACTED}@`);
}

/**
 * A copy of `value` safe to log. Pure: the input is not changed. Walks plain objects and arrays (depth-limited,
 * cycle-safe); Secret objects keep their metadata but lose `data` and `stringData`.
 */
export function redact(value: unknown, depth = 0, seen = new WeakSet()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value) || depth > 12) return '[…]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, seen));
  if (value instanceof Error) {
    const err: Record<string, unknown> = { type: value.name, message: redactText(value.message) };
    if (value.stack) err.stack = redactText(value.stack);
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) err.code = code;
    if (value.cause !== undefined) err.cause = redact(value.cause, depth + 1, seen);
    return err;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const obj = value as Record<string, unknown>;
  const isSecret = obj.kind === 'Secret';
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (isSensitiveKey(k) || (isSecret && (k === 'data' || k === 'stringData'))) {
      out[k] = REDACTED;
    } else {
      out[k] = redact(v, depth + 1, seen);
    }
  }
  return out;
}

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Where to write; default stdout. Tests pass a stream to read the lines back. */
  destination?: pino.DestinationStream;
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: options.base ?? { component: 'warren' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (obj) => redact(obj) as Record<string, unknown>,
      },
      // pino serializes `err` before formatters.log sees it; keep errors as Errors so redact() handles them.
      serializers: { err: (e: unknown) => redact(e) },
      hooks: {
        logMethod(args, method) {
          const redacted = args.map((a) => (typeof a === 'string' ? redactText(a) : a)) as Parameters<
            typeof method
          >;
          method.apply(this, redacted);
        },
      },
    },
    options.destination ?? pino.destination({ fd: 1, sync: true }),
  );
}
