// The StatefulSet `<name>-server`: the broker pods, their volumes, probes, lifecycle and placement.
import type {
  V1Affinity,
  V1Container,
  V1EnvVar,
  V1PersistentVolumeClaim,
  V1PodSpec,
  V1Probe,
  V1SecurityContext,
  V1StatefulSet,
  V1TopologySpreadConstraint,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import type { RabbitmqCluster } from '../types.ts';
import { brokerResources, tlsDirectory } from './config.ts';
import { clientPorts, corePorts, type TlsMount } from './features.ts';
import { strategicMerge } from './merge.ts';
import { childLabels, childMeta, childNames, selectorLabels } from './meta.ts';
import { parseQuantity } from './quantity.ts';

export const configHashAnnotation = 'warren.dev/config-hash';
/** Pods labelled with this (any non-empty value) skip the preStop checks, e.g. when the whole cluster is deleted. */
export const skipPreStopChecksLabel = 'skipPreStopChecks';
export const disableDefaultTopologySpreadAnnotations = [
  'warren.dev/disable-default-topology-spread-constraints',
  'rabbitmq.com/disable-default-topology-spread-constraints',
];

/**
 * Upper bound of the preStop wait for quorum queues. Upstream waits for the whole grace period (7 days by
 * default) and pods of small clusters hang in Terminating for days; a node that cannot hand over within
 * this bound stops anyway, and the StatefulSet rolls on.
 */
export const maxPreStopWaitSeconds = 900;

export interface StatefulSetInputs {
  tls: TlsMount | undefined;
  /** From `configHash()`: server config, plugins and TLS material. */
  configHash: string;
  /** The image used when the spec names none (setting DEFAULT_RABBITMQ_IMAGE). */
  defaultImage: string;
  /**
   * The live StatefulSet's claim template. Claim templates cannot change on a live StatefulSet, so an
   * existing one is kept as it is; volume growth is applied to the PVCs themselves.
   */
  existingClaimTemplates?: V1PersistentVolumeClaim[];
}

const dataDirectory = '/var/lib/rabbitmq/';
const mnesiaDirectory = '/var/lib/rabbitmq/mnesia/';

/** Whether the cluster keeps its data on PersistentVolumeClaims (storage is not zero). */
export function usesPersistentVolumes(cluster: RabbitmqCluster): boolean {
  return parseQuantity(cluster.spec.persistence.storage) !== 0;
}

function claimTemplate(cluster: RabbitmqCluster): V1PersistentVolumeClaim {
  const persistence = cluster.spec.persistence;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: childNames(cluster).persistenceVolume, labels: childLabels(cluster) },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: String(persistence.storage) } },
      ...(persistence.storageClassName ? { storageClassName: persistence.storageClassName } : {}),
    },
  };
}

function volumes(cluster: RabbitmqCluster, tls: TlsMount | undefined): V1Volume[] {
  const names = childNames(cluster);
  const rabbitmq = cluster.spec.rabbitmq ?? {};
  const result: V1Volume[] = [
    { name: 'plugins-conf', configMap: { name: names.pluginsConfig } },
    {
      name: 'rabbitmq-confd',
      projected: {
        sources: [
          {
            configMap: {
              name: names.serverConfig,
              items: [
                { key: 'operatorDefaults.conf', path: 'operatorDefaults.conf' },
                { key: 'userDefinedConfiguration.conf', path: 'userDefinedConfiguration.conf' },
              ],
            },
          },
          {
            secret: {
              // An external Secret (secretBackend.externalSecret) replaces the generated one.
              name: cluster.spec.secretBackend?.externalSecret?.name ?? names.defaultUser,
              items: [{ key: 'default_user.conf', path: 'default_user.conf' }],
            },
          },
        ],
      },
    },
    { name: 'rabbitmq-erlang-cookie', emptyDir: {} },
    { name: 'erlang-cookie-secret', secret: { secretName: names.erlangCookie } },
    { name: 'rabbitmq-plugins', emptyDir: {} },
    {
      name: 'pod-info',
      downwardAPI: {
        items: [
          {
            path: skipPreStopChecksLabel,
            fieldRef: { fieldPath: `metadata.labels['${skipPreStopChecksLabel}']` },
          },
        ],
      },
    },
  ];
  if (rabbitmq.advancedConfig || rabbitmq.envConfig || rabbitmq.erlangInetConfig) {
    result.push({ name: 'server-conf', configMap: { name: names.serverConfig } });
  }
  if (!usesPersistentVolumes(cluster)) {
    const { medium, sizeLimit } = cluster.spec.persistence.emptyDir ?? {};
    result.push({
      name: names.persistenceVolume,
      emptyDir: {
        ...(medium ? { medium } : {}),
        ...(sizeLimit !== undefined ? { sizeLimit: String(sizeLimit) } : {}),
      },
    });
  }
  if (tls) {
    result.push({
      name: 'rabbitmq-tls',
      projected: {
        defaultMode: 0o400,
        sources: [
          {
            secret: {
              name: tls.secretName,
              items: [
                { key: 'tls.crt', path: 'tls.crt' },
                { key: 'tls.key', path: 'tls.key' },
              ],
            },
          },
          ...(tls.caSecretName
            ? [{ secret: { name: tls.caSecretName, items: [{ key: 'ca.crt', path: 'ca.crt' }] } }]
            : []),
        ],
      },
    });
  }
  return result;
}

