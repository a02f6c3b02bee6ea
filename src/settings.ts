// Operator settings: one zod schema over environment variables and `--flag=value` arguments.
// Each field `fooBar` is read from the flag `--foo-bar` or else the variable `FOO_BAR`; durations are written
// like `500ms`, `15s`, `2m`, `10h` (or a bare number of milliseconds) and held in milliseconds.
// Add a setting by adding a field here; nothing else needs to change.
import { z } from 'zod';
import { isSensitiveKey } from './runtime/logger.ts';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Milliseconds of a duration like `15s`; throws on anything else. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  let rest = trimmed;
  let total = 0;
  // Compound durations (`1h30m`) are read part by part.
  while (rest !== '') {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (!m?.[1] || !m[2]) throw new Error(`not a duration: "${text}" (examples: 500ms, 15s, 2m, 1h30m)`);
    total += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
    rest = rest.slice(m[0].length);
  }
  if (trimmed === '') throw new Error('empty duration');
  return total;
}

const UNIT_BYTES = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 } as const;

/** Bytes of a size written as Kubernetes writes memory (`512Ki`, `32Mi`, `1Gi`, or bare bytes); throws otherwise. */
export function parseSize(text: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(text.trim());
  if (!m?.[1]) throw new Error(`not a size: "${text}" (examples: 512Ki, 32Mi, 1Gi)`);
  return Number(m[1]) * (m[2] ? UNIT_BYTES[m[2] as keyof typeof UNIT_BYTES] : 1);
}

/** A number written as text (`15s`, `32Mi`) and read by `parse`, or given as a number. */
const written = (parse: (text: string) => number, fallback: string) =>
  z
    .union([z.number(), z.string()])
    .default(fallback)
    .transform((value, ctx) => {
      if (typeof value === 'number') return value;
      try {
        return parse(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    });

/** The longest delay a Node timer takes (2^31 - 1 ms, about 24.8 days); a longer one fires at once, every time. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const duration = (fallback: string) =>
  written(parseDuration, fallback).pipe(
    z
      .number()
      .nonnegative()
      .max(MAX_TIMER_MS, 'must be at most 596h (the longest timer Node can set, about 24.8 days)'),
  );

/** A size in bytes that must lie within [min, max], all written like `32Mi`. */
const boundedSize = (fallback: string, min: string, max: string) =>
  written(parseSize, fallback).pipe(
    z
      .number()
      .int()
      .min(parseSize(min), `must be at least ${min}`)
      .max(parseSize(max), `must be at most ${max}`),
  );

/** A duration that must lie within [min, max], all written like `30s`. */
const boundedDuration = (fallback: string, min: string, max: string) =>
  duration(fallback).pipe(
    z
      .number()
      .min(parseDuration(min), `must be at least ${min}`)
      .max(parseDuration(max), `must be at most ${max}`),
  );

const bool = (fallback: boolean) =>
  z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
    .default(fallback)
    .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);

const list = z
  .union([z.array(z.string()), z.string()])
  .default('')
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s !== ''));

/** `name=value,other=value` → record of positive integers. */
const intMap = z
  .string()
  .default('')
  .transform((v, ctx) => {
    const out: Record<string, number> = {};
    for (const part of v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')) {
      const [name, value] = part.split('=');
      const n = Number(value);
      if (!name || !Number.isInteger(n) || n < 1) {
        ctx.addIssue({
          code: 'custom',
          message: `expected controller=count pairs like "queue=4", got "${part}"`,
        });
        return z.NEVER;
      }
      out[name.trim().toLowerCase()] = n;
    }
    return out;
  });

