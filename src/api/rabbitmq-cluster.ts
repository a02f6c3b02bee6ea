import { z } from 'zod';
import {
  conditions,
  count,
  freeForm,
  goDurationPattern,
  immutableRule,
  localObjectReference,
  quantity,
  withRules,
} from './common.ts';
import { ageColumn } from './columns.ts';
import { parseGoDuration } from './duration.ts';
import { defineResource, parseResource, type ObjectOf } from './resource.ts';

const stringMap = (description: string) => z.record(z.string(), z.string()).optional().describe(description);

const retentionAction = z.enum(['Retain', 'Delete']);

const persistentVolumeClaimRetentionPolicy = z
  .object({
    whenDeleted: retentionAction
      .default('Retain')
      .describe(
        'What happens to the volumes when the RabbitmqCluster is deleted: Retain (default) keeps them, so a ' +
          'cluster created again under the same name gets its data back; Delete removes them.',
      ),
    whenScaled: retentionAction
      .default('Retain')
      .describe('What happens to the volume of a node removed by scaling down: Retain (default) or Delete.'),
  })
  .prefault({})
  .describe(
    'Whether the PersistentVolumeClaims of the nodes outlive the cluster, in the shape of the StatefulSet field of ' +
      'the same name. Defaults to Retain for both: deleting a RabbitmqCluster never deletes message data unless ' +
      'asked to. (Upstream deletes the volumes with the cluster.)',
  );

const storageRules = [
  {
    ...immutableRule<unknown>(
      'persistence.storage cannot shrink: volumes cannot be made smaller. Keep the current size, or create a new ' +
        'cluster and move the data.',
    ),
    rule: '!quantity(string(self)).isLessThan(quantity(string(oldSelf)))',
  },
  {
    ...immutableRule<unknown>(
      'persistence.storage cannot change from 0 (no volume, data in an emptyDir) to a size: the nodes have no ' +
        'volume to grow. Create a new cluster with persistence.',
    ),
    rule: "quantity(string(oldSelf)).isGreaterThan(quantity('0')) || !quantity(string(self)).isGreaterThan(quantity('0'))",
  },
];

const persistence = z
  .object({
    storageClassName: z
      .string()
      .min(1)
      .max(253)
      .optional()
      .describe(
        'StorageClass of the volumes. Unset: the default StorageClass. Applies to volumes created after a change; ' +
          'existing volumes keep their class.',
      ),
    storage: withRules(quantity().default('10Gi'), storageRules).describe(
      'Size of the volume of each node. Defaults to 10Gi. Can grow (when the StorageClass allows expansion) but ' +
        'not shrink. 0 means no volume: data lives in an emptyDir and is lost when a pod goes.',
    ),
    emptyDir: z
      .object({
        medium: z.enum(['', 'Memory']).optional().describe('"" (node disk, default) or Memory (tmpfs).'),
        sizeLimit: quantity().optional().describe('Size limit of the emptyDir.'),
      })
      .optional()
      .describe('The emptyDir used when storage is 0, as the Kubernetes EmptyDirVolumeSource.'),
    persistentVolumeClaimRetentionPolicy,
  })
  .prefault({})
  .describe('Storage of the nodes. Defaults to a 10Gi volume per node.');

const resourceList = (description: string) =>
  z.record(z.string(), quantity()).optional().describe(description);

const resources = z
  .object({
    limits: resourceList('Maximum resources (cpu, memory, ...) of the rabbitmq container.'),
    requests: resourceList('Resources (cpu, memory, ...) the scheduler reserves for the rabbitmq container.'),
    claims: z
      .array(
        z.object({
          name: z.string().min(1).describe('Name of an entry in the pod resourceClaims.'),
          request: z.string().optional().describe('Name of a request in the claim.'),
        }),
      )
      .optional()
      .describe('Dynamic resource claims, as the Kubernetes ResourceRequirements.claims.'),
  })
  .default(() => ({ limits: { cpu: '2000m', memory: '2Gi' }, requests: { cpu: '1000m', memory: '2Gi' } }))
  .describe(
    'Compute resources of the rabbitmq container, as the Kubernetes ResourceRequirements. Defaults to ' +
      'requests cpu 1000m, memory 2Gi and limits cpu 2000m, memory 2Gi; an explicit {} sets none. Keep the memory ' +
      'request equal to the limit: RabbitMQ sizes its memory watermark from the limit.',
  );