function brokerMounts(cluster: RabbitmqCluster, tls: TlsMount | undefined): V1VolumeMount[] {
  const rabbitmq = cluster.spec.rabbitmq ?? {};
  const mounts: V1VolumeMount[] = [
    { name: childNames(cluster).persistenceVolume, mountPath: mnesiaDirectory },
    { name: 'rabbitmq-erlang-cookie', mountPath: dataDirectory },
    { name: 'rabbitmq-plugins', mountPath: '/operator' },
    // conf.d is read in name order, later files win: operator defaults < default user < the user's configuration.
    {
      name: 'rabbitmq-confd',
      mountPath: '/etc/rabbitmq/conf.d/10-operatorDefaults.conf',
      subPath: 'operatorDefaults.conf',
    },
    {
      name: 'rabbitmq-confd',
      mountPath: '/etc/rabbitmq/conf.d/11-default_user.conf',
      subPath: 'default_user.conf',
    },
    {
      name: 'rabbitmq-confd',
      mountPath: '/etc/rabbitmq/conf.d/90-userDefinedConfiguration.conf',
      subPath: 'userDefinedConfiguration.conf',
    },
    { name: 'pod-info', mountPath: '/etc/pod-info/' },
  ];
  if (rabbitmq.envConfig) {
    mounts.push({
      name: 'server-conf',
      mountPath: '/etc/rabbitmq/rabbitmq-env.conf',
      subPath: 'rabbitmq-env.conf',
    });
  }
  if (rabbitmq.advancedConfig) {
    mounts.push({
      name: 'server-conf',
      mountPath: '/etc/rabbitmq/advanced.config',
      subPath: 'advanced.config',
    });
  }
  if (rabbitmq.erlangInetConfig) {
    mounts.push({ name: 'server-conf', mountPath: '/etc/rabbitmq/erl_inetrc', subPath: 'erl_inetrc' });
  }
  if (tls) mounts.push({ name: 'rabbitmq-tls', mountPath: `${tlsDirectory}/`, readOnly: true });
  return mounts;
}

/** Restricted Pod Security Standard for every container. */
const restrictedContainer = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  runAsNonRoot: true,
} satisfies V1SecurityContext;

function setupContainer(cluster: RabbitmqCluster, image: string): V1Container {
  const delay = cluster.spec.delayStartSeconds;
  const script = [
    'cp /tmp/erlang-cookie-secret/.erlang.cookie /var/lib/rabbitmq/.erlang.cookie',
    'chmod 600 /var/lib/rabbitmq/.erlang.cookie',
    'cp /tmp/rabbitmq-plugins/enabled_plugins /operator/enabled_plugins',
    // rabbitmqadmin inside the pod uses the default user.
    "{ echo '[default]'; sed -e 's/default_user/username/' -e 's/default_pass/password/' /tmp/default_user.conf; } > /var/lib/rabbitmq/.rabbitmqadmin.conf",
    'chmod 600 /var/lib/rabbitmq/.rabbitmqadmin.conf',
    // Give DNS time to publish this pod's address before the node looks for its peers (kubernetes#92559).
    `sleep ${delay}`,
  ].join(' && ');
  return {
    name: 'setup-container',
    image,
    command: ['sh', '-c', script],
    resources: { requests: { cpu: '20m', memory: '64Mi' }, limits: { cpu: '100m', memory: '128Mi' } },
    securityContext: { ...restrictedContainer, readOnlyRootFilesystem: true },
    volumeMounts: [
      { name: 'plugins-conf', mountPath: '/tmp/rabbitmq-plugins/' },
      { name: 'rabbitmq-erlang-cookie', mountPath: dataDirectory },
      { name: 'erlang-cookie-secret', mountPath: '/tmp/erlang-cookie-secret/' },
      { name: 'rabbitmq-plugins', mountPath: '/operator' },
      { name: childNames(cluster).persistenceVolume, mountPath: mnesiaDirectory },
      { name: 'rabbitmq-confd', mountPath: '/tmp/default_user.conf', subPath: 'default_user.conf' },
    ],
  };
}