export const settingsSchema = z.object({
  /** Namespaces to watch, comma-separated; empty watches all namespaces. */
  watchNamespaces: list,
  /** Reconciles in flight at once per controller (controller-runtime's MaxConcurrentReconciles). */
  maxConcurrentReconciles: int(2, 1),
  /** Per-controller overrides of maxConcurrentReconciles: `queue=8,rabbitmqcluster=2`. */
  controllerConcurrency: intMap,
  /** Every cached object is reconciled again this often (10 % jitter); 0 turns it off. */
  resyncPeriod: duration('10h'),
  /** First retry delay after a failed reconcile; doubles per failure. */
  backoffBase: duration('5ms'),
  /** Longest retry delay (controller-runtime caps at 1000 s; shorter here so recovery is noticed sooner). */
  backoffMax: duration('5m'),
  /** Overall retry rate per controller (token bucket), as client-go's default controller rate limiter. */
  rateLimitQps: z.coerce.number().positive().default(10),
  rateLimitBurst: int(100, 1),
  leaderElect: bool(true),
  leaderElectionId: z.string().min(1).default('warren-operator-leader'),
  /** Namespace of the Lease; default the operator's own namespace (POD_NAMESPACE or the service account's). */
  leaderElectionNamespace: z.string().default(''),
  /** How long a standby waits for a silent leader; must exceed renewDeadline + retryPeriod. */
  leaseDuration: duration('15s'),
  /** How long the leader keeps trying to renew before it gives up leading (and the process exits 1). */
  renewDeadline: duration('10s'),
  retryPeriod: duration('2s'),
  /** Time in-flight reconciles, then queued Events, get to finish on shutdown before they are abandoned. */
  gracefulShutdownTimeout: duration('30s'),
  /**
   * A reconcile's abort signal fires after this long; the reconcile then counts as failed and is retried with
   * backoff. Long enough for a broker's definitions export and a write after it (see the check below).
   */
  reconcileTimeout: boundedDuration('2m', '1s', '1h'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `:8080`, `host:port`, or `0` to turn the metrics server off. */
  metricsBindAddress: z.string().default(':8080'),
  /** `:8081`, `host:port`, or `0` to turn the probe server off. */
  healthProbeBindAddress: z.string().default(':8081'),
  /** Restart a watch that delivered nothing (not even a bookmark) for this long. */
  watchIdleTimeout: duration('5m'),
  /** This process's identity in the Lease and in Events; default the pod name or host name. */
  podName: z.string().default(''),
  /** Image of RabbitmqClusters whose spec names none (upstream's DEFAULT_RABBITMQ_IMAGE); pin a tag. */
  defaultRabbitmqImage: z.string().min(1).default('rabbitmq:4.1.4-management'),
  podNamespace: z.string().default(''),
  /** How often each broker's topology is re-read to find drift (objects changed or deleted behind Warren's back). */
  brokerRefreshInterval: duration('60s'),
  /**
   * Reconciles in flight at once per topology controller. They spend their time waiting on the API server
   * and the broker (whose requests are bounded per broker by its client pool), so many are cheap.
   */
  topologyWorkers: int(32, 1),
  /**
   * Topology reconciles talking to one broker at once, across all kinds. The rest wait without holding a worker
   * and are woken, oldest first, as slots free: a slow or hostile broker holds at most this many workers and the
   * others serve other brokers. 8 matches the connections of a broker's client, where more requests would only
   * queue; keep it below TOPOLOGY_WORKERS.
   */
  maxReconcilesPerBroker: z.coerce.number().int().min(1).max(1000).default(8),
  /**
   * How long an object may wait for a dependency (a binding for its queue) before the wait is reported in
   * its status and an Event. Objects are woken as soon as Warren creates what they wait for.
   */
  dependencyGracePeriod: duration('10s'),
  /**
   * Longest one call to a RabbitMQ management API may take in all: connect, headers, the whole body and its
   * retries. A broker that answers slowly, or a byte at a time, then fails with BrokerTimeout.
   */
  managementRequestTimeout: boundedDuration('30s', '1s', '10m'),
  /**
   * The same for a definitions export, the bulk read of a broker's topology, which grows with it: 10,000 queues
   * (with their bindings, exchanges, users and policies) export in 7 to 9 s on a busy 2-core machine.
   */
  managementExportTimeout: boundedDuration('60s', '1s', '30m'),
  /**
   * Largest management API answer read; past it the request is aborted (BrokerResponseTooLarge). The export
   * of 10,000 queues is about 4 MiB (425 bytes per queue with its share of the rest), so 32 MiB leaves room for
   * eight times that. Reading and indexing an export costs about five times its size in heap, and 32 MiB is
   * about what the chart's 512 MiB memory limit has room for: raise both together.
   */
  managementMaxResponseSize: boundedSize('32Mi', '1Mi', '1Gi'),
});

/** The settings with the checks of values that only make sense together; loadSettings applies it. */
export const consistentSettingsSchema = settingsSchema.superRefine((settings, ctx) => {
  // A topology reconcile may read a broker's export and then write; the broker's own deadline, which objects
  // report in their status, must pass before the reconcile's.
  const brokerWork = settings.managementExportTimeout + settings.managementRequestTimeout;
  if (settings.reconcileTimeout <= brokerWork) {
    ctx.addIssue({
      code: 'custom',
      path: ['reconcileTimeout'],
      message:
        `must be longer than MANAGEMENT_EXPORT_TIMEOUT plus MANAGEMENT_REQUEST_TIMEOUT (${brokerWork / 1000}s), ` +
        'so that a slow broker is reported as such',
    });
  }
});

export type Settings = z.output<typeof settingsSchema>;

/** `watchNamespaces` → `WATCH_NAMESPACES`. */
export function envName(field: string): string {
  return field.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** `watchNamespaces` → `watch-namespaces`. */
export function flagName(field: string): string {
  return field.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

/**
 * Reads the settings from `--flag=value` arguments (which win) and environment variables. Throws a
 * SettingsError naming every bad variable or flag and what was wrong with it.
 */
export function loadSettings(
  env: Record<string, string | undefined> = process.env,
  argv: readonly string[] = process.argv.slice(2),
): Settings {
  const fields = Object.keys(settingsSchema.shape);
  const flags = new Map<string, string>();
  const problems: string[] = [];
  for (const arg of argv) {
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    if (!m?.[1]) {
      problems.push(`unexpected argument "${arg}" (flags look like --name=value)`);
      continue;
    }
    const field = fields.find((f) => flagName(f) === m[1]);
    if (!field) {
      problems.push(`unknown flag --${m[1]}`);
      continue;
    }
    flags.set(field, m[2] ?? 'true');
  }
  const input: Record<string, string> = {};
  const source = new Map<string, string>();
  for (const field of fields) {
    const fromFlag = flags.get(field);
    const fromEnv = env[envName(field)];
    if (fromFlag !== undefined) {
      input[field] = fromFlag;
      source.set(field, `--${flagName(field)}`);
    } else if (fromEnv !== undefined && fromEnv !== '') {
      input[field] = fromEnv;
      source.set(field, envName(field));
    }
  }
  const parsed = consistentSettingsSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = String(issue.path[0] ?? '');
      const where = source.get(field) ?? envName(field);
      if (input[field] === undefined) {
        // Only a check across settings can fault a default: name it as the default.
        problems.push(`${where} (not set, so its default): ${issue.message}`);
        continue;
      }
      const shown = isSensitiveKey(field) ? '[REDACTED]' : JSON.stringify(input[field]);
      problems.push(`${where}=${shown}: ${issue.message}`);
    }
  }
  if (problems.length > 0) throw new SettingsError(`invalid settings:\n  ${problems.join('\n  ')}`);
  if (!parsed.success) throw new SettingsError('invalid settings');
  return parsed.data;
}

/** Effective concurrency for one controller. */
export function concurrencyFor(settings: Settings, controller: string): number {
  return settings.controllerConcurrency[controller.toLowerCase()] ?? settings.maxConcurrentReconciles;
}
