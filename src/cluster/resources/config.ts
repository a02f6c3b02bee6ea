// The plugins and server ConfigMaps: enabled_plugins, rabbitmq.conf fragments and the optional
// advanced.config, rabbitmq-env.conf and erl_inetrc, plus the hash that rolls the pods when they change.
import { createHash } from 'node:crypto';
import type { V1ConfigMap, V1ResourceRequirements } from '@kubernetes/client-node';
import type { RabbitmqCluster } from '../types.ts';
import { enabledPlugins, type TlsMount } from './features.ts';
import { childMeta, childNames, identity } from './meta.ts';
import { parseQuantity } from './quantity.ts';

export const tlsDirectory = '/etc/rabbitmq-tls';
const defaultDiskFreeLimitBytes = 2_000_000_000;

export function pluginsConfigMap(cluster: RabbitmqCluster): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: childMeta(cluster, childNames(cluster).pluginsConfig),
    data: { enabled_plugins: `[${enabledPlugins(cluster).join(',')}].` },
  };
}

/**
 * The free-disk alarm threshold: upstream's fixed 2GB, but never more than a quarter of the volume,
 * so a small volume does not start life with its disk alarm raised (publishers blocked).
 */
function diskFreeLimit(cluster: RabbitmqCluster): string {
  const persistence = cluster.spec.persistence;
  const size = parseQuantity(persistence.storage);
  const emptyDirSize = parseQuantity(persistence.emptyDir?.sizeLimit ?? '');
  const volume = size === 0 ? emptyDirSize : size;
  if (volume === undefined || volume / 4 >= defaultDiskFreeLimitBytes) return '2GB';
  return String(Math.floor(volume / 4));
}

/** Memory the broker may count on: the limit minus a headroom of 20% (at most 2 GiB), as upstream computes it. */
export function memoryAvailable(cluster: RabbitmqCluster): number | undefined {
  const limit = parseQuantity(brokerResources(cluster).limits?.memory ?? '');
  if (limit === undefined || limit <= 0) return undefined;
  const headroom = Math.min(Math.floor(limit / 5), 2 ** 31);
  return Math.floor(limit) - headroom;
}

function quantities(list: Record<string, string | number> | undefined): Record<string, string> | undefined {
  return list && Object.fromEntries(Object.entries(list).map(([name, value]) => [name, String(value)]));
}

/** The broker container's resources (the schema defaults them; an explicit `{}` means none). */
export function brokerResources(cluster: RabbitmqCluster): V1ResourceRequirements {
  const { limits, requests, claims } = cluster.spec.resources;
  return {
    ...(limits ? { limits: quantities(limits) } : {}),
    ...(requests ? { requests: quantities(requests) } : {}),
    ...(claims ? { claims: claims.map((claim) => ({ ...claim })) } : {}),
  };
}

const sizeHintKey = 'cluster_formation.target_cluster_size_hint';

function operatorDefaults(cluster: RabbitmqCluster): string {
  const setsAuthMechanisms = /^\s*auth_mechanisms/m.test(cluster.spec.rabbitmq?.additionalConfig ?? '');
  const lines = [
    'log.console = true',
    // Balanced leader placement; works for quorum queues and streams on 3.10+ and for all queues on 4.x,
    // unlike upstream's queue_master_locator, which 4.x deprecates.
    'queue_leader_locator = balanced',
    `disk_free_limit.absolute = ${diskFreeLimit(cluster)}`,
    'cluster_partition_handling = pause_minority',
    'cluster_formation.peer_discovery_backend = rabbit_peer_discovery_k8s',
    'cluster_formation.k8s.host = kubernetes.default',
    'cluster_formation.k8s.address_type = hostname',
    `${sizeHintKey} = ${cluster.spec.replicas}`,
    `cluster_name = ${identity(cluster).name}`,
    ...(setsAuthMechanisms ? [] : ['auth_mechanisms.1 = PLAIN', 'auth_mechanisms.2 = AMQPLAIN']),
  ];
  return lines.join('\n') + '\n';
}