const rabbitmqConfig = z
  .object({
    additionalPlugins: z
      .array(z.string().max(100).regex(/^\w+$/, 'must be a plugin name such as rabbitmq_shovel'))
      .max(100)
      .optional()
      .describe(
        'Plugins to enable in addition to rabbitmq_peer_discovery_k8s, rabbitmq_prometheus and ' +
          'rabbitmq_management. Changes apply without a restart.',
      ),
    additionalConfig: z
      .string()
      .max(100000)
      .optional()
      .describe('rabbitmq.conf settings (sysctl format) appended after the operator defaults, so they win.'),
    advancedConfig: z.string().max(100000).optional().describe('advanced.config, in Erlang terms.'),
    envConfig: withRules(z.string().max(100000), [
      {
        rule: "!self.contains('$(') && !self.contains('`')",
        message:
          'envConfig cannot contain "$(" or backticks: command substitution is not allowed in rabbitmq-env.conf',
        check: (text) => !text.includes('$(') && !text.includes('`'),
      },
    ])
      .optional()
      .describe('rabbitmq-env.conf. Command substitution ("$(" and backticks) is rejected.'),
    erlangInetConfig: z.string().max(2000).optional().describe('erl_inetrc, the Erlang inet configuration.'),
  })
  .optional()
  .describe('RabbitMQ configuration. Changes to configuration files roll the nodes one at a time.');

const goDuration = (fallback: string, description: string) =>
  z
    .string()
    .regex(goDurationPattern, 'must be a duration such as 8760h or 720h0m0s')
    .default(fallback)
    .describe(description);

const managedTls = withRules(
  z.object({
    duration: goDuration(
      '8760h',
      'Validity of each server certificate, as a duration such as 8760h (the default).',
    ),
    renewBefore: goDuration(
      '720h',
      'How long before expiry a certificate is renewed, as a duration such as 720h (the default).',
    ),
  }),
  [
    {
      rule: 'duration(self.renewBefore) < duration(self.duration)',
      message: 'tls.managed.renewBefore must be shorter than tls.managed.duration',
      fieldPath: '.renewBefore',
      check: (managed) =>
        (parseGoDuration(managed.renewBefore) ?? Infinity) < (parseGoDuration(managed.duration) ?? -Infinity),
    },
  ],
).describe(
  'TLS with certificates Warren issues and renews from its own CA for this cluster, with no cert-manager needed. ' +
    'Exclusive with secretName and caSecretName. A Warren extension.',
);

const tls = withRules(
  z.object({
    secretName: z
      .string()
      .min(1)
      .max(253)
      .optional()
      .describe('A Secret of type kubernetes.io/tls (keys tls.crt and tls.key) with the server certificate.'),
    caSecretName: z
      .string()
      .min(1)
      .max(253)
      .optional()
      .describe(
        'A Secret with the key ca.crt. Turns on mutual TLS: clients must present a certificate signed by this CA. ' +
          'May be the same Secret as secretName.',
      ),
    disableNonTLSListeners: z
      .boolean()
      .default(false)
      .describe('Whether to turn off the plain AMQP, management and Prometheus listeners. Needs TLS.'),
    managed: managedTls.optional(),
  }),
  [
    {
      rule: '!has(self.managed) || (!has(self.secretName) && !has(self.caSecretName))',
      message:
        'tls.managed cannot be combined with tls.secretName or tls.caSecretName: choose one source of certificates',
      check: (t) => t.managed === undefined || (t.secretName === undefined && t.caSecretName === undefined),
    },
    {
      rule: '!self.disableNonTLSListeners || has(self.secretName) || has(self.managed)',
      message: 'tls.disableNonTLSListeners needs TLS: set tls.secretName or tls.managed',
      fieldPath: '.disableNonTLSListeners',
      check: (t) => !t.disableNonTLSListeners || t.secretName !== undefined || t.managed !== undefined,
    },
  ],
)
  .optional()
  .describe(
    'TLS for client, management and Prometheus listeners: bring a certificate Secret, or let Warren manage one.',
  );

const embedded = (kubernetesType: string, description: string) =>
  freeForm()
    .optional()
    .describe(
      `${description} Follows the Kubernetes ${kubernetesType} type; it is not validated field by field here.`,
    );

