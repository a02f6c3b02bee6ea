// Pure decisions of the cluster reconciler: which changes are safe to apply to a live cluster, and the
// status that describes what it found. No I/O here; reconciler.ts reads the inputs and applies the outcome.
import type { V1PersistentVolumeClaim, V1StatefulSet } from '@kubernetes/client-node';
import type { ConditionInput } from '../runtime/index.ts';
import { parseQuantity } from './resources/quantity.ts';
import { childNames, identity } from './resources/meta.ts';
import { brokerResources } from './resources/config.ts';
import type { RabbitmqCluster } from './types.ts';

export const pauseAnnotation = 'warren.dev/pause-reconciliation';
/** The upstream operator's switch, a label there; honoured so migrated manifests keep working. */
export const upstreamPauseLabel = 'rabbitmq.com/pauseReconciliation';

export function isPaused(cluster: RabbitmqCluster): boolean {
  return (
    cluster.metadata.annotations?.[pauseAnnotation] === 'true' ||
    cluster.metadata.labels?.[upstreamPauseLabel] === 'true'
  );
}

export interface Refusal {
  reason: string;
  message: string;
}

/**
 * Scaling up (or to zero, which stops the nodes and keeps their volumes) is applied. Scaling down is refused:
 * removing a node without draining it first loses the quorum-queue replicas and stream data it holds.
 */
export function checkReplicas(
  cluster: RabbitmqCluster,
  live: V1StatefulSet | undefined,
): Refusal | undefined {
  const current = live?.spec?.replicas;
  // The override is merged into the StatefulSet last, so its count is the one that would be applied.
  const overridden = (cluster.spec.override?.statefulSet as { spec?: { replicas?: unknown } } | undefined)
    ?.spec?.replicas;
  const field = typeof overridden === 'number' ? 'override.statefulSet.spec.replicas' : 'spec.replicas';
  const desired = typeof overridden === 'number' ? overridden : cluster.spec.replicas;
  if (current === undefined || desired >= current || desired === 0) return undefined;
  return {
    reason: 'ScaleDownNotSupported',
    message:
      `${field} is ${desired} but the cluster runs ${current} nodes: scaling down is not supported yet ` +
      `(nodes would leave without handing over their queues). Set ${field} back to ${current}; ` +
      'the StatefulSet is left unchanged meanwhile.',
  };
}

/** What of a cluster's past survives: a StatefulSet and PVCs hold nodes that know its cookie and default user. */
export interface ClusterHistory {
  /** The StatefulSet's name when it exists. */
  statefulSet?: string;
  /** Names of the cluster's PVCs. */
  claims: string[];
}

export type GeneratedSecretKind = 'erlang-cookie' | 'default-user';

/**
 * A generated Secret that exists nowhere is generated afresh only for a cluster with no past. Once a
 * StatefulSet or a PVC exists, the nodes (and their volumes) hold the old values: a new Erlang cookie splits
 * the cluster as nodes restart, and a new default user matches no user in the brokers' database, so every
 * topology object then gets 401. Refused, with what a person can do about it.
 */
export function regenerationRefusal(
  kind: GeneratedSecretKind,
  secretName: string,
  history: ClusterHistory,
): Refusal | undefined {
  const { statefulSet, claims } = history;
  if (statefulSet === undefined && claims.length === 0) return undefined;
  const what =
    kind === 'erlang-cookie'
      ? 'a new Erlang cookie would keep restarted nodes from rejoining the others'
      : "a new default user would not match the user in the brokers' database, and Warren could no longer manage them";
  const found = [
    ...(statefulSet === undefined ? [] : [`StatefulSet "${statefulSet}"`]),
    ...(claims.length === 0
      ? []
      : [`PVC${claims.length > 1 ? 's' : ''} ${claims.map((c) => `"${c}"`).join(', ')}`]),
  ].join(' and ');
  const afresh = [
    ...(statefulSet === undefined ? [] : [`StatefulSet "${statefulSet}"`]),
    ...(claims.length === 0 ? [] : [`the PVCs (this deletes the brokers' data)`]),
  ].join(' and ');
  return {
    reason: kind === 'erlang-cookie' ? 'ErlangCookieSecretMissing' : 'DefaultUserSecretMissing',
    message:
      `Secret "${secretName}" is missing, but the cluster already has ${found}: ${what}, so it is not ` +
      `generated again. Restore the Secret from a backup, or, to start afresh, delete ${afresh}.`,
  };
}

export interface StoragePlan {
  /** PVCs to grow to the spec size, by name. */
  grow: { name: string; from: string; to: string }[];
  refusal?: Refusal;
}

function requestOf(claim: V1PersistentVolumeClaim | undefined): string | undefined {
  return claim?.spec?.resources?.requests?.storage;
}

/**
 * Volume growth. A live StatefulSet's claim templates cannot change, and deleting the StatefulSet to recreate
 * it (the upstream way) is not crash-safe; so the template stays as it was and each PVC is grown in place
 * (the storage driver expands the volume; no data moves). A PVC never shrinks; a spec smaller than the
 * volumes is refused (the API's validation rejects it too, but a cluster recreated over retained, larger
 * volumes can get here).
 */