function tlsConfig(cluster: RabbitmqCluster, tls: TlsMount): string[] {
  const plugins = new Set(enabledPlugins(cluster));
  const cert = `${tlsDirectory}/tls.crt`;
  const key = `${tlsDirectory}/tls.key`;
  const ca = tls.caSecretName ? `${tlsDirectory}/ca.crt` : undefined;
  const files = (prefix: string) => [
    `${prefix}.certfile = ${cert}`,
    `${prefix}.keyfile = ${key}`,
    ...(ca ? [`${prefix}.cacertfile = ${ca}`] : []),
  ];
  const lines = [...files('ssl_options')];
  if (tls.verifyPeer) lines.push('ssl_options.verify = verify_peer');
  lines.push('listeners.ssl.default = 5671');
  lines.push(...files('management.ssl'), 'management.ssl.port = 15671');
  lines.push(...files('prometheus.ssl'), 'prometheus.ssl.port = 15691');
  if (tls.disableNonTLSListeners) {
    lines.push('listeners.tcp = none');
  } else {
    lines.push('management.tcp.port = 15672', 'prometheus.tcp.port = 15692');
  }
  const plain = !tls.disableNonTLSListeners;
  if (plugins.has('rabbitmq_mqtt') || plugins.has('rabbitmq_web_mqtt')) {
    lines.push('mqtt.listeners.ssl.default = 8883');
    if (!plain) lines.push('mqtt.listeners.tcp = none');
  }
  if (plugins.has('rabbitmq_stomp') || plugins.has('rabbitmq_web_stomp')) {
    lines.push('stomp.listeners.ssl.1 = 61614');
    if (!plain) lines.push('stomp.listeners.tcp = none');
  }
  if (
    ['rabbitmq_stream', 'rabbitmq_stream_management', 'rabbitmq_multi_dc_replication'].some((p) =>
      plugins.has(p),
    )
  ) {
    lines.push('stream.listeners.ssl.default = 5551');
    if (!plain) lines.push('stream.listeners.tcp = none');
  }
  if (plugins.has('rabbitmq_web_mqtt')) {
    lines.push(...files('web_mqtt.ssl'), 'web_mqtt.ssl.port = 15676');
    if (!plain) lines.push('web_mqtt.tcp.listener = none');
  }
  if (plugins.has('rabbitmq_web_stomp')) {
    lines.push(...files('web_stomp.ssl'), 'web_stomp.ssl.port = 15673');
    if (!plain) lines.push('web_stomp.tcp.listener = none');
  }
  return lines;
}

function userDefinedConfiguration(cluster: RabbitmqCluster, tls: TlsMount | undefined): string {
  const lines = tls ? tlsConfig(cluster, tls) : [];
  const memory = memoryAvailable(cluster);
  if (memory !== undefined) lines.push(`total_memory_available_override_value = ${memory}`);
  // The user's own configuration comes last so that its keys win.
  const additional = cluster.spec.rabbitmq?.additionalConfig?.trim();
  if (additional) lines.push(additional);
  return lines.length > 0 ? lines.join('\n') + '\n' : '';
}

export function serverConfigMap(cluster: RabbitmqCluster, tls: TlsMount | undefined): V1ConfigMap {
  const rabbitmq = cluster.spec.rabbitmq ?? {};
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: childMeta(cluster, childNames(cluster).serverConfig),
    data: {
      'operatorDefaults.conf': operatorDefaults(cluster),
      'userDefinedConfiguration.conf': userDefinedConfiguration(cluster, tls),
      ...(rabbitmq.advancedConfig ? { 'advanced.config': rabbitmq.advancedConfig } : {}),
      ...(rabbitmq.envConfig ? { 'rabbitmq-env.conf': rabbitmq.envConfig } : {}),
      ...(rabbitmq.erlangInetConfig ? { erl_inetrc: rabbitmq.erlangInetConfig } : {}),
    },
  };
}

export interface ConfigurationError {
  reason: 'InvalidConfiguration';
  message: string;
}

/**
 * Checks what the API schema cannot: that `additionalConfig` is made of settings. (The schema already rejects
 * command substitution in `envConfig` and disabling plain listeners without TLS.)
 */
export function validateConfiguration(cluster: RabbitmqCluster): ConfigurationError | undefined {
  const lines = (cluster.spec.rabbitmq?.additionalConfig ?? '').split('\n');
  for (const [index, line] of lines.entries()) {
    const text = line.trim();
    if (text === '' || text.startsWith('#')) continue;
    if (!/^[A-Za-z0-9_.$-]+\s*=\s*\S/.test(text)) {
      return {
        reason: 'InvalidConfiguration',
        message: `spec.rabbitmq.additionalConfig line ${index + 1} is not a "key = value" setting: ${JSON.stringify(text.slice(0, 80))}`,
      };
    }
  }
  return undefined;
}

/**
 * A digest of everything a running broker reads only at boot: server configuration, enabled plugins and
 * TLS material. It annotates the pod template, so a change rolls the pods. The cluster-size hint is left
 * out: it only matters when a cluster first forms, and scaling out must not restart anyone.
 */
export function configHash(
  serverConfig: V1ConfigMap,
  pluginsConfig: V1ConfigMap,
  tlsMaterialHash = '',
): string {
  const data = { ...serverConfig.data };
  const defaults = data['operatorDefaults.conf'];
  if (defaults !== undefined) {
    data['operatorDefaults.conf'] = defaults
      .split('\n')
      .filter((line) => !line.startsWith(sizeHintKey))
      .join('\n');
  }
  const input = JSON.stringify([
    Object.entries(data).sort(([a], [b]) => a.localeCompare(b)),
    pluginsConfig.data?.enabled_plugins ?? '',
    tlsMaterialHash,
  ]);
  return createHash('sha256').update(input).digest('hex').slice(0, 32);
}
