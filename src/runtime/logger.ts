// JSON logs with pino. Anything that could hold a credential is redacted before it is written: values under
// sensitive keys, the data of Secrets, the user-info part of URIs and the values of credential-like settings
// inside any string. Redaction is structural: every object is walked, whatever its class (URLs, Maps, Sets,
// class instances), so nothing reaches the output without passing the same rules. Events and condition
// messages go through redactText() too.
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

// scheme://user:password@host → scheme://[REDACTED]@host (also a lone user name, which can be a token). The
// user-info runs to the last `@` of the URI, so an unencoded `@` (or `/`, `?`, `#`) in a password cannot end
// it early; a URI with an `@` in its path loses more than its user-info, which is the safe side.
const URI_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s"'<>`]*@/gi;

// A setting in a config file (sysctl or ini style) whose key names a credential: `key = value` or `key: value`
// where the key's last segment is a sensitive key (`ldap.password`, `token`), and a `default_*` setting (a
// broker's default user and password: `default_pass = x`, also when malformed as `default_pass x`). The value
// is masked to the end of the line, or of the quoted string (JSON escapes included) the line is quoted in.
const SETTING = /(?<=^|[\s"'`{,;(])([A-Za-z][A-Za-z0-9_.-]*)(\s*[=:]\s*|[ \t]+)(\\?["'])?/g;

function isSensitiveSetting(key: string, separator: string): boolean {
  if (/^default_/i.test(key)) return true;
  if (!/[=:]/.test(separator)) return false;
  return isSensitiveKey(key.split('.').at(-1) ?? key);
}

/** Where a setting's value ends: a line break or a quote; a backslash escape (`\"` in JSON) does not end it. */
function valueEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text[i];
    if (c === '\n' || c === '"' || c === "'") return i;
    i += c === '\\' ? 2 : 1;
  }
  return text.length;
}

function redactSettings(text: string): string {
  let out = '';
  let last = 0;
  for (const match of text.matchAll(SETTING)) {
    const [whole, key = '', separator = ''] = match;
    const start = match.index + whole.length;
    if (start < last || !isSensitiveSetting(key, separator)) continue;
    const end = valueEnd(text, start);
    const value = text.slice(start, end);
    if (value.trim() === '' || value === REDACTED) continue;
    out += `${text.slice(last, start)}${REDACTED}`;
    last = end;
  }
  return last === 0 ? text : out + text.slice(last);
}

/** A string with the user-info of every URI it contains and the values of credential-like settings replaced. */
export function redactText(text: string): string {
  return redactSettings(text.replace(URI_USERINFO, `$1${REDACTED}@`));
}

/**
 * A copy of `value` safe to log, made of plain JSON values only. Pure: the input is not changed. Walks every
 * object (depth-limited, cycle-safe): arrays and Sets become arrays, Maps and class instances become objects
 * of their entries or own enumerable properties, URLs and Dates become strings, binary data its size; Secret
 * objects keep their metadata but lose `data` and `stringData`.
 */
export function redact(value: unknown, depth = 0, seen = new WeakSet()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value === 'function' || typeof value === 'symbol') return `[${typeof value}]`;
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value) || depth > 12) return '[…]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, seen));
  if (value instanceof URL) return redactText(value.href);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[${value.byteLength} bytes]`;
  if (value instanceof Set) return [...value].map((v) => redact(v, depth + 1, seen));
  if (value instanceof Map) {
    const entries: Record<string, unknown> = {};
    for (const [k, v] of value) {
      const name = typeof k === 'string' ? k : String(redact(k, depth + 1, seen));
      entries[name] = isSensitiveKey(name) ? REDACTED : redact(v, depth + 1, seen);
    }
    return entries;
  }
  if (value instanceof Error) {
    const err: Record<string, unknown> = { type: value.name, message: redactText(value.message) };
    if (value.stack) err.stack = redactText(value.stack);
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) err.code = code;
    if (value.cause !== undefined) err.cause = redact(value.cause, depth + 1, seen);
    // Own fields of the error class (an HTTP error's response, a client's options) pass the same rules.
    for (const [k, v] of Object.entries(value)) {
      if (k in err || k === 'cause') continue;
      err[k] = isSensitiveKey(k) ? REDACTED : redact(v, depth + 1, seen);
    }
    return err;
  }
  // Plain objects and class instances alike: their own enumerable properties (private `#fields` never show).
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
