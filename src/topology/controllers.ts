// Wiring of the topology controllers: one generic reconciler per kind, sharing one connection resolver, one
// management client pool per broker, one snapshot per broker, and the index that turns watch events and
// broker drift into exactly the keys to reconcile.
import { rabbitmqClusterResource, userResource, watchedLabel } from '../api/index.ts';
import { ManagementClientRegistry } from '../rabbitmq/management/registry.ts';
import { managementMetrics } from '../rabbitmq/metrics.ts';
import { hashPassword, passwordMatches, defaultHashingAlgorithm } from '../rabbitmq/passwords.ts';
import { SnapshotCache } from '../rabbitmq/snapshot/index.ts';
import type { Controller } from '../runtime/controller.ts';
import type { Manager } from '../runtime/manager.ts';
import { coreResources, keyOf, type ObjectKey } from '../runtime/resource.ts';
import type { Settings } from '../settings.ts';
import { BrokerSlots } from './broker-slots.ts';
import { BrokerUsage } from './broker-usage.ts';
import { Connections, type ClusterObject, type SecretObject } from './connections.ts';
import { DependencyIndex, targets } from './dependencies.ts';
import { topologyKinds, type AnyTopologyKind } from './kinds/index.ts';
import type { References, SecretOps, TopologyObject } from './kinds/types.ts';
import { createTopologyReconciler, type TopologyRuntime } from './reconciler/index.ts';

const secretSelector = `${watchedLabel}=true`;

export const secretOps: SecretOps = {
  hashPassword: (password) => ({
    password_hash: hashPassword(password),
    hashing_algorithm: defaultHashingAlgorithm,
  }),
  passwordMatches: (password, hash, algorithm) => passwordMatches(hash, algorithm, password),
};

/** What a RabbitmqCluster says about reaching it: a change here re-reconciles its objects, nothing else does. */
function clusterFingerprint(cluster: ClusterObject): string {
  return JSON.stringify([
    cluster.metadata.annotations ?? {},
    cluster.metadata.deletionTimestamp ?? null,
    cluster.spec?.tls ?? null,
    cluster.status?.defaultUser ?? null,
  ]);
}

export interface TopologyControllers {
  controllers: Map<string, Controller>;
  runtime: TopologyRuntime;
}

export function registerTopologyControllers(manager: Manager, settings: Settings): TopologyControllers {
  const log = manager.log.child({ component: 'topology' });
  const secrets = manager.informer<SecretObject>(coreResources.secret, { labelSelector: secretSelector });
  const clusters = manager.informer<ClusterObject>(rabbitmqClusterResource);
  const users = manager.informer<TopologyObject>(userResource);
  const connections = new Connections({ client: manager.client, secrets, clusters, log });
  const clients = new ManagementClientRegistry({
    metrics: managementMetrics(manager.registry),
    requestTimeoutMs: settings.managementRequestTimeout,
    exportTimeoutMs: settings.managementExportTimeout,
    maxResponseBytes: settings.managementMaxResponseSize,
    writeFence: manager.leadership,
  });
  const index = new DependencyIndex();
  const controllers = new Map<string, Controller>();
  const wake = (target: string, except?: { controller: string; key: ObjectKey }) => {
    for (const dependent of index.dependents(target)) {
      if (
        except?.controller === dependent.controller &&
        except.key.namespace === dependent.key.namespace &&
        except.key.name === dependent.key.name
      )
        continue;
      controllers.get(dependent.controller)?.enqueue(dependent.key);
    }
  };

  const snapshots = new SnapshotCache({
    refreshIntervalMs: settings.brokerRefreshInterval,
    // Objects parked behind a broker that just failed to answer learn of it at once when woken, instead of
    // each waiting out a fetch of its own in turn.
    failureHoldMs: 5_000,
    // Drift: exactly the objects whose broker object changed or vanished behind Warren's back.
    // Objects waiting for one that appeared are woken too.
    onRefresh: ({ brokerId, changes }) => {
      for (const change of changes) wake(targets.broker(brokerId, { kind: change.kind, key: change.key }));
    },
    onError: (_brokerId, error) => log.debug({ err: error }, 'broker snapshot refresh failed'),
  });
  // A broker no object uses any more: its refresh timer, snapshot and connections go after one refresh interval.
  const brokers = new BrokerUsage({
    graceMs: settings.brokerRefreshInterval,
    release: (brokerId) => {
      log.debug({ broker: brokerId }, 'no object uses the broker any more: freeing its snapshot and clients');
      snapshots.forget(brokerId);
      void clients.forget(brokerId);
    },
  });
  void manager.done.then(async () => {
    brokers.close();
    snapshots.close();
    await clients.close();
  });

  const userName = (namespace: string, name: string): string | undefined => {
    const status = users.get({ namespace, name })?.status as { username?: unknown } | undefined;
    return typeof status?.username === 'string' && status.username !== '' ? status.username : undefined;
  };
  const references = (namespace: string): References => ({
    userName: (name) => userName(namespace, name),
    credentials: () => undefined,
  });

  const runtime: TopologyRuntime = {
    manager,
    connections,
    clients,
    snapshots,
    secrets: secretOps,
    index,
    references,
    wake,
    enqueue: (controller, key) => controllers.get(controller)?.enqueue(key),
    brokers,
    slots: new BrokerSlots(settings.maxReconcilesPerBroker),
    dependencyGraceMs: settings.dependencyGracePeriod,
  };

  /** One controller per kind: its primary resource, the Secrets and clusters it uses, and the kinds it watches. */
  function add(kind: AnyTopologyKind): void {
    const name = kind.kind.toLowerCase();
    const dependentsOf = (target: string) =>
      index
        .dependents(target)
        .filter((d) => d.controller === name)
        .map((d) => d.key);
    const fingerprints = new Map<string, string>();
    const controller = manager.addController({
      name,
      resource: kind.resource,
      reconcile: createTopologyReconciler(kind, runtime),
      concurrency: settings.controllerConcurrency[name] ?? settings.topologyWorkers,
      watches: [
        {
          resource: coreResources.secret,
          labelSelector: secretSelector,
          map: (secret) => dependentsOf(targets.secret(keyOf(secret))),
        },
        {
          resource: rabbitmqClusterResource,
          map: (cluster) => {
            const id = `${cluster.metadata.namespace ?? ''}/${cluster.metadata.name ?? ''}`;
            const fingerprint = clusterFingerprint(cluster);
            if (fingerprints.get(id) === fingerprint) return [];
            fingerprints.set(id, fingerprint);
            return dependentsOf(targets.cluster(keyOf(cluster)));
          },
        },
        ...(kind.watches ?? []).map((watch) => ({
          resource: watch.resource,
          map: (obj: Parameters<typeof watch.target>[0]) => dependentsOf(watch.target(obj)),
        })),
      ],
    });
    controllers.set(name, controller);
  }

  for (const kind of topologyKinds) add(kind);

  return { controllers, runtime };
}