export function planStorage(
  cluster: RabbitmqCluster,
  live: V1StatefulSet | undefined,
  claims: V1PersistentVolumeClaim[],
): StoragePlan {
  const desired = String(cluster.spec.persistence.storage);
  const wanted = parseQuantity(desired);
  const template = live?.spec?.volumeClaimTemplates?.find(
    (claim) => claim.metadata?.name === childNames(cluster).persistenceVolume,
  );
  if (live && !template && wanted !== 0) {
    return {
      grow: [],
      refusal: {
        reason: 'PersistenceChangeNotSupported',
        message:
          'spec.persistence.storage asks for volumes but the cluster was created without (storage 0): ' +
          'a StatefulSet cannot gain volumes. Create a new cluster with persistence.',
      },
    };
  }
  const templateSize = parseQuantity(requestOf(template) ?? '');
  if (wanted === undefined || wanted === 0 || templateSize === undefined) return { grow: [] };
  if (wanted < templateSize) {
    return {
      grow: [],
      refusal: {
        reason: 'StorageShrinkNotSupported',
        message: `spec.persistence.storage is ${desired} but the volumes were created with ${requestOf(template) ?? ''}: volumes cannot shrink. Set it back to at least that size.`,
      },
    };
  }
  const grow = claims.flatMap((claim) => {
    const from = requestOf(claim);
    const size = parseQuantity(from ?? '');
    if (from === undefined || size === undefined || size >= wanted) return [];
    return [{ name: claim.metadata?.name ?? '', from, to: desired }];
  });
  return { grow };
}

export interface StatusInputs {
  statefulSet: V1StatefulSet | undefined;
  /** The first thing that went wrong in this pass, if anything. */
  failure?: Refusal;
  paused?: boolean;
  /** The default user lives outside Warren (secretBackend). */
  externalDefaultUser?: string;
}

function warning(cluster: RabbitmqCluster, paused: boolean): ConditionInput {
  if (paused) {
    return {
      type: 'NoWarnings',
      status: 'False',
      reason: 'ReconciliationPaused',
      message: `Reconciliation is paused by the annotation ${pauseAnnotation} (or the label ${upstreamPauseLabel}); changes to the spec are not applied.`,
    };
  }
  if (cluster.spec.secretBackend?.vault) {
    return {
      type: 'NoWarnings',
      status: 'False',
      reason: 'VaultNotSupported',
      message: 'spec.secretBackend.vault is not supported by Warren and is ignored.',
    };
  }
  const { requests, limits } = brokerResources(cluster);
  const request = parseQuantity(requests?.memory ?? '');
  const limit = parseQuantity(limits?.memory ?? '');
  if (request !== undefined && limit !== undefined && request !== limit) {
    return {
      type: 'NoWarnings',
      status: 'False',
      reason: 'MemoryRequestAndLimitDifferent',
      message:
        'The memory request and limit differ: RabbitMQ sizes its memory alarm from the limit, so a node ' +
        'can be evicted or killed before it applies back pressure. Set them equal.',
    };
  }
  return { type: 'NoWarnings', status: 'True', reason: 'NoWarnings', message: 'No warnings.' };
}

/** The conditions, in the upstream order. */
export function clusterConditions(cluster: RabbitmqCluster, inputs: StatusInputs): ConditionInput[] {
  const sts = inputs.statefulSet;
  const desired = sts?.spec?.replicas ?? cluster.spec.replicas;
  const ready = sts?.status?.readyReplicas ?? 0;
  const allReady: ConditionInput = !sts
    ? {
        type: 'AllReplicasReady',
        status: 'Unknown',
        reason: 'MissingStatefulSet',
        message: 'The StatefulSet does not exist yet.',
      }
    : desired === 0
      ? {
          type: 'AllReplicasReady',
          status: 'False',
          reason: 'ScaledToZero',
          message: 'The cluster is scaled to zero nodes.',
        }
      : ready >= desired
        ? {
            type: 'AllReplicasReady',
            status: 'True',
            reason: 'AllPodsAreReady',
            message: `${ready}/${desired} pods ready.`,
          }
        : {
            type: 'AllReplicasReady',
            status: 'False',
            reason: 'NotAllPodsReady',
            message: `${ready}/${desired} pods ready.`,
          };
  // From the StatefulSet's ready replicas: the client Service selects exactly these pods and routes to the
  // ready ones, so one ready pod means clients can connect. (Reading EndpointSlices would add a watch and
  // only differ while endpoints propagate.)
  const available: ConditionInput = !sts
    ? {
        type: 'ClusterAvailable',
        status: 'Unknown',
        reason: 'MissingStatefulSet',
        message: 'The StatefulSet does not exist yet.',
      }
    : ready > 0
      ? {
          type: 'ClusterAvailable',
          status: 'True',
          reason: 'AtLeastOneNodeReady',
          message: `${ready} node(s) accept connections through Service "${childNames(cluster).clientService}".`,
        }
      : {
          type: 'ClusterAvailable',
          status: 'False',
          reason: 'NoNodeReady',
          message: 'No node is ready to accept connections.',
        };
  const success: ConditionInput = inputs.failure
    ? {
        type: 'ReconcileSuccess',
        status: 'False',
        reason: inputs.failure.reason,
        message: inputs.failure.message,
      }
    : inputs.paused
      ? {
          type: 'ReconcileSuccess',
          status: 'Unknown',
          reason: 'ReconciliationPaused',
          message: 'Reconciliation is paused.',
        }
      : {
          type: 'ReconcileSuccess',
          status: 'True',
          reason: 'Success',
          message: 'The cluster matches its spec.',
        };
  return [allReady, available, warning(cluster, inputs.paused ?? false), success];
}

/** Where clients and the topology controllers find the default user, the Service and the binding Secret. */
export function statusReferences(cluster: RabbitmqCluster, externalDefaultUser?: string) {
  const { namespace } = identity(cluster);
  const names = childNames(cluster);
  const secretName = externalDefaultUser ?? names.defaultUser;
  return {
    defaultUser: {
      secretReference: { name: secretName, namespace, keys: { username: 'username', password: 'password' } },
      serviceReference: { name: names.clientService, namespace },
    },
    binding: { name: secretName },
  };
}