function environment(cluster: RabbitmqCluster): V1EnvVar[] {
  return [
    { name: 'MY_POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
    {
      name: 'MY_POD_NAMESPACE',
      valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } },
    },
    { name: 'K8S_SERVICE_NAME', value: childNames(cluster).headlessService },
    { name: 'RABBITMQ_ENABLED_PLUGINS_FILE', value: '/operator/enabled_plugins' },
    { name: 'RABBITMQ_USE_LONGNAME', value: 'true' },
    { name: 'RABBITMQ_NODENAME', value: 'rabbit@$(MY_POD_NAME).$(K8S_SERVICE_NAME).$(MY_POD_NAMESPACE)' },
    { name: 'K8S_HOSTNAME_SUFFIX', value: '.$(K8S_SERVICE_NAME).$(MY_POD_NAMESPACE)' },
  ];
}

function probes(tls: TlsMount | undefined): { readinessProbe: V1Probe; startupProbe: V1Probe } {
  const tlsOnly = Boolean(tls?.disableNonTLSListeners);
  return {
    // A TCP check: a CLI readiness probe once left pods stuck in Terminating (CO#409).
    readinessProbe: {
      tcpSocket: { port: tlsOnly ? corePorts.amqps.name : corePorts.amqp.name },
      initialDelaySeconds: 10,
      timeoutSeconds: 5,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    },
    // The management listener is the last to start when a node boots, and its root page needs no
    // credentials, so this works on 3.13 and 4.x alike (upstream's health-check path exists only on
    // 4.2.4+, CO#2254, and the other health checks require authentication, which a probe cannot
    // carry without putting a password into the pod spec).
    startupProbe: {
      httpGet: {
        path: '/',
        port: tlsOnly ? corePorts.managementTls.name : corePorts.management.name,
        scheme: tlsOnly ? 'HTTPS' : 'HTTP',
      },
      initialDelaySeconds: 10,
      timeoutSeconds: 5,
      periodSeconds: 10,
      failureThreshold: 30,
    },
  };
}

/**
 * Before a node stops: wait until every quorum queue keeps its quorum without it, then hand its
 * leaderships and clients over (maintenance mode). Both waits are bounded. The quorum wait is skipped
 * for clusters of fewer than three nodes, where it can never succeed (CO#622, CO#1725); the cluster size
 * is read from DNS at that moment, so the script does not change (nor roll the pods) when the cluster scales.
 */
export function preStopScript(terminationGracePeriodSeconds: number): string {
  const budget = Math.max(0, Math.min(terminationGracePeriodSeconds - 30, maxPreStopWaitSeconds));
  return [
    'if [ -n "$(cat /etc/pod-info/skipPreStopChecks 2>/dev/null)" ]; then exit 0; fi',
    `budget=${budget}`,
    'if [ "$budget" -le 0 ]; then exit 0; fi',
    'nodes=$(getent ahosts "$K8S_SERVICE_NAME" | awk \'{print $1}\' | sort -u | wc -l)',
    'if [ "$nodes" -ge 3 ]; then rabbitmq-upgrade await_online_quorum_plus_one -t "$budget" || true; fi',
    'if [ "$nodes" -ge 2 ]; then rabbitmq-upgrade drain -t 60 || true; fi',
  ].join('\n');
}

