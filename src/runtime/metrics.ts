// Prometheus metrics of the runtime, named as controller-runtime and client-go name theirs so existing
// dashboards and alerts work. Other parts register their own metrics on the same registry.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WorkQueueObserver } from './workqueue.ts';

const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5,
  1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
// client-go's workqueue buckets: 1 ns … 10 s, ten per decade boundary.
const WORKQUEUE_BUCKETS = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10];

export class RuntimeMetrics {
  readonly registry: Registry;
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly terminalErrors: Counter<'controller'>;
  readonly reconcilePanics: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly maxConcurrent: Gauge<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly reconcileTimeouts: Counter<'controller'>;
  readonly queueDepth: Gauge<'name'>;
  readonly queueAdds: Counter<'name'>;
  readonly queueDuration: Histogram<'name'>;
  readonly workDuration: Histogram<'name'>;
  readonly unfinishedWork: Gauge<'name'>;
  readonly longestRunning: Gauge<'name'>;
  readonly queueRetries: Counter<'name'>;
  readonly restRequests: Counter<'code' | 'method' | 'host'>;
  readonly leaderStatus: Gauge<'name'>;
  readonly leaderSlowpath: Counter<'name'>;
  readonly watchConnects: Counter<'resource'>;
  readonly watchErrors: Counter<'resource'>;
  readonly relists: Counter<'resource'>;
  readonly watchdogRestarts: Counter<'resource'>;
  readonly cachedObjects: Gauge<'resource'>;
  readonly events: Counter<'type' | 'result'>;
  private readonly queues = new Map<string, () => number[]>();

  constructor(registry: Registry = new Registry(), options: { defaultMetrics?: boolean } = {}) {
    this.registry = registry;
    const registers = [registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
    const c = 'controller';
    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: [c, 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: [c],
      registers,
    });
    this.terminalErrors = new Counter({
      name: 'controller_runtime_terminal_reconcile_errors_total',
      help: 'Total number of terminal reconciliation errors per controller',
      labelNames: [c],
      registers,
    });
    this.reconcilePanics = new Counter({
      name: 'controller_runtime_reconcile_panics_total',
      help: 'Total number of reconciliations that threw something other than an Error',
      labelNames: [c],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: [c],
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    this.maxConcurrent = new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: [c],
      registers,
    });
    this.activeWorkers = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: [c],
      registers,
    });
    this.reconcileTimeouts = new Counter({
      name: 'controller_runtime_reconcile_timeouts_total',
      help: 'Total number of reconciliation timeouts per controller',
      labelNames: [c],
      registers,
    });
    const n = 'name';
    this.queueDepth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: [n],
      registers,
    });
    this.queueAdds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: [n],
      registers,
    });
    this.queueDuration = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: [n],
      buckets: WORKQUEUE_BUCKETS,
      registers,
    });
    this.workDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames: [n],
      buckets: WORKQUEUE_BUCKETS,
      registers,
    });
    const queues = this.queues;
    this.unfinishedWork = new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help: 'How many seconds of work has been done that is in progress and has not been observed by work_duration',
      labelNames: [n],
      registers,
      collect() {
        for (const [name, inFlight] of queues)
          this.set(
            { name },
            inFlight().reduce((a, b) => a + b, 0),
          );
      },
    });
    this.longestRunning = new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running',
      labelNames: [n],
      registers,
      collect() {
        for (const [name, inFlight] of queues) this.set({ name }, Math.max(0, ...inFlight()));
      },
    });
    this.queueRetries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: [n],
      registers,
    });
    this.restRequests = new Counter({
      name: 'rest_client_requests_total',
      help: 'Number of HTTP requests to the Kubernetes API, partitioned by status code, method, and host',
      labelNames: ['code', 'method', 'host'],
      registers,
    });
    this.leaderStatus = new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master',
      labelNames: [n],
      registers,
    });
    this.leaderSlowpath = new Counter({
      name: 'leader_election_slowpath_total',
      help: 'Total number of slow path exercised in renewing leader leases',
      labelNames: [n],
      registers,
    });
    const r = 'resource';
    this.watchConnects = new Counter({
      name: 'warren_informer_watch_connects_total',
      help: 'Watch connections opened per resource',
      labelNames: [r],
      registers,
    });
    this.watchErrors = new Counter({
      name: 'warren_informer_watch_errors_total',
      help: 'Lists and watches that failed per resource',
      labelNames: [r],
      registers,
    });
    this.relists = new Counter({
      name: 'warren_informer_relists_total',
      help: 'Full lists per resource (start, 410 Gone, restart after an error)',
      labelNames: [r],
      registers,
    });
    this.watchdogRestarts = new Counter({
      name: 'warren_informer_watchdog_restarts_total',
      help: 'Watches aborted by the watchdog because nothing arrived for too long',
      labelNames: [r],
      registers,
    });
    this.cachedObjects = new Gauge({
      name: 'warren_informer_cached_objects',
      help: 'Objects held in the informer cache per resource',
      labelNames: [r],
      registers,
    });
    this.events = new Counter({
      name: 'warren_events_total',
      help: 'Kubernetes Events by type and outcome (emitted, aggregated, suppressed, dropped, failed)',
      labelNames: ['type', 'result'],
      registers,
    });
  }

  /** The observer a controller's work queue reports to; `inFlight` gives the ages of keys being processed. */
  workQueue(name: string, inFlight: () => number[]): WorkQueueObserver {
    this.queues.set(name, inFlight);
    const labels = { name };
    return {
      add: () => this.queueAdds.inc(labels),
      depth: (d) => this.queueDepth.set(labels, d),
      queued: (s) => this.queueDuration.observe(labels, s),
      worked: (s) => this.workDuration.observe(labels, s),
      retry: () => this.queueRetries.inc(labels),
    };
  }
}
