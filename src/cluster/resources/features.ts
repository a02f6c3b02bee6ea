// What a cluster runs: its plugins, its TLS mount and the ports that follow from both.
// Services, the StatefulSet, the config and the default-user Secret all read ports from here.
import type { RabbitmqCluster } from '../types.ts';

export const requiredPlugins = ['rabbitmq_peer_discovery_k8s', 'rabbitmq_prometheus', 'rabbitmq_management'];

/** Required plugins first, then the additional ones, de-duplicated with the order kept. */
export function enabledPlugins(cluster: RabbitmqCluster): string[] {
  return [...new Set([...requiredPlugins, ...(cluster.spec.rabbitmq?.additionalPlugins ?? [])])];
}

/**
 * The TLS material the pods mount. Bring-your-own TLS comes straight from the spec; Warren-issued TLS
 * is described by the reconciler from the TLS plan (same shape, Warren's Secret names).
 */
export interface TlsMount {
  /** Secret with `tls.crt` and `tls.key`. */
  secretName: string;
  /** Secret with `ca.crt`, mounted for the broker to present the chain and for clients to verify. */
  caSecretName?: string;
  /** Verify client certificates against the CA (mutual TLS), as upstream does for `caSecretName`. */
  verifyPeer: boolean;
  disableNonTLSListeners: boolean;
}

/** The bring-your-own TLS mount described by `spec.tls`, or undefined when the spec names no Secret. */
export function tlsMountFromSpec(cluster: RabbitmqCluster): TlsMount | undefined {
  const tls = cluster.spec.tls;
  if (!tls?.secretName) return undefined;
  return {
    secretName: tls.secretName,
    ...(tls.caSecretName ? { caSecretName: tls.caSecretName } : {}),
    verifyPeer: Boolean(tls.caSecretName),
    disableNonTLSListeners: tls.disableNonTLSListeners,
  };
}

export interface PortSpec {
  name: string;
  port: number;
  appProtocol: string;
}

interface PluginPorts {
  plugins: string[];
  plain: PortSpec;
  tls: PortSpec;
  /** Key in the default-user Secret, as the upstream operator writes it. */
  secretKey: string;
}

const pluginPorts: PluginPorts[] = [
  {
    plugins: ['rabbitmq_mqtt'],
    plain: { name: 'mqtt', port: 1883, appProtocol: 'mqtt' },
    tls: { name: 'mqtts', port: 8883, appProtocol: 'mqtts' },
    secretKey: 'mqtt-port',
  },
  {
    plugins: ['rabbitmq_web_mqtt'],
    plain: { name: 'web-mqtt', port: 15675, appProtocol: 'http' },
    tls: { name: 'web-mqtt-tls', port: 15676, appProtocol: 'https' },
    secretKey: 'web-mqtt-port',
  },
  {
    plugins: ['rabbitmq_stomp'],
    plain: { name: 'stomp', port: 61613, appProtocol: 'stomp.github.io/stomp' },
    tls: { name: 'stomps', port: 61614, appProtocol: 'stomp.github.io/stomp-tls' },
    secretKey: 'stomp-port',
  },
  {
    plugins: ['rabbitmq_web_stomp'],
    plain: { name: 'web-stomp', port: 15674, appProtocol: 'http' },
    tls: { name: 'web-stomp-tls', port: 15673, appProtocol: 'https' },
    secretKey: 'web-stomp-port',
  },
  {
    plugins: ['rabbitmq_stream', 'rabbitmq_stream_management', 'rabbitmq_multi_dc_replication'],
    plain: { name: 'stream', port: 5552, appProtocol: 'rabbitmq.com/stream' },
    tls: { name: 'streams', port: 5551, appProtocol: 'rabbitmq.com/stream-tls' },
    secretKey: 'stream-port',
  },
];

export const corePorts = {
  amqp: { name: 'amqp', port: 5672, appProtocol: 'amqp' },
  management: { name: 'management', port: 15672, appProtocol: 'http' },
  prometheus: { name: 'prometheus', port: 15692, appProtocol: 'prometheus.io/metrics' },
  amqps: { name: 'amqps', port: 5671, appProtocol: 'amqps' },
  managementTls: { name: 'management-tls', port: 15671, appProtocol: 'https' },
  prometheusTls: { name: 'prometheus-tls', port: 15691, appProtocol: 'prometheus.io/metric-tls' },
} as const satisfies Record<string, PortSpec>;

function enabledPluginPorts(cluster: RabbitmqCluster): PluginPorts[] {
  const plugins = new Set(enabledPlugins(cluster));
  return pluginPorts.filter((entry) => entry.plugins.some((plugin) => plugins.has(plugin)));
}

/** The client-facing ports: what the client Service exposes and the broker container declares. */
export function clientPorts(cluster: RabbitmqCluster, tls: TlsMount | undefined): PortSpec[] {
  const plain = !tls?.disableNonTLSListeners;
  const ports: PortSpec[] = [];
  if (plain) ports.push(corePorts.amqp, corePorts.management);
  if (tls) ports.push(corePorts.amqps, corePorts.managementTls, corePorts.prometheusTls);
  // Without TLS the metrics are served in plain; with TLS only over TLS, as upstream does.
  else ports.push(corePorts.prometheus);
  for (const entry of enabledPluginPorts(cluster)) {
    if (plain) ports.push(entry.plain);
    if (tls) ports.push(entry.tls);
  }
  return ports;
}

/** Per-plugin port entries of the default-user Secret (the TLS port when TLS is on). */
export function pluginSecretPorts(
  cluster: RabbitmqCluster,
  tls: TlsMount | undefined,
): Record<string, string> {
  return Object.fromEntries(
    enabledPluginPorts(cluster).map((entry) => [
      entry.secretKey,
      String((tls ? entry.tls : entry.plain).port),
    ]),
  );
}
