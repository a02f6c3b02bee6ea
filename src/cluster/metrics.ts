// The certificate expiry gauge of RabbitmqCluster TLS. The reconciler replaces a cluster's series after each TLS plan
// it acts on and removes them when the cluster goes, so a dashboard never shows a certificate no pod serves any more.
import { Gauge, type Registry } from 'prom-client';
import {
  certificateExpiryMetricName,
  certificateRoles,
  type CertificateExpiryLabels,
  type CertificateExpirySample,
} from './tls.ts';

type LabelName = keyof CertificateExpiryLabels;

export interface CertificateExpiryMetrics {
  /** Makes the cluster's series exactly `samples` (all of one cluster): present roles set, absent ones removed. */
  record(cluster: { namespace: string; name: string }, samples: CertificateExpirySample[]): void;
  /** Removes every series of the cluster. */
  forget(cluster: { namespace: string; name: string }): void;
}

/** Registers (or finds, when called twice with one registry) the gauge. */
export function certificateExpiryMetrics(registry: Registry): CertificateExpiryMetrics {
  const gauge =
    (registry.getSingleMetric(certificateExpiryMetricName) as Gauge<LabelName> | undefined) ??
    new Gauge({
      name: certificateExpiryMetricName,
      help:
        'When a certificate served by a RabbitmqCluster expires, in Unix seconds, by role: server, ca and previous-ca ' +
        '(Warren-issued), client-ca (spec.tls.caSecretName).',
      labelNames: ['namespace', 'rabbitmqcluster', 'certificate'] as const,
      registers: [registry],
    });
  // The roles are a closed set, so removing the absent ones needs no memory of what was set before.
  const record = (cluster: { namespace: string; name: string }, samples: CertificateExpirySample[]) => {
    for (const certificate of certificateRoles) {
      const labels = { namespace: cluster.namespace, rabbitmqcluster: cluster.name, certificate };
      const sample = samples.find((s) => s.labels.certificate === certificate);
      if (sample) gauge.set(labels, sample.value);
      else gauge.remove(labels);
    }
  };
  return { record, forget: (cluster) => record(cluster, []) };
}