const service = z
  .object({
    type: z
      .enum(['ClusterIP', 'LoadBalancer', 'NodePort'])
      .default('ClusterIP')
      .describe('Type of the client Service: ClusterIP (default), LoadBalancer or NodePort.'),
    annotations: stringMap('Annotations of the client Service, for example for a cloud load balancer.'),
    labels: stringMap('Labels of the client Service; they cannot replace the labels Warren sets.'),
    ipFamilyPolicy: z
      .enum(['SingleStack', 'PreferDualStack', 'RequireDualStack'])
      .optional()
      .describe('IP family policy of both Services.'),
  })
  .prefault({})
  .describe('The client Service, named after the cluster.');

const vault = z
  .object({
    role: z.string().optional().describe('Vault role the nodes authenticate as.'),
    annotations: stringMap('Annotations added to the pods for the Vault Agent injector.'),
    defaultUserPath: z.string().optional().describe('Vault path of the default user credentials.'),
    defaultUserUpdaterImage: z
      .string()
      .optional()
      .describe('Image of the sidecar that updates the default user when Vault rotates it.'),
    tls: z
      .object({
        pkiIssuerPath: z.string().optional().describe('Vault PKI path that issues the server certificate.'),
        commonName: z.string().optional().describe('Common name of the server certificate.'),
        altNames: z.string().optional().describe('Comma-separated DNS subject alternative names.'),
        ipSans: z.string().optional().describe('Comma-separated IP subject alternative names.'),
        pkiRootPath: z.string().optional().describe('Vault path of the CA certificate.'),
      })
      .optional()
      .describe('Server certificates from Vault PKI.'),
  })
  .optional()
  .describe('Keep the default user (and optionally the server certificate) in HashiCorp Vault.');

export const rabbitmqClusterSpecSchema = z
  .object({
    replicas: count()
      .default(1)
      .describe(
        'Number of RabbitMQ nodes. Defaults to 1. Use an odd number (1, 3, 5) so quorum queues keep a majority ' +
          'through the loss of a node. 0 stops every node and keeps the data.',
      ),
    image: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Container image of the RabbitMQ nodes. Unset: the default image configured in the operator.',
      ),
    imagePullSecrets: z
      .array(localObjectReference)
      .optional()
      .describe('Secrets used to pull the image, as the pod field of the same name.'),
    service,
    persistence,
    resources,
    affinity: embedded('Affinity', 'Pod scheduling affinity of the nodes.'),
    tolerations: z
      .array(freeForm())
      .optional()
      .describe('Tolerations of the node pods. Each item follows the Kubernetes Toleration type.'),
    rabbitmq: rabbitmqConfig,
    tls,
    override: z
      .object({
        statefulSet: embedded(
          'StatefulSet',
          'Merged (strategic merge) over the StatefulSet Warren generates: metadata and spec, with containers ' +
            'matched by name (the broker container is named rabbitmq).',
        ),
        service: embedded('Service', 'Merged (strategic merge) over the client Service Warren generates.'),
      })
      .optional()
      .describe('Escape hatch: changes merged over the objects Warren generates. Prefer the typed fields.'),
    // Upstream runs these steps inside a pod (rabbitmq-queues rebalance all, rabbitmqctl enable_feature_flag all)
    // after a rolling update. Warren runs neither yet, so it says so at admission instead of accepting a field
    // that would do nothing. skipPostDeploySteps is checked by CEL only: a cluster stored with the old default
    // (false) stays readable, and CRD validation ratcheting lets it be updated while this field is left alone.
    skipPostDeploySteps: withRules(z.boolean(), [
      {
        rule: 'self',
        message:
          'skipPostDeploySteps: false is not supported: Warren does not rebalance queue leaders after a rolling ' +
          'update. Leave the field out (or set true) and run "rabbitmq-queues rebalance all" in a broker pod when needed.',
      },
    ])
      .default(true)
      .describe(
        'Warren runs no post-deploy steps: queue leaders are not rebalanced after a rolling update (run ' +
          '"rabbitmq-queues rebalance all" yourself). Only true (the default) is accepted.',
      ),
    autoEnableAllFeatureFlags: withRules(z.boolean(), [
      {
        rule: '!self',
        message:
          'autoEnableAllFeatureFlags: true is not supported: Warren does not enable feature flags. After every ' +
          'node runs the new version, run "rabbitmqctl enable_feature_flag all" in a broker pod.',
        check: (enabled) => !enabled,
      },
    ])
      .default(false)
      .describe(
        'Warren does not enable feature flags after an upgrade: run "rabbitmqctl enable_feature_flag all" once ' +
          'every node runs the new version. Only false (the default) is accepted.',
      ),
    terminationGracePeriodSeconds: z
      .int()
      .min(0)
      .max(Number.MAX_SAFE_INTEGER)
      .default(604800)
      .describe(
        'How long a node may take to stop, in seconds; it bounds the wait for quorum queues to stay available ' +
          'before a node goes. Defaults to 604800 (7 days), as upstream.',
      ),
    delayStartSeconds: count()
      .default(30)
      .describe(
        'Seconds a node waits before starting RabbitMQ, so DNS publishes its address first. Defaults to 30.',
      ),
    secretBackend: z
      .object({
        vault,
        externalSecret: localObjectReference
          .optional()
          .describe(
            'A Secret (key default_user.conf) holding the default user, managed outside Warren; no ' +
              '<name>-default-user Secret is generated.',
          ),
      })
      .optional()
      .describe('Where the default user credentials come from when not from a Secret Warren generates.'),
  })
  .prefault({})
  .describe(
    'Desired state of a RabbitMQ cluster. Every field is optional: an empty spec is a one-node cluster.',
  );