function brokerContainer(cluster: RabbitmqCluster, image: string, tls: TlsMount | undefined): V1Container {
  const grace = cluster.spec.terminationGracePeriodSeconds;
  return {
    name: 'rabbitmq',
    image,
    env: environment(cluster),
    ports: [
      { name: 'epmd', containerPort: 4369, protocol: 'TCP' },
      ...clientPorts(cluster, tls).map((port) => ({
        name: port.name,
        containerPort: port.port,
        protocol: 'TCP',
      })),
    ],
    resources: brokerResources(cluster),
    ...probes(tls),
    lifecycle: { preStop: { exec: { command: ['/bin/bash', '-c', preStopScript(grace)] } } },
    // The root filesystem stays writable: the image writes below /etc/rabbitmq and /tmp (CO#2008).
    securityContext: restrictedContainer,
    volumeMounts: brokerMounts(cluster, tls),
  };
}

function defaultAffinity(cluster: RabbitmqCluster): V1Affinity {
  // Preferred, not required: a cluster of more nodes than the Kubernetes cluster has still schedules.
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: {
            labelSelector: { matchLabels: selectorLabels(cluster) },
            topologyKey: 'kubernetes.io/hostname',
          },
        },
      ],
    },
  };
}

function defaultTopologySpread(cluster: RabbitmqCluster): V1TopologySpreadConstraint[] {
  const annotations = cluster.metadata.annotations ?? {};
  if (disableDefaultTopologySpreadAnnotations.some((key) => annotations[key] === 'true')) return [];
  return [
    {
      maxSkew: 1,
      topologyKey: 'topology.kubernetes.io/zone',
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: { matchLabels: selectorLabels(cluster) },
    },
  ];
}

function podSpec(cluster: RabbitmqCluster, inputs: StatefulSetInputs): V1PodSpec {
  const image = cluster.spec.image ?? inputs.defaultImage;
  const spread = defaultTopologySpread(cluster);
  return {
    serviceAccountName: childNames(cluster).serviceAccount,
    automountServiceAccountToken: true,
    ...(cluster.spec.imagePullSecrets?.length ? { imagePullSecrets: cluster.spec.imagePullSecrets } : {}),
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 999,
      runAsGroup: 999,
      fsGroup: 999,
      // Large volumes are not walked on every start.
      fsGroupChangePolicy: 'OnRootMismatch',
      seccompProfile: { type: 'RuntimeDefault' },
    },
    terminationGracePeriodSeconds: cluster.spec.terminationGracePeriodSeconds,
    affinity: cluster.spec.affinity ?? defaultAffinity(cluster),
    ...(spread.length > 0 ? { topologySpreadConstraints: spread } : {}),
    ...(cluster.spec.tolerations?.length ? { tolerations: cluster.spec.tolerations } : {}),
    initContainers: [setupContainer(cluster, image)],
    containers: [brokerContainer(cluster, image, inputs.tls)],
    volumes: volumes(cluster, inputs.tls),
  };
}

export function statefulSet(cluster: RabbitmqCluster, inputs: StatefulSetInputs): V1StatefulSet {
  const names = childNames(cluster);
  const persistent = usesPersistentVolumes(cluster);
  const built: V1StatefulSet = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: childMeta(cluster, names.statefulSet),
    spec: {
      replicas: cluster.spec.replicas,
      selector: { matchLabels: selectorLabels(cluster) },
      serviceName: names.headlessService,
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      // Warren keeps the data when the cluster is deleted unless persistence asks otherwise (upstream deletes it).
      persistentVolumeClaimRetentionPolicy: {
        ...cluster.spec.persistence.persistentVolumeClaimRetentionPolicy,
      },
      ...(persistent
        ? { volumeClaimTemplates: inputs.existingClaimTemplates ?? [claimTemplate(cluster)] }
        : {}),
      template: {
        // Only the standard labels: the cluster's own labels changing must not restart the brokers.
        metadata: {
          labels: {
            ...selectorLabels(cluster),
            'app.kubernetes.io/component': 'rabbitmq',
            'app.kubernetes.io/part-of': 'rabbitmq',
          },
          annotations: { [configHashAnnotation]: inputs.configHash },
        },
        spec: podSpec(cluster, inputs),
      },
    },
  };
  return strategicMerge(built, cluster.spec.override?.statefulSet);
}
