// The Manager owns everything one operator process shares: the API client, the informers (one per resource,
// namespace scope and label selector), the controllers, leader election, Events, metrics, probes.
//
// start(): probe and metrics servers, then every informer (a standby keeps warm caches, as with
// controller-runtime, so a take-over costs no relist), then leader election; controllers start their workers
// once this process leads and their caches are synced. stop(): controllers stop taking work and get the
// grace period to finish, then the Lease is released so a standby takes over at once, then the rest closes.
//
// Fencing: `client` (and so every reconciler's writes) passes `leadership` before each write, and the
// management clients of main get the same fence: a write is sent only while this process holds a Lease whose
// time is not spent, measured on a monotonic clock, so a leader starved past its renew deadline cannot write
// once it runs again; the write that finds it out is refused and the loss follows at once. Only the Lease
// itself (renew and release) and Events (they cannot conflict with a new leader's work, and a graceful stop
// sends them after the release) are written without the fence.
//
// A lost Lease (renew deadline passed) allows no grace: another process may be reconciling already. The
// controllers stop taking keys and the signal of every in-flight reconcile aborts at once, every API request
// still in flight is cut off, the Lease is left alone (it is not ours any more), and `done` resolves with
// 'leadership-lost' within moments; the process then exits non-zero (as controller-runtime's does) and
// restarts as a clean standby.
import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import type { ApiServerAccess } from './api-server.ts';
import { concurrencyFor } from '../settings.ts';
import type { Settings } from '../settings.ts';
import { Controller } from './controller.ts';
import type { ControllerDefinition } from './controller.ts';
import { EventRecorder } from './events.ts';
import { LeadershipLostError, openFence } from './fence.ts';
import type { WriteFence } from './fence.ts';
import { metricsEndpoint, parseBindAddress, probeEndpoint } from './health.ts';
import type { HttpEndpoint } from './health.ts';
import { ListWatchInformer, MultiNamespaceInformer } from './informer.ts';
import type { Informer } from './informer.ts';
import { KubeClient } from './kube-client.ts';
import { LeaderElector } from './leader-election.ts';
import type { Lease } from './leader-election.ts';
import { createLogger } from './logger.ts';
import type { Logger } from './logger.ts';
import { RuntimeMetrics } from './metrics.ts';
import { coreResources, resourceId } from './resource.ts';
import type { KubeObject, ResourceRef } from './resource.ts';

export interface ManagerOptions {
  apiServer: ApiServerAccess;
  settings: Settings;
  logger?: Logger;
  /** Prometheus registry for the runtime's metrics (and everyone else's); a new one by default. */
  registry?: Registry;
  /** reportingController of Events. */
  eventSource?: string;
}

export interface InformerScope {
  /** One namespace; default the watched namespaces of the settings (all when empty). */
  namespace?: string;
  labelSelector?: string;
}

export type ManagerOutcome = 'stopped' | 'leadership-lost';

/** The process's exit status: a lost Lease is a failure ("leader election lost" in controller-runtime). */
export function exitCodeOf(outcome: ManagerOutcome): number {
  return outcome === 'leadership-lost' ? 1 : 0;
}

export class Manager {
  readonly apiServer: ApiServerAccess;
  readonly settings: Settings;
  readonly log: Logger;
  readonly metrics: RuntimeMetrics;
  readonly registry: Registry;
  /** The API client for reconcilers: every write passes `leadership` first. */
  readonly client: KubeClient;
  /**
   * The fence of every write this process makes: `leadership.assertValid()` returns while this process may
   * write (it holds the Lease and its renew deadline has not passed, or leader election is off) and throws
   * LeadershipLostError otherwise. Hand it to any client that writes somewhere else (the broker clients).
   */
  readonly leadership: WriteFence;
  readonly events: EventRecorder;
  /** This process's name in the Lease and in Events. */
  readonly identity: string;
  /** Resolves when the manager has stopped, saying why. */
  readonly done: Promise<ManagerOutcome>;
  /** Ports the servers bound (useful when an address asks for port 0). */
  readonly ports: { metrics?: number; probe?: number } = {};

  /** The same connections without the fence: for the Lease itself and for Events. */
  private readonly unfenced: KubeClient;
  private readonly informers = new Map<string, Informer>();
  private readonly controllers: Controller[] = [];
  private readonly endpoints: HttpEndpoint[] = [];
  private elector: LeaderElector | undefined;
  private leaseWatch: ListWatchInformer<Lease> | undefined;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private leading = false;
  private lost = false;
  private onLost: () => void = () => undefined;
  private resolveDone: (outcome: ManagerOutcome) => void = () => undefined;
  private stopping: Promise<void> | undefined;

