// The RabbitmqCluster controller: thin orchestration around the pure builders (resources/) and decisions
// (plan.ts). One pass reads the cluster and its children from the caches, applies every child with
// server-side apply (owner reference: the cluster, so garbage collection removes them), and writes the status.
//
// Generated values (Erlang cookie, default user) are created once and only read back afterwards: the cache is
// asked first, then the API server, and only an object that exists nowhere is generated, with a create (not an
// apply), so two racing passes cannot overwrite each other's credentials. Once the cluster has a StatefulSet or
// PVCs, a missing one is not generated again: the pass stops with a condition and a Warning Event that say
// how to restore it (plan.ts, regenerationRefusal).
import type { V1PersistentVolumeClaim, V1Pod, V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import { parseRabbitmqCluster, rabbitmqClusterResource, watchedLabel } from '../api/index.ts';
import {
  applyObject,
  coreResources,
  handleFinalizer,
  isAlreadyExists,
  setCondition,
  writeStatus,
  type Cache,
  type Condition,
  type KubeClient,
  type KubeObject,
  type Manager,
  type ObjectKey,
  type ReconcileContext,
  type ReconcileResult,
  type ResourceRef,
} from '../runtime/index.ts';
import type { Settings } from '../settings.ts';
import { certificateExpiryMetrics, type CertificateExpiryMetrics } from './metrics.ts';
import {
  checkReplicas,
  clusterConditions,
  isPaused,
  planStorage,
  regenerationRefusal,
  statusReferences,
  type ClusterHistory,
  type GeneratedSecretKind,
  type Refusal,
} from './plan.ts';
import { configHash, pluginsConfigMap, serverConfigMap, validateConfiguration } from './resources/config.ts';
import type { TlsMount } from './resources/features.ts';
import { childMeta, childNames, identity, nameLabel, partOfLabel } from './resources/meta.ts';
import { podDisruptionBudget } from './resources/pdb.ts';
import { parseQuantity } from './resources/quantity.ts';
import { peerDiscoveryRole, peerDiscoveryRoleBinding, serviceAccount } from './resources/rbac.ts';
import {
  defaultUserSecret,
  erlangCookieSecret,
  generateDefaultUser,
  generateErlangCookie,
  secretValue,
  type DefaultUserCredentials,
} from './resources/secrets.ts';
import { clientService, headlessService } from './resources/services.ts';
import { skipPreStopChecksLabel, statefulSet } from './resources/statefulset.ts';
import {
  certificateExpirySamples,
  planTls,
  tlsSecretNames,
  type ExistingTlsSecrets,
  type TlsCluster,
} from './tls.ts';
import type { RabbitmqCluster } from './types.ts';

export const clusterFinalizer = 'deletion.finalizers.rabbitmqclusters.warren.dev';
const childSelector = `${partOfLabel}=rabbitmq`;

const clusterResource: ResourceRef = rabbitmqClusterResource;
const resources = coreResources;

export interface ClusterControllerOptions {
  client: KubeClient;
  events: Manager['events'];
  defaultImage: string;
  caches: {
    secrets: Cache;
    statefulSets: Cache;
  };
  /** Where certificate expiry is published; none in tests that do not look at it. */
  certificateExpiry?: CertificateExpiryMetrics;
  now?: () => Date;
}

type Raw = KubeObject;

function asKube(obj: object): KubeObject {
  return obj as KubeObject;
}

/**
 * Reads a generated Secret from the cache, else from the API server; creates it only when it exists nowhere
 * and the cluster has no StatefulSet or PVC yet (else the refusal, with nothing written).
 */
async function ensureGeneratedSecret(
  options: ClusterControllerOptions,
  cluster: RabbitmqCluster,
  kind: GeneratedSecretKind,
  key: ObjectKey,
  build: () => V1Secret,
): Promise<V1Secret | Refusal> {
  const cached = options.caches.secrets.get(key) as V1Secret | undefined;
  if (cached) return cached;
  const live = await options.client.get<Raw>(resources.secret, key);
  if (live) return live as V1Secret;
  const refusal = regenerationRefusal(kind, key.name, await readHistory(options, cluster));
  if (refusal) return refusal;
  try {
    return (await options.client.create(resources.secret, asKube(build()))) as V1Secret;
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    const existing = await options.client.get<Raw>(resources.secret, key);
    if (!existing) throw err;
    return existing as V1Secret;
  }
}

/** The StatefulSet and PVCs, read from the API server: the cache may lag, and this decides about data. */
async function readHistory(
  options: ClusterControllerOptions,
  cluster: RabbitmqCluster,
): Promise<ClusterHistory> {
  const { namespace } = identity(cluster);
  const name = childNames(cluster).statefulSet;
  const live = await options.client.get<Raw>(resources.statefulSet, { namespace, name });
  const claims = (await listClaims(options.client, cluster)).map((claim) => claim.metadata?.name ?? '');
  return { ...(live ? { statefulSet: name } : {}), claims };
}

/**
 * How soon a pass refused for a missing Secret looks again: a Secret restored from a backup may lack the labels
 * and owner reference whose change would wake the cluster at once.
 */
const missingSecretRecheckMs = 30_000;

function isRefusal(value: V1Secret | Refusal): value is Refusal {
  return 'reason' in value && typeof value.reason === 'string';
}

async function readTlsSecrets(client: KubeClient, cluster: RabbitmqCluster): Promise<ExistingTlsSecrets> {
  const tls = cluster.spec.tls;
  if (!tls) return {};
  const { namespace } = identity(cluster);
  const get = async (name: string | undefined) =>
    name === undefined
      ? undefined
      : ((await client.get<Raw>(resources.secret, { namespace, name })) as V1Secret | undefined);
  if (tls.managed) {
    const [caName, serverName] = tlsSecretNames(cluster);
    return { caSecret: await get(caName), serverSecret: await get(serverName) };
  }
  const userTlsSecret = await get(tls.secretName);
  const userCaSecret = tls.caSecretName === tls.secretName ? userTlsSecret : await get(tls.caSecretName);
  return { userTlsSecret, userCaSecret };
}

async function listClaims(client: KubeClient, cluster: RabbitmqCluster): Promise<V1PersistentVolumeClaim[]> {
  const { namespace, name } = identity(cluster);
  const list = await client.list<Raw>(resources.persistentVolumeClaim, {
    namespace,
    labelSelector: `${nameLabel}=${name}`,
  });
  const prefix = `${childNames(cluster).persistenceVolume}-${childNames(cluster).statefulSet}-`;
  return (list.items as V1PersistentVolumeClaim[]).filter((claim) =>
    claim.metadata?.name?.startsWith(prefix),
  );
}

/** On deletion: pods stop at once instead of waiting for quorum queues that are going away with them. */
async function skipPreStopChecks(client: KubeClient, { namespace, name }: ObjectKey): Promise<void> {
  const pods = await client.list<Raw>(resources.pod, { namespace, labelSelector: `${nameLabel}=${name}` });
  for (const pod of pods.items as V1Pod[]) {
    if (pod.metadata?.labels?.[skipPreStopChecksLabel] === 'true') continue;
    await client.mergePatch(
      resources.pod,
      { namespace, name: pod.metadata?.name ?? '' },
      { metadata: { labels: { [skipPreStopChecksLabel]: 'true' } } },
    );
  }
}

/**
 * On deletion, when the volumes outlive the cluster (the default): the default-user and Erlang-cookie Secrets lose
 * their owner reference, so garbage collection leaves them beside the volumes. RabbitMQ creates the default user only
 * on an empty database: a cluster created again with the same name runs on the kept data and must find the
 * credentials stored in it, not freshly generated ones that no broker accepts. The next pass of such a cluster
 * adopts the default-user Secret again (it is re-applied with the new owner).
 */
async function keepCredentialsWithVolumes(client: KubeClient, raw: Raw): Promise<void> {
  // Read from the raw object: deletion must not depend on a spec that parses.
  const persistence = (raw.spec as { persistence?: Record<string, unknown> } | undefined)?.persistence;
  const retention = persistence?.persistentVolumeClaimRetentionPolicy as
    { whenDeleted?: unknown } | undefined;
  if (retention?.whenDeleted === 'Delete') return;
  const storage = persistence?.storage;
  if ((typeof storage === 'string' || typeof storage === 'number') && parseQuantity(storage) === 0) return;
  const { namespace = '', name = '', uid } = raw.metadata;
  for (const secret of [`${name}-default-user`, `${name}-erlang-cookie`]) {
    const live = await client.get<Raw>(resources.secret, { namespace, name: secret });
    const owners = live?.metadata.ownerReferences ?? [];
    if (!owners.some((owner) => owner.uid === uid)) continue;
    await client.jsonPatch(resources.secret, { namespace, name: secret }, [
      { op: 'test', path: '/metadata/ownerReferences', value: owners },
      {
        op: 'replace',
        path: '/metadata/ownerReferences',
        value: owners.filter((owner) => owner.uid !== uid),
      },
    ]);
  }
}

interface PassOutcome {
  failure?: Refusal;
  requeueAfterMs?: number;
  externalDefaultUser?: string;
}

/** Applies every child of a valid, unpaused cluster; refusals leave the StatefulSet as it is. */
async function applyChildren(
  options: ClusterControllerOptions,
  raw: Raw,
  cluster: RabbitmqCluster,
): Promise<PassOutcome> {
  const { client } = options;
  const names = childNames(cluster);
  const { namespace } = identity(cluster);

  const invalid = validateConfiguration(cluster);
  if (invalid) return { failure: invalid };

  const tlsPlan = await planTls(
    cluster,
    await readTlsSecrets(client, cluster),
    options.now?.() ?? new Date(),
    {
      childMeta: (c, name, extra) => childMeta(c, name, extra),
    },
  );
  for (const event of tlsPlan.events) options.events.emit(raw, event);
  if (tlsPlan.error) return { failure: tlsPlan.error, requeueAfterMs: tlsPlan.requeueAfterMs };
  for (const secret of tlsPlan.secretsToApply) await applyObject(client, resources.secret, asKube(secret));
  // Only now: with an error the pods keep serving what they had (and its series stays), and Warren-issued
  // certificates are in use only once stored. A plan without TLS removes the cluster's series.
  options.certificateExpiry?.record(identity(cluster), certificateExpirySamples(cluster, tlsPlan));
  const tls: TlsMount | undefined = tlsPlan.mount;

  const cookie = await ensureGeneratedSecret(
    options,
    cluster,
    'erlang-cookie',
    { namespace, name: names.erlangCookie },
    () => erlangCookieSecret(cluster, generateErlangCookie()),
  );
  if (isRefusal(cookie)) {
    options.events.warning(raw, cookie.reason, cookie.message);
    return { failure: cookie, requeueAfterMs: missingSecretRecheckMs };
  }
  if (!secretValue(cookie, '.erlang.cookie')) {
    return {
      failure: {
        reason: 'InvalidErlangCookie',
        message: `Secret "${names.erlangCookie}" has no .erlang.cookie key; delete it to have a new cookie generated.`,
      },
    };
  }

  const externalDefaultUser = cluster.spec.secretBackend?.externalSecret?.name;
  if (!externalDefaultUser) {
    const existing = await ensureGeneratedSecret(
      options,
      cluster,
      'default-user',
      { namespace, name: names.defaultUser },
      () => defaultUserSecret(cluster, generateDefaultUser(cluster), tls),
    );
    if (isRefusal(existing)) {
      options.events.warning(raw, existing.reason, existing.message);
      return { failure: existing, requeueAfterMs: missingSecretRecheckMs };
    }
    const username = secretValue(existing, 'username');
    const password = secretValue(existing, 'password');
    if (!username || !password) {
      return {
        failure: {
          reason: 'InvalidDefaultUser',
          message: `Secret "${names.defaultUser}" lacks the username or password key.`,
        },
      };
    }
    // Re-applied with the credentials it holds: host, port and plugin ports follow the spec (TLS on or off).
    const credentials: DefaultUserCredentials = { username, password };
    await applyObject(client, resources.secret, asKube(defaultUserSecret(cluster, credentials, tls)));
  }

  const serverConfig = serverConfigMap(cluster, tls);
  const pluginsConfig = pluginsConfigMap(cluster);
  for (const [resource, obj] of [
    [resources.service, headlessService(cluster)],
    [resources.service, clientService(cluster, tls)],
    [resources.configMap, pluginsConfig],
    [resources.configMap, serverConfig],
    [resources.serviceAccount, serviceAccount(cluster)],
    [resources.role, peerDiscoveryRole(cluster)],
    [resources.roleBinding, peerDiscoveryRoleBinding(cluster)],
  ] as const) {
    await applyObject(client, resource, asKube(obj));
  }

  const budget = podDisruptionBudget(cluster);
  if (budget) await applyObject(client, resources.podDisruptionBudget, asKube(budget));
  else await client.delete(resources.podDisruptionBudget, { namespace, name: names.podDisruptionBudget });

  const live = options.caches.statefulSets.get({ namespace, name: names.statefulSet }) as
    V1StatefulSet | undefined;
  const scaleRefusal = checkReplicas(cluster, live);
  if (scaleRefusal) {
    options.events.warning(raw, scaleRefusal.reason, scaleRefusal.message);
    return { failure: scaleRefusal, requeueAfterMs: tlsPlan.requeueAfterMs, externalDefaultUser };
  }
  const storage = planStorage(cluster, live, live ? await listClaims(client, cluster) : []);
  if (storage.refusal) {
    options.events.warning(raw, storage.refusal.reason, storage.refusal.message);
    return { failure: storage.refusal, requeueAfterMs: tlsPlan.requeueAfterMs, externalDefaultUser };
  }

  const sts = statefulSet(cluster, {
    tls,
    configHash: configHash(serverConfig, pluginsConfig, tlsPlan.materialHash),
    defaultImage: options.defaultImage,
    ...(live?.spec?.volumeClaimTemplates ? { existingClaimTemplates: live.spec.volumeClaimTemplates } : {}),
  });
  await applyObject(client, resources.statefulSet, asKube(sts));

  for (const claim of storage.grow) {
    try {
      await client.mergePatch(
        resources.persistentVolumeClaim,
        { namespace, name: claim.name },
        { spec: { resources: { requests: { storage: claim.to } } } },
      );
      options.events.normal(
        raw,
        'VolumeExpanding',
        `Growing PVC "${claim.name}" from ${claim.from} to ${claim.to}.`,
      );
    } catch (err) {
      const failure = {
        reason: 'FailedReconcilePVC',
        message:
          `PVC "${claim.name}" could not grow from ${claim.from} to ${claim.to}: ${(err as Error).message}. ` +
          'Expansion needs a bound volume whose StorageClass has allowVolumeExpansion: true.',
      };
      options.events.warning(raw, failure.reason, failure.message);
      return { failure, requeueAfterMs: tlsPlan.requeueAfterMs, externalDefaultUser };
    }
  }
  return { requeueAfterMs: tlsPlan.requeueAfterMs, externalDefaultUser };
}

function nextStatus(
  raw: Raw,
  cluster: RabbitmqCluster,
  sts: V1StatefulSet | undefined,
  outcome: PassOutcome & { paused?: boolean },
  now: Date,
): Record<string, unknown> {
  const previous =
    (raw.status as { conditions?: Condition[]; observedGeneration?: number } | undefined) ?? {};
  const generation = cluster.metadata.generation;
  let conditions = previous.conditions;
  for (const condition of clusterConditions(cluster, { statefulSet: sts, ...outcome })) {
    conditions = setCondition(conditions, condition, generation, now);
  }
  const succeeded = !outcome.failure && !outcome.paused;
  return {
    ...previous,
    conditions,
    // Says which spec the status describes: only a pass that applied the spec moves it.
    ...(succeeded && generation !== undefined ? { observedGeneration: generation } : {}),
    replicas: sts?.status?.replicas ?? 0,
    readyReplicas: sts?.status?.readyReplicas ?? 0,
    ...statusReferences(cluster, outcome.externalDefaultUser),
  };
}

export async function reconcileCluster(
  shared: ClusterControllerOptions,
  key: ObjectKey,
  ctx: ReconcileContext,
): Promise<ReconcileResult | undefined> {
  // Every request of this pass carries its signal: once the reconcile is abandoned, nothing more is written.
  const options = { ...shared, client: shared.client.withSignal(ctx.signal) };
  const raw = ctx.cache.get(key);
  if (!raw) {
    options.certificateExpiry?.forget(key);
    return undefined;
  }
  const now = options.now?.() ?? new Date();
  // Deletion reads nothing but the name: a spec that no longer parses (a CRD older or newer than the operator)
  // must not keep the cluster Terminating.
  const finalizer = await handleFinalizer(
    options.client,
    clusterResource,
    raw,
    clusterFinalizer,
    async () => {
      await skipPreStopChecks(options.client, key);
      await keepCredentialsWithVolumes(options.client, raw);
    },
  );
  if (finalizer.deleting) {
    options.certificateExpiry?.forget(key);
    return undefined;
  }
  const current = finalizer.obj;
  const parsed = parseRabbitmqCluster(current);
  if (!parsed.success) {
    // The API server validates too; this only happens with a CRD older than the operator.
    const conditions = setCondition(
      (current.status as { conditions?: Condition[] } | undefined)?.conditions,
      { type: 'ReconcileSuccess', status: 'False', reason: 'InvalidSpec', message: parsed.message },
      current.metadata.generation,
      now,
    );
    await writeStatus(options.client, clusterResource, current, { ...(current.status ?? {}), conditions });
    return undefined;
  }
  const cluster = parsed.object;

  const names = childNames(cluster);
  const stsKey = { namespace: identity(cluster).namespace, name: names.statefulSet };
  if (isPaused(cluster)) {
    const sts = options.caches.statefulSets.get(stsKey) as V1StatefulSet | undefined;
    options.events.warning(
      current,
      'PausedReconciliation',
      'Reconciliation is paused; spec changes are not applied.',
    );
    await writeStatus(
      options.client,
      clusterResource,
      current,
      nextStatus(current, cluster, sts, { paused: true }, now),
    );
    return undefined;
  }

  const outcome = await applyChildren(options, current, cluster);
  const sts = options.caches.statefulSets.get(stsKey) as V1StatefulSet | undefined;
  await writeStatus(
    options.client,
    clusterResource,
    current,
    nextStatus(current, cluster, sts, outcome, now),
  );
  ctx.log.debug({ failure: outcome.failure?.reason }, 'cluster reconciled');
  return outcome.requeueAfterMs !== undefined ? { requeueAfterMs: outcome.requeueAfterMs } : undefined;
}

/** Registers the RabbitmqCluster controller with the manager. */
export function registerClusterController(manager: Manager, settings: Settings): void {
  const owned = [
    resources.service,
    resources.secret,
    resources.configMap,
    resources.serviceAccount,
    resources.role,
    resources.roleBinding,
    resources.statefulSet,
    resources.podDisruptionBudget,
  ];
  const options: ClusterControllerOptions = {
    client: manager.client,
    events: manager.events,
    defaultImage: settings.defaultRabbitmqImage,
    caches: {
      secrets: manager.informer(resources.secret, { labelSelector: childSelector }),
      statefulSets: manager.informer(resources.statefulSet, { labelSelector: childSelector }),
    },
    certificateExpiry: certificateExpiryMetrics(manager.registry),
  };
  // The controller's own cache of clusters (the manager shares one informer per resource and scope).
  const clusters = manager.informer(clusterResource);
  manager.addController({
    name: 'rabbitmqcluster',
    resource: clusterResource,
    reconcile: (key, ctx) => reconcileCluster(options, key, ctx),
    owns: owned.map((resource) => ({ resource, labelSelector: childSelector })),
    watches: [
      {
        // User TLS Secrets that opted into watching (cert-manager's secretTemplate can add the label): a
        // renewal rolls the pods at once instead of at the next poll.
        resource: resources.secret,
        labelSelector: `${watchedLabel}=true`,
        map: (secret) =>
          clusters
            .list(secret.metadata.namespace)
            .filter((cluster) =>
              tlsSecretNames(cluster as unknown as TlsCluster).includes(secret.metadata.name ?? ''),
            )
            .map((cluster) => ({
              namespace: cluster.metadata.namespace ?? '',
              name: cluster.metadata.name ?? '',
            })),
      },
    ],
  });
}
