// The validation table: manifests the API server must accept, and manifests (or updates) it must reject with a
// message a person can act on. Valid manifests include the official operators' documented examples with only
// apiVersion changed.
import type { KindName } from '../../../src/api/kinds.ts';

type Spec = Record<string, unknown>;

export interface ValidCase {
  name: string;
  kind: KindName;
  /** Absent for a manifest without spec, as the official hello-world cluster. */
  spec?: Spec;
  /** An allowed change, applied after creation. */
  update?: (spec: Spec) => Spec;
}

export interface InvalidCase {
  name: string;
  kind: KindName;
  spec: Spec;
  /** When set, spec is created first and this update must be rejected. */
  update?: (spec: Spec) => Spec;
  /** A fragment of the API server's error message. */
  expect: string;
}

const ref = { rabbitmqClusterReference: { name: 'main' } };
const queue = { name: 'orders', ...ref };
const exchange = { name: 'events', ...ref };
const binding = {
  source: 'events',
  destination: 'orders',
  destinationType: 'queue',
  routingKey: 'a',
  ...ref,
};
const permission = {
  vhost: '/',
  user: 'app',
  permissions: { configure: '', write: '.*', read: '.*' },
  ...ref,
};
const policy = { name: 'limits', pattern: '^orders$', definition: { 'max-length': 1000 }, ...ref };

const set = (path: string, value: unknown) => (spec: Spec) => {
  const copy = structuredClone(spec);
  const keys = path.split('.');
  let node: Record<string, unknown> = copy;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  const last = keys.at(-1)!;
  if (value === undefined) Reflect.deleteProperty(node, last);
  else node[last] = value;
  return copy;
};