  constructor(options: ManagerOptions) {
    this.apiServer = options.apiServer;
    this.settings = options.settings;
    this.log = options.logger ?? createLogger({ level: options.settings.logLevel });
    this.metrics = new RuntimeMetrics(options.registry);
    this.registry = this.metrics.registry;
    this.unfenced = new KubeClient(options.apiServer, {
      observe: ({ method, code, host }) =>
        this.metrics.restRequests.inc({ method, code: String(code), host }),
    });
    this.leadership = options.settings.leaderElect ? { assertValid: () => this.assertLeading() } : openFence;
    this.client = this.unfenced.withFence(this.leadership);
    this.identity = options.settings.podName || `${hostname()}-${process.pid}`;
    this.events = new EventRecorder({
      client: this.unfenced,
      logger: this.log,
      metrics: this.metrics,
      controller: options.eventSource ?? 'warren.dev/operator',
      instance: this.identity,
    });
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /**
   * The shared informer for `resource` in one scope. Reconcilers read its cache; handlers may be added.
   * Informers created after start() start at once.
   */
  informer<T extends KubeObject = KubeObject>(
    resource: ResourceRef,
    options: InformerScope = {},
  ): Informer<T> {
    const namespaces = !resource.namespaced
      ? []
      : options.namespace !== undefined
        ? [options.namespace]
        : this.settings.watchNamespaces;
    const id = `${resourceId(resource)}/${resource.version}|${namespaces.join(',')}|${options.labelSelector ?? ''}`;
    const existing = this.informers.get(id);
    if (existing) return existing as Informer<T>;
    const common = {
      client: this.client,
      resource,
      labelSelector: options.labelSelector,
      logger: this.log,
      metrics: this.metrics,
      watchdogMs: this.settings.watchIdleTimeout,
    };
    const informer: Informer<T> =
      namespaces.length > 1
        ? new MultiNamespaceInformer<T>(namespaces, common)
        : new ListWatchInformer<T>({ ...common, namespace: namespaces[0] });
    this.informers.set(id, informer);
    if (this.state === 'running') informer.start();
    return informer;
  }

  /** Registers a controller; its informers are created now, its workers start when this process leads. */
  addController<T extends KubeObject = KubeObject>(def: ControllerDefinition<T>): Controller<T> {
    if (this.state !== 'new') throw new Error('controllers must be added before start()');
    if (this.controllers.some((c) => c.name === def.name))
      throw new Error(`duplicate controller "${def.name}"`);
    const s = this.settings;
    const controller = new Controller<T>(def, {
      informer: (resource, options) => this.informer(resource, options),
      logger: this.log,
      metrics: this.metrics,
      defaults: {
        concurrency: concurrencyFor(s, def.name),
        resyncPeriodMs: s.resyncPeriod,
        backoffBaseMs: s.backoffBase,
        backoffMaxMs: s.backoffMax,
        rateLimitQps: s.rateLimitQps,
        rateLimitBurst: s.rateLimitBurst,
        reconcileTimeoutMs: s.reconcileTimeout,
      },
    });
    this.controllers.push(controller);
    return controller;
  }

  /** True once every informer has listed its objects. */
  hasSynced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced());
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Starts servers, informers and leader election; resolves once they are running (not once leading). */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('a manager starts once');
    this.state = 'running';
    const metricsAddress = parseBindAddress(this.settings.metricsBindAddress);
    if (metricsAddress) {
      const endpoint = metricsEndpoint(this.registry, this.log);
      this.endpoints.push(endpoint);
      this.ports.metrics = await endpoint.listen(metricsAddress);
    }
    const probeAddress = parseBindAddress(this.settings.healthProbeBindAddress);
    if (probeAddress) {
      const endpoint = probeEndpoint(
        {
          healthz: () => this.state === 'running',
          readyz: () => this.state === 'running' && this.hasSynced(),
        },
        this.log,
      );
      this.endpoints.push(endpoint);
      this.ports.probe = await endpoint.listen(probeAddress);
    }
    for (const informer of this.informers.values()) informer.start();

