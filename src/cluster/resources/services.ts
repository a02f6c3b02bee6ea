// The two Services of a cluster: the headless one that gives every pod a stable DNS name for
// clustering, and the client one applications connect to.
import type { V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { RabbitmqCluster } from '../types.ts';
import { clientPorts, type TlsMount } from './features.ts';
import { strategicMerge } from './merge.ts';
import { childMeta, childNames, selectorLabels } from './meta.ts';

/** `<name>-nodes`: pod DNS `<pod>.<name>-nodes.<ns>` for peer discovery and the Erlang distribution. */
export function headlessService(cluster: RabbitmqCluster): V1Service {
  const ipFamilyPolicy = cluster.spec.service.ipFamilyPolicy;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(cluster, childNames(cluster).headlessService),
    spec: {
      clusterIP: 'None',
      // Nodes must resolve each other before they are ready, or a forming cluster never forms.
      publishNotReadyAddresses: true,
      selector: selectorLabels(cluster),
      ...(ipFamilyPolicy ? { ipFamilyPolicy } : {}),
      ports: [
        { name: 'epmd', port: 4369, protocol: 'TCP', targetPort: 4369 },
        { name: 'cluster-rpc', port: 25672, protocol: 'TCP', targetPort: 25672 },
      ],
    },
  };
}

/** `<name>`: AMQP, management, metrics and plugin ports, by TLS and enabled plugins, with `override.service` on top. */
export function clientService(cluster: RabbitmqCluster, tls: TlsMount | undefined): V1Service {
  const serviceSpec = cluster.spec.service;
  const ports: V1ServicePort[] = clientPorts(cluster, tls).map((port) => ({
    name: port.name,
    port: port.port,
    protocol: 'TCP',
    appProtocol: port.appProtocol,
    targetPort: port.port,
  }));
  const service: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(cluster, childNames(cluster).clientService, {
      labels: serviceSpec.labels ?? {},
      annotations: serviceSpec.annotations ?? {},
    }),
    spec: {
      type: serviceSpec.type,
      selector: selectorLabels(cluster),
      ...(serviceSpec.ipFamilyPolicy ? { ipFamilyPolicy: serviceSpec.ipFamilyPolicy } : {}),
      ports,
    },
  };
  return strategicMerge(service, cluster.spec.override?.service);
}