const namespacedName = {
  name: z.string().describe('Name of the object.'),
  namespace: z.string().describe('Namespace of the object.'),
};

export const rabbitmqClusterStatusSchema = z
  .object({
    observedGeneration: z
      .int()
      .min(0)
      .optional()
      .describe('The metadata.generation the status describes: the spec last reconciled.'),
    conditions: conditions
      .optional()
      .describe('AllReplicasReady, ClusterAvailable, NoWarnings and ReconcileSuccess.'),
    replicas: z.int().min(0).optional().describe('Number of nodes that exist.'),
    readyReplicas: z.int().min(0).optional().describe('Number of nodes that are ready.'),
    defaultUser: z
      .object({
        secretReference: z
          .object({
            ...namespacedName,
            keys: z
              .record(z.string(), z.string())
              .optional()
              .describe('Keys of the Secret: username and password.'),
          })
          .optional()
          .describe('The Secret with the default user credentials.'),
        serviceReference: z.object(namespacedName).optional().describe('The client Service.'),
      })
      .optional()
      .describe('Where clients and the topology controllers find the default user and the Service.'),
    binding: localObjectReference
      .optional()
      .describe('The Secret for Service Binding (servicebinding.io provisioned service).'),
  })
  .describe('Observed state, written by Warren.');

export type RabbitmqClusterSpec = z.output<typeof rabbitmqClusterSpecSchema>;
export type RabbitmqClusterStatus = z.output<typeof rabbitmqClusterStatusSchema>;

const conditionColumn = (type: string, description: string) => ({
  name: type,
  type: 'string' as const,
  jsonPath: `.status.conditions[?(@.type=="${type}")].status`,
  description,
});

export const rabbitmqClusterResource = defineResource({
  kind: 'RabbitmqCluster',
  plural: 'rabbitmqclusters',
  singular: 'rabbitmqcluster',
  shortNames: ['rmq'],
  description:
    'A RabbitMQ cluster: a StatefulSet of broker nodes with their Services, configuration and credentials.',
  specSchema: rabbitmqClusterSpecSchema,
  statusSchema: rabbitmqClusterStatusSchema,
  printerColumns: [
    { name: 'Desired', type: 'integer', jsonPath: '.spec.replicas', description: 'Desired number of nodes.' },
    {
      name: 'Ready',
      type: 'integer',
      jsonPath: '.status.readyReplicas',
      description: 'Number of ready nodes.',
    },
    conditionColumn('AllReplicasReady', 'Whether every node is ready.'),
    conditionColumn('ReconcileSuccess', 'Whether the last reconcile succeeded.'),
    {
      name: 'Reason',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="ReconcileSuccess")].reason',
      description: 'Why the last reconcile succeeded or not.',
      priority: 1,
    },
    ageColumn,
  ],
});

export type RabbitmqCluster = ObjectOf<typeof rabbitmqClusterResource>;

export function parseRabbitmqCluster(raw: unknown) {
  return parseResource(rabbitmqClusterResource, raw);
}