export const validCases: ValidCase[] = [
  // The official cluster operator's examples (docs/examples), apiVersion changed.
  { name: 'the hello-world cluster, with no spec at all', kind: 'RabbitmqCluster' },
  {
    name: 'the production-ready cluster example',
    kind: 'RabbitmqCluster',
    spec: {
      replicas: 3,
      resources: { requests: { cpu: 4, memory: '10Gi' }, limits: { cpu: 4, memory: '10Gi' } },
      rabbitmq: {
        additionalConfig:
          'cluster_partition_handling = pause_minority\nvm_memory_high_watermark_paging_ratio = 0.99\n' +
          'disk_free_limit.relative = 1.0\ncollect_statistics_interval = 10000\n',
      },
      persistence: { storageClassName: 'fast', storage: '500Gi' },
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            {
              labelSelector: {
                matchExpressions: [
                  { key: 'app.kubernetes.io/name', operator: 'In', values: ['production-ready'] },
                ],
              },
              topologyKey: 'kubernetes.io/hostname',
            },
          ],
        },
      },
      override: {
        statefulSet: {
          spec: {
            template: {
              spec: {
                containers: [],
                topologySpreadConstraints: [
                  {
                    maxSkew: 1,
                    topologyKey: 'topology.kubernetes.io/zone',
                    whenUnsatisfiable: 'DoNotSchedule',
                    labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'production-ready' } },
                  },
                ],
              },
            },
          },
        },
      },
    },
  },
  {
    name: 'the mutual TLS example',
    kind: 'RabbitmqCluster',
    spec: {
      replicas: 1,
      tls: { secretName: 'tls-secret', caSecretName: 'ca-secret', disableNonTLSListeners: true },
    },
  },
  {
    name: 'the plugins example',
    kind: 'RabbitmqCluster',
    spec: {
      replicas: 1,
      rabbitmq: {
        additionalPlugins: ['rabbitmq_mqtt', 'rabbitmq_stomp', 'rabbitmq_stream', 'rabbitmq_shovel'],
      },
    },
  },
  {
    name: 'the tolerations, LoadBalancer and sidecar override example',
    kind: 'RabbitmqCluster',
    spec: {
      service: {
        type: 'LoadBalancer',
        annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' },
      },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'rabbitmq', effect: 'NoSchedule' }],
      override: {
        statefulSet: {
          spec: {
            template: {
              spec: {
                containers: [{ name: 'rabbitmq', env: [{ name: 'ERL_MAX_PORTS', value: '4096' }] }],
                securityContext: {},
              },
            },
          },
        },
        service: {
          spec: { ports: [{ name: 'additional-port', protocol: 'TCP', port: 12345, targetPort: 12345 }] },
        },
      },
    },
  },
  {
    name: 'the Vault example',
    kind: 'RabbitmqCluster',
    spec: {
      replicas: 1,
      secretBackend: {
        vault: {
          role: 'rabbitmq',
          defaultUserPath: 'secret/data/rabbitmq/config',
          tls: {
            pkiIssuerPath: 'pki/issue/cert-issuer',
            commonName: 'rmq.example',
            altNames: 'a.example,b.example',
          },
        },
      },
    },
  },
  {
    name: 'a cluster with an external default-user Secret and no persistence',
    kind: 'RabbitmqCluster',
    spec: {
      secretBackend: { externalSecret: { name: 'my-secret' } },
      persistence: { storage: 0 },
      resources: {},
    },
  },
  {
    name: 'a cluster with Warren-managed TLS and volumes deleted with it',
    kind: 'RabbitmqCluster',
    spec: {
      replicas: 3,
      tls: { managed: { duration: '2160h', renewBefore: '360h' }, disableNonTLSListeners: true },
      persistence: { persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete' } },
    },
    update: (spec) => ({ ...set('persistence.storage', '20Gi')(spec), replicas: 5 }),
  },
  // The official topology operator's examples (docs/examples), apiVersion changed.
  { name: 'the queue example', kind: 'Queue', spec: { name: 'test', ...ref } },
  {
    name: 'the quorum queue example',
    kind: 'Queue',
    spec: { name: 'qq', type: 'quorum', autoDelete: false, durable: true, ...ref },
  },
  {
    name: 'a classic queue with arguments and upstream deletion flags',
    kind: 'Queue',
    spec: {
      name: 'cq',
      type: 'classic',
      durable: false,
      autoDelete: true,
      arguments: { 'x-max-length': 1000, 'x-overflow': 'reject-publish', 'x-queue-type': 'classic' },
      deleteIfEmpty: true,
      deleteIfUnused: true,
      deletionPolicy: 'retain',
      ...ref,
    },
    update: set('deletionPolicy', 'delete-with-data'),
  },
  {
    name: 'a stream reached through a connection Secret in another namespace',
    kind: 'Queue',
    spec: {
      name: 'events',
      type: 'stream',
      rabbitmqClusterReference: { connectionSecret: { name: 'broker' }, namespace: 'brokers' },
    },
  },
  {
    name: 'the fanout exchange example',
    kind: 'Exchange',
    spec: { name: 'fanout-exchange', type: 'fanout', autoDelete: false, durable: true, ...ref },
    update: set('deletionPolicy', 'retain'),
  },
  {
    name: 'a delayed-message exchange with arguments',
    kind: 'Exchange',
    spec: { name: 'delayed', type: 'x-delayed-message', arguments: { 'x-delayed-type': 'direct' }, ...ref },
  },
  {
    name: 'the binding example',
    kind: 'Binding',
    spec: { source: 'test', destination: 'test', destinationType: 'queue', ...ref },
  },
  {
    name: 'an exchange-to-exchange binding with headers arguments',
    kind: 'Binding',
    spec: {
      source: 'in',
      destination: 'out',
      destinationType: 'exchange',
      arguments: { 'x-match': 'any', region: 'eu' },
      ...ref,
    },
  },
  {
    name: 'the user example with imported credentials',
    kind: 'User',
    spec: {
      tags: ['policymaker', 'monitoring'],
      importCredentialsSecret: { name: 'import-user-sample' },
      ...ref,
    },
    update: set('tags', ['management', 'impersonator']),
  },
  {
    name: 'a user with generated credentials and limits',
    kind: 'User',
    spec: { limits: { connections: 10, channels: 100 }, ...ref },
  },
  {
    name: 'the permission example',
    kind: 'Permission',
    spec: { vhost: '/', user: 'test', permissions: { write: '.*', configure: '.*', read: '.*' }, ...ref },
    update: set('permissions.configure', ''),
  },
  {
    name: 'the topic permission example',
    kind: 'TopicPermission',
    spec: {
      vhost: '/',
      user: 'test',
      permissions: { exchange: 'amq.topic', write: '^a', read: '.*' },
      ...ref,
    },
    update: set('permissions.write', '^b'),
  },
  {
    name: 'the permission example with a userReference',
    kind: 'Permission',
    spec: {
      vhost: 'test-vhost',
      userReference: { name: 'example-user' },
      permissions: { read: '.*' },
      ...ref,
    },
  },
  {
    name: 'the lazy-queue policy example',
    kind: 'Policy',
    spec: {
      name: 'lazy-queue',
      vhost: '/',
      pattern: '^lazy-queue-',
      applyTo: 'queues',
      definition: { 'queue-mode': 'lazy' },
      ...ref,
    },
    update: set('definition', { 'max-length': 10 }),
  },
  {
    name: 'a quorum-queue policy with a priority',
    kind: 'Policy',
    spec: {
      name: 'qq-limits',
      pattern: '.*',
      applyTo: 'quorum_queues',
      priority: 10,
      definition: { 'delivery-limit': 5 },
      ...ref,
    },
  },
  {
    name: 'the super stream example, grown by two partitions',
    kind: 'SuperStream',
    spec: { name: 'super-stream-example', partitions: 3, ...ref },
    update: set('partitions', 5),
  },
  {
    name: 'a super stream with routing keys, one appended',
    kind: 'SuperStream',
    spec: { name: 'orders', vhost: '/', partitions: 3, routingKeys: ['eu', 'us', 'asia'], ...ref },
    update: (spec) => ({ ...spec, partitions: 4, routingKeys: ['eu', 'us', 'asia', 'africa'] }),
  },
  {
    name: 'the operator policy example',
    kind: 'OperatorPolicy',
    spec: {
      name: 'operator-policy-example',
      vhost: '/',
      pattern: '^abc',
      applyTo: 'queues',
      definition: { 'max-length': 1000, 'message-ttl': 60000 },
      ...ref,
    },
    update: set('definition', { 'delivery-limit': 10 }),
  },
  { name: 'the vhost example', kind: 'Vhost', spec: { name: 'test', ...ref } },
  {
    name: 'a vhost with a default queue type, tags and limits',
    kind: 'Vhost',
    spec: {
      name: 'shop',
      defaultQueueType: 'quorum',
      tags: ['team-a', 'prod'],
      tracing: true,
      limits: { connections: 100, queues: 0 },
      deletionPolicy: 'retain',
      ...ref,
    },
    update: set('tags', ['team-b']),
  },
  {
    name: 'the shovel example',
    kind: 'Shovel',
    spec: {
      name: 'shovel-example',
      uriSecret: { name: 'shovel-secret' },
      srcQueue: 'source-queue',
      srcConsumerArgs: { 'x-priority': 10 },
      destQueue: 'destination-queue',
      destPublishProperties: { delivery_mode: 2 },
      ...ref,
    },
    update: set('uriSecret.name', 'rotated-secret'),
  },
  {
    name: 'an AMQP 1.0 shovel from an exchange-bound address',
    kind: 'Shovel',
    spec: {
      name: 'amqp10',
      uriSecret: { name: 'uris' },
      srcProtocol: 'amqp10',
      srcAddress: '/queues/a',
      srcDeleteAfter: 'queue-length',
      destProtocol: 'amqp10',
      destAddress: '/queues/b',
      destApplicationProperties: { origin: 'shovel' },
      destMessageAnnotations: { 'x-opt-origin': 'shovel' },
      ...ref,
    },
  },
  {
    name: 'the federation example',
    kind: 'Federation',
    spec: {
      name: 'origin',
      vhost: 'downstream',
      uriSecret: { name: 'federation-uri' },
      ackMode: 'on-confirm',
      deletionPolicy: 'retain',
      ...ref,
    },
    update: set('prefetch-count', 500),
  },
];