    if (!this.settings.leaderElect) {
      this.startControllers();
      return;
    }
    this.elector = new LeaderElector({
      client: this.unfenced,
      namespace: this.leaseNamespace(),
      name: this.settings.leaderElectionId,
      identity: this.identity,
      leaseDurationMs: this.settings.leaseDuration,
      renewDeadlineMs: this.settings.renewDeadline,
      retryPeriodMs: this.settings.retryPeriod,
      logger: this.log,
      metrics: this.metrics,
      onStartedLeading: () => this.startControllers(),
      onStoppedLeading: () => this.leadershipLost(),
    });
    // A watch on the Lease tells a standby when the leader renews and wakes it the moment the Lease is released.
    const elector = this.elector;
    this.leaseWatch = new ListWatchInformer<Lease>({
      client: this.client,
      resource: coreResources.lease,
      namespace: this.leaseNamespace(),
      fieldSelector: `metadata.name=${this.settings.leaderElectionId}`,
      logger: this.log,
      metrics: this.metrics,
    });
    this.leaseWatch.addHandler({
      add: (lease: Lease) => elector.seen(lease),
      update: (_old, lease: Lease) => elector.seen(lease),
      delete: () => elector.nudge(),
    });
    this.leaseWatch.start();
    elector.start();
  }

  /** Graceful stop: finish or abandon in-flight work, release the Lease, close everything. Idempotent. */
  async stop(): Promise<void> {
    await this.shutdown('stopped');
  }

  private assertLeading(): void {
    if (!this.elector) throw new LeadershipLostError('write refused: leader election has not started');
    this.elector.assertValid();
  }

  private startControllers(): void {
    if (this.state !== 'running') return;
    this.leading = true;
    for (const controller of this.controllers) {
      controller.start().catch((err: unknown) => {
        if (this.state === 'running')
          this.log.error({ err, controller: controller.name }, 'controller failed to start');
      });
    }
  }

  /** Stops all work at once, before anything else can run, then shuts down without grace. */
  private leadershipLost(): void {
    if (this.lost) return;
    this.lost = true;
    this.leading = false;
    this.log.error(
      { lease: `${this.leaseNamespace()}/${this.settings.leaderElectionId}` },
      'leader election lost: abandoning in-flight reconciles and stopping without releasing the Lease',
    );
    const reason = new Error('leader election lost');
    for (const controller of this.controllers) controller.abandon(reason);
    // Even a shutdown already under way stops waiting: its controllers are abandoned now.
    this.onLost();
    void this.shutdown('leadership-lost');
  }

  private shutdown(outcome: ManagerOutcome): Promise<void> {
    this.stopping ??= (async () => {
      const graceMs = this.settings.gracefulShutdownTimeout;
      this.state = 'stopping';
      const started = Date.now();
      if (!this.lost) {
        this.log.info({ reason: outcome, graceMs }, 'stopping');
        // Controllers first: the Lease may only go once nothing reconciles any more.
        const lost = new Promise<void>((resolve) => (this.onLost = resolve));
        await Promise.race([Promise.all(this.controllers.map((c) => c.stop(graceMs))), lost]);
      }
      this.leading = false;
      let unsent = 0;
      if (!this.lost) {
        // Writes nothing if the Lease was lost meanwhile (the elector knows).
        await this.elector?.release();
        // The Events of the last reconciles, still queued after a burst, go out before the process does; the
        // Lease is released first, so a standby takes over meanwhile (Events never conflict with its work).
        unsent = await this.events.flush(Math.max(0, graceMs - (Date.now() - started)));
        if (unsent > 0) this.log.warn({ unsent }, 'stopping with Events unsent');
      }
      const informers = [...(this.leaseWatch ? [this.leaseWatch] : []), ...this.informers.values()].map((i) =>
        i.stop(),
      );
      // After a loss nothing may wait on a stalled API server: requests in flight are cut off (on the loss
      // path everything up to here runs at once, in the same turn as the abandoning of the reconciles).
      const destroyed = this.lost || unsent > 0 ? this.client.destroy() : undefined;
      await destroyed;
      await Promise.all(informers);
      await Promise.all(this.endpoints.map((e) => e.close()));
      await this.client.close();
      this.state = 'stopped';
      this.log.info('stopped');
      this.resolveDone(this.lost ? 'leadership-lost' : outcome);
    })();
    return this.stopping;
  }

  private leaseNamespace(): string {
    if (this.settings.leaderElectionNamespace) return this.settings.leaderElectionNamespace;
    return this.settings.podNamespace || this.apiServer.namespace || 'default';
  }
}