const long = (length: number) => 'x'.repeat(length);

export const invalidCases: InvalidCase[] = [
  // RabbitmqCluster
  {
    name: 'negative replicas',
    kind: 'RabbitmqCluster',
    spec: { replicas: -1 },
    expect: 'greater than or equal to 0',
  },
  {
    name: 'replicas as a word',
    kind: 'RabbitmqCluster',
    spec: { replicas: 'three' },
    expect: 'must be of type integer',
  },
  {
    name: 'an unknown Service type',
    kind: 'RabbitmqCluster',
    spec: { service: { type: 'External' } },
    expect: 'Unsupported value: "External"',
  },
  {
    name: 'storage that is not a quantity',
    kind: 'RabbitmqCluster',
    spec: { persistence: { storage: '10 gigs' } },
    expect: 'spec.persistence.storage in body should match',
  },
  {
    name: 'a memory limit that is not a quantity',
    kind: 'RabbitmqCluster',
    spec: { resources: { limits: { memory: 'lots' } } },
    expect: 'spec.resources.limits.memory in body should match',
  },
  {
    name: 'command substitution in envConfig',
    kind: 'RabbitmqCluster',
    spec: { rabbitmq: { envConfig: 'NODENAME=$(hostname)' } },
    expect: 'command substitution is not allowed',
  },
  {
    name: 'backticks in envConfig',
    kind: 'RabbitmqCluster',
    spec: { rabbitmq: { envConfig: 'NODENAME=`hostname`' } },
    expect: 'command substitution is not allowed',
  },
  {
    // An update: a cluster stored with the former default (false) must keep parsing, so only the API server
    // refuses it (on create as on a change).
    name: 'post-deploy steps asked for, which Warren does not run',
    kind: 'RabbitmqCluster',
    spec: {},
    update: (spec) => ({ ...spec, skipPostDeploySteps: false }),
    expect: 'skipPostDeploySteps: false is not supported: Warren does not rebalance queue leaders',
  },
  {
    name: 'feature flags enabled automatically, which Warren does not do',
    kind: 'RabbitmqCluster',
    spec: { autoEnableAllFeatureFlags: true },
    expect: 'autoEnableAllFeatureFlags: true is not supported: Warren does not enable feature flags',
  },
  {
    name: 'a plugin name with punctuation',
    kind: 'RabbitmqCluster',
    spec: { rabbitmq: { additionalPlugins: ['rabbitmq-shovel!'] } },
    expect: 'spec.rabbitmq.additionalPlugins[0] in body should match',
  },
  {
    name: 'an erl_inetrc longer than 2000 characters',
    kind: 'RabbitmqCluster',
    spec: { rabbitmq: { erlangInetConfig: long(2001) } },
    expect: 'Too long',
  },
  {
    name: 'managed TLS together with a certificate Secret',
    kind: 'RabbitmqCluster',
    spec: { tls: { managed: {}, secretName: 'tls' } },
    expect: 'tls.managed cannot be combined with tls.secretName or tls.caSecretName',
  },
  {
    name: 'managed TLS that renews after expiry',
    kind: 'RabbitmqCluster',
    spec: { tls: { managed: { duration: '720h', renewBefore: '800h' } } },
    expect: 'renewBefore must be shorter than tls.managed.duration',
  },
  {
    name: 'a certificate duration in words',
    kind: 'RabbitmqCluster',
    spec: { tls: { managed: { duration: '1 year' } } },
    expect: 'spec.tls.managed.duration in body should match',
  },
  {
    name: 'non-TLS listeners disabled without TLS',
    kind: 'RabbitmqCluster',
    spec: { tls: { disableNonTLSListeners: true } },
    expect: 'tls.disableNonTLSListeners needs TLS',
  },
  {
    name: 'an unknown volume retention',
    kind: 'RabbitmqCluster',
    spec: { persistence: { persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Keep' } } },
    expect: 'Unsupported value: "Keep"',
  },
  {
    name: 'a negative termination grace period',
    kind: 'RabbitmqCluster',
    spec: { terminationGracePeriodSeconds: -5 },
    expect: 'greater than or equal to 0',
  },
  {
    name: 'shrinking the volumes',
    kind: 'RabbitmqCluster',
    spec: { persistence: { storage: '10Gi' } },
    update: set('persistence.storage', '5Gi'),
    expect: 'persistence.storage cannot shrink',
  },
  {
    name: 'giving volumes to a cluster created without',
    kind: 'RabbitmqCluster',
    spec: { persistence: { storage: 0 } },
    update: set('persistence.storage', '1Gi'),
    expect: 'persistence.storage cannot change from 0',
  },
  // Queue
  {
    name: 'an unknown queue type',
    kind: 'Queue',
    spec: { ...queue, type: 'lazy' },
    expect: 'Unsupported value: "lazy"',
  },
  {
    name: 'a quorum queue that is not durable',
    kind: 'Queue',
    spec: { ...queue, type: 'quorum', durable: false },
    expect: 'quorum queues and streams are always durable',
  },
  {
    name: 'a stream that is not durable',
    kind: 'Queue',
    spec: { ...queue, type: 'stream', durable: false },
    expect: 'quorum queues and streams are always durable',
  },

  {
    name: 'an auto-delete quorum queue',
    kind: 'Queue',
    spec: { ...queue, type: 'quorum', autoDelete: true },
    expect: 'quorum queues and streams cannot be auto-delete',
  },

  {
    name: 'a reserved queue name',
    kind: 'Queue',
    spec: { ...queue, name: 'amq.orders' },
    expect: 'reserved by the broker',
  },
  { name: 'a queue without a name', kind: 'Queue', spec: { ...ref }, expect: 'spec.name: Required value' },
  {
    name: 'a queue name over 255 characters',
    kind: 'Queue',
    spec: { ...queue, name: long(256) },
    expect: 'Too long',
  },
  {
    name: 'an unknown queue deletion policy',
    kind: 'Queue',
    spec: { ...queue, deletionPolicy: 'purge' },
    expect: 'Unsupported value: "purge"',
  },
  {
    name: 'durable as a word',
    kind: 'Queue',
    spec: { ...queue, durable: 'yes' },
    expect: 'must be of type boolean',
  },
  {
    name: 'a cluster reference with both a name and a connection Secret',
    kind: 'Queue',
    spec: {
      name: 'orders',
      rabbitmqClusterReference: { name: 'main', connectionSecret: { name: 'broker' } },
    },
    expect: 'set exactly one of rabbitmqClusterReference.name',
  },
  {
    name: 'a cluster reference with neither a name nor a connection Secret',
    kind: 'Queue',
    spec: { name: 'orders', rabbitmqClusterReference: { namespace: 'brokers' } },
    expect: 'set exactly one of rabbitmqClusterReference.name',
  },
  {
    name: 'a queue without a cluster reference',
    kind: 'Queue',
    spec: { name: 'orders' },
    expect: 'spec.rabbitmqClusterReference: Required value',
  },
  {
    name: 'renaming a queue',
    kind: 'Queue',
    spec: queue,
    update: set('name', 'orders-v2'),
    expect: 'name is immutable',
  },
  {
    name: 'moving a queue to another vhost',
    kind: 'Queue',
    spec: queue,
    update: set('vhost', 'shop'),
    expect: 'vhost is immutable',
  },
  {
    name: 'moving a queue to another cluster',
    kind: 'Queue',
    spec: queue,
    update: set('rabbitmqClusterReference', { name: 'other' }),
    expect: 'rabbitmqClusterReference is immutable',
  },
  {
    name: 'changing the queue type',
    kind: 'Queue',
    spec: { ...queue, type: 'classic' },
    update: set('type', 'quorum'),
    expect: 'type is immutable',
  },
  {
    name: 'removing the queue type',
    kind: 'Queue',
    spec: { ...queue, type: 'quorum' },
    update: set('type', undefined),
    expect: 'type is immutable',
  },
  {
    name: 'making a queue transient',
    kind: 'Queue',
    spec: { ...queue, type: 'classic' },
    update: set('durable', false),
    expect: 'durable is immutable',
  },
  {
    name: 'making a queue auto-delete',
    kind: 'Queue',
    spec: queue,
    update: set('autoDelete', true),
    expect: 'autoDelete is immutable',
  },
  {
    name: 'changing queue arguments',
    kind: 'Queue',
    spec: { ...queue, arguments: { 'x-max-length': 10 } },
    update: set('arguments', { 'x-max-length': 20 }),
    expect: 'arguments are immutable',
  },
  {
    name: 'adding queue arguments',
    kind: 'Queue',
    spec: queue,
    update: set('arguments', { 'x-message-ttl': 60000 }),
    expect: 'arguments are immutable',
  },
  // Exchange
  {
    name: 'a reserved exchange name',
    kind: 'Exchange',
    spec: { ...exchange, name: 'amq.topic' },
    expect: 'reserved by the broker',
  },
  {
    name: 'delete-with-data on an exchange',
    kind: 'Exchange',
    spec: { ...exchange, deletionPolicy: 'delete-with-data' },
    expect: 'Unsupported value: "delete-with-data"',
  },
  {
    name: 'renaming an exchange',
    kind: 'Exchange',
    spec: exchange,
    update: set('name', 'events-v2'),
    expect: 'name is immutable',
  },
  {
    name: 'changing the exchange type',
    kind: 'Exchange',
    spec: exchange,
    update: set('type', 'topic'),
    expect: 'type is immutable',
  },
  {
    name: 'making an exchange transient',
    kind: 'Exchange',
    spec: exchange,
    update: set('durable', false),
    expect: 'durable is immutable',
  },
  {
    name: 'making an exchange auto-delete',
    kind: 'Exchange',
    spec: exchange,
    update: set('autoDelete', true),
    expect: 'autoDelete is immutable',
  },
  {
    name: 'changing exchange arguments',
    kind: 'Exchange',
    spec: { ...exchange, arguments: { 'alternate-exchange': 'a' } },
    update: set('arguments', { 'alternate-exchange': 'b' }),
    expect: 'arguments are immutable',
  },
  // Binding
  {
    name: 'an unknown destination type',
    kind: 'Binding',
    spec: { ...binding, destinationType: 'topic' },
    expect: 'Unsupported value: "topic"',
  },
  {
    name: 'a binding without a source',
    kind: 'Binding',
    spec: { destination: 'orders', destinationType: 'queue', ...ref },
    expect: 'spec.source: Required value',
  },
  {
    name: 'a binding from the default exchange',
    kind: 'Binding',
    spec: { ...binding, source: '' },
    expect: 'spec.source in body should be at least 1 chars long',
  },
  {
    name: 'changing a routing key',
    kind: 'Binding',
    spec: binding,
    update: set('routingKey', 'b'),
    expect: 'a Binding cannot change in place',
  },
  {
    name: 'changing a binding destination',
    kind: 'Binding',
    spec: binding,
    update: set('destination', 'payments'),
    expect: 'a Binding cannot change in place',
  },
  {
    name: 'changing binding arguments',
    kind: 'Binding',
    spec: binding,
    update: set('arguments', { 'x-match': 'all' }),
    expect: 'a Binding cannot change in place',
  },
  // User
  {
    name: 'an unknown user tag',
    kind: 'User',
    spec: { tags: ['superuser'], ...ref },
    expect: 'Unsupported value',
  },
  {
    name: 'a user tag given twice',
    kind: 'User',
    spec: { tags: ['management', 'management'], ...ref },
    expect: 'Duplicate value',
  },
  {
    name: 'a negative connection limit',
    kind: 'User',
    spec: { limits: { connections: -1 }, ...ref },
    expect: 'spec.limits.connections in body should be greater than or equal to 0',
  },
  {
    name: 'an import Secret without a name',
    kind: 'User',
    spec: { importCredentialsSecret: {}, ...ref },
    expect: 'spec.importCredentialsSecret.name: Required value',
  },
  // Permission
  {
    name: 'a permission naming both a user and a User',
    kind: 'Permission',
    spec: { ...permission, userReference: { name: 'app' } },
    expect: 'set exactly one of user (a username) and userReference',
  },
  {
    name: 'a permission naming no user',
    kind: 'Permission',
    spec: { vhost: '/', permissions: {}, ...ref },
    expect: 'set exactly one of user (a username) and userReference',
  },
  {
    name: 'a permission without a vhost',
    kind: 'Permission',
    spec: { user: 'app', permissions: {}, ...ref },
    expect: 'spec.vhost: Required value',
  },
  {
    name: 'a permission for another user',
    kind: 'Permission',
    spec: permission,
    update: set('user', 'other'),
    expect: 'user is immutable',
  },
  {
    name: 'a permission switched from a username to a User',
    kind: 'Permission',
    spec: permission,
    update: (spec) => set('userReference', { name: 'app' })(set('user', undefined)(spec)),
    expect: 'user is immutable',
  },
  {
    name: 'a permission for another User',
    kind: 'Permission',
    spec: { ...permission, user: undefined, userReference: { name: 'app' } },
    update: set('userReference', { name: 'other' }),
    expect: 'userReference is immutable',
  },
  {
    name: 'a permission moved to another vhost',
    kind: 'Permission',
    spec: permission,
    update: set('vhost', 'shop'),
    expect: 'vhost is immutable',
  },
  // TopicPermission
  {
    name: 'a topic permission naming both a user and a User',
    kind: 'TopicPermission',
    spec: { vhost: '/', user: 'app', userReference: { name: 'app' }, permissions: { exchange: 'x' }, ...ref },
    expect: 'set exactly one of user (a username) and userReference',
  },
  {
    name: 'a topic permission without an exchange',
    kind: 'TopicPermission',
    spec: { vhost: '/', user: 'app', permissions: { write: '.*' }, ...ref },
    expect: 'spec.permissions.exchange: Required value',
  },
  {
    name: 'a topic permission moved to another exchange',
    kind: 'TopicPermission',
    spec: { vhost: '/', user: 'app', permissions: { exchange: 'x' }, ...ref },
    update: set('permissions.exchange', 'y'),
    expect: 'permissions.exchange is immutable',
  },
  {
    name: 'a topic permission for another user',
    kind: 'TopicPermission',
    spec: { vhost: '/', user: 'app', permissions: { exchange: 'x' }, ...ref },
    update: set('user', 'other'),
    expect: 'user is immutable',
  },
  // Policy
  {
    name: 'a policy applied to topics',
    kind: 'Policy',
    spec: { ...policy, applyTo: 'topics' },
    expect: 'Unsupported value: "topics"',
  },
  {
    name: 'a policy without a definition',
    kind: 'Policy',
    spec: { ...policy, definition: undefined },
    expect: 'spec.definition: Required value',
  },
  {
    name: 'a policy with an empty definition',
    kind: 'Policy',
    spec: { ...policy, definition: {} },
    expect: 'spec.definition in body should have at least 1 properties',
  },
  {
    name: 'a priority as a word',
    kind: 'Policy',
    spec: { ...policy, priority: 'high' },
    expect: 'must be of type integer',
  },
  {
    name: 'renaming a policy',
    kind: 'Policy',
    spec: policy,
    update: set('name', 'limits-v2'),
    expect: 'name is immutable',
  },
  // SuperStream
  {
    name: 'a super stream shrunk by a partition',
    kind: 'SuperStream',
    spec: { name: 'orders', partitions: 3, ...ref },
    update: set('partitions', 2),
    expect: 'partitions can grow but never shrink',
  },
  {
    name: 'a super stream losing a routing key',
    kind: 'SuperStream',
    spec: { name: 'orders', partitions: 3, routingKeys: ['eu', 'us', 'asia'], ...ref },
    update: (spec) => ({ ...spec, routingKeys: ['eu', 'us', 'africa'] }),
    expect: 'routingKeys can only be appended to',
  },
  {
    name: 'a super stream with its routing keys reordered',
    kind: 'SuperStream',
    spec: { name: 'orders', partitions: 3, routingKeys: ['eu', 'us', 'asia'], ...ref },
    update: set('routingKeys', ['us', 'eu', 'asia']),
    expect: 'routingKeys can only be appended to',
  },
  {
    name: 'a super stream with fewer routing keys than partitions',
    kind: 'SuperStream',
    spec: { name: 'orders', routingKeys: ['eu', 'us'], ...ref },
    expect: 'routingKeys names one key per partition',
  },
  {
    name: 'a super stream naming one routing key twice',
    kind: 'SuperStream',
    spec: { name: 'orders', partitions: 2, routingKeys: ['eu', 'eu'], ...ref },
    expect: 'routingKeys must be distinct',
  },
  {
    name: 'a super stream without partitions',
    kind: 'SuperStream',
    spec: { name: 'orders', partitions: 0, ...ref },
    expect: 'spec.partitions in body should be greater than or equal to 1',
  },
  {
    name: 'renaming a super stream',
    kind: 'SuperStream',
    spec: { name: 'orders', ...ref },
    update: set('name', 'orders-v2'),
    expect: 'name is immutable',
  },
  // OperatorPolicy
  {
    name: 'an operator policy setting what only a policy may',
    kind: 'OperatorPolicy',
    spec: { ...policy, definition: { 'max-length': 10, 'dead-letter-exchange': 1 } },
    expect: 'an operator policy may only set expires, message-ttl, max-length',
  },
  {
    name: 'an operator policy with a length as a word',
    kind: 'OperatorPolicy',
    spec: { ...policy, definition: { 'max-length': 'ten' } },
    expect: 'must be of type integer',
  },
  {
    name: 'an operator policy applied to exchanges',
    kind: 'OperatorPolicy',
    spec: { ...policy, applyTo: 'exchanges' },
    expect: 'Unsupported value: "exchanges"',
  },
  {
    name: 'renaming an operator policy',
    kind: 'OperatorPolicy',
    spec: policy,
    update: set('name', 'limits-v2'),
    expect: 'name is immutable',
  },
  // Vhost
  {
    name: 'an unknown default queue type',
    kind: 'Vhost',
    spec: { name: 'shop', defaultQueueType: 'lazy', ...ref },
    expect: 'Unsupported value: "lazy"',
  },
  {
    name: 'a negative queue limit',
    kind: 'Vhost',
    spec: { name: 'shop', limits: { queues: -1 }, ...ref },
    expect: 'spec.limits.queues in body should be greater than or equal to 0',
  },
  {
    name: 'an unknown vhost deletion policy',
    kind: 'Vhost',
    spec: { name: 'shop', deletionPolicy: 'keep', ...ref },
    expect: 'Unsupported value: "keep"',
  },
  {
    name: 'renaming a vhost',
    kind: 'Vhost',
    spec: { name: 'shop', ...ref },
    update: set('name', 'store'),
    expect: 'name is immutable',
  },
  // Shovel
  {
    name: 'an AMQP 1.0 shovel source without an address',
    kind: 'Shovel',
    spec: { name: 's', uriSecret: { name: 'u' }, srcProtocol: 'amqp10', destQueue: 'b', ...ref },
    expect: 'srcAddress is required when srcProtocol is amqp10',
  },
  {
    name: 'a shovel consuming from a queue and an exchange',
    kind: 'Shovel',
    spec: { name: 's', uriSecret: { name: 'u' }, srcQueue: 'a', srcExchange: 'x', ...ref },
    expect: 'set exactly one of srcQueue and srcExchange',
  },
  {
    name: 'a shovel without its uriSecret',
    kind: 'Shovel',
    spec: { name: 's', srcQueue: 'a', ...ref },
    expect: 'spec.uriSecret: Required value',
  },
  {
    name: 'a shovel deleting itself after a while',
    kind: 'Shovel',
    spec: { name: 's', uriSecret: { name: 'u' }, srcQueue: 'a', srcDeleteAfter: '5m', ...ref },
    expect: 'spec.srcDeleteAfter',
  },
  {
    name: 'renaming a shovel',
    kind: 'Shovel',
    spec: { name: 's', uriSecret: { name: 'u' }, srcQueue: 'a', ...ref },
    update: set('name', 't'),
    expect: 'name is immutable',
  },
  // Federation
  {
    name: 'a federation with an unknown ack mode',
    kind: 'Federation',
    spec: { name: 'f', uriSecret: { name: 'u' }, ackMode: 'on-commit', ...ref },
    expect: 'Unsupported value: "on-commit"',
  },
  {
    name: 'moving a federation upstream to another vhost',
    kind: 'Federation',
    spec: { name: 'f', uriSecret: { name: 'u' }, ...ref },
    update: set('vhost', 'other'),
    expect: 'vhost is immutable',
  },
];
