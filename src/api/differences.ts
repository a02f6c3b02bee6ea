// Where Warren's resources differ from the official operators' (rabbitmq.com/v1beta1), for docs/reference.md.
// Each entry says what differs, why, and what a manifest written for the official operators needs, if anything.

export interface Difference {
  title: string;
  body: string;
}

export const differences: readonly Difference[] = [
  {
    title: 'API group and version',
    body:
      'Resources live in `warren.dev/v1alpha1` instead of `rabbitmq.com/v1beta1`. Every spec field of the official ' +
      'kinds of the same names exists with the same name, type and meaning, so a manifest written for the official ' +
      'operators is accepted after changing `apiVersion` alone. `Binding` shares its plural `bindings` with a core ' +
      'Kubernetes resource, as upstream does: use `kubectl get rmqb` or `kubectl get bindings.warren.dev`.',
  },
  {
    title: 'Validation without webhooks',
    body:
      'Upstream enforces immutability and the "exactly one of" rules in validating webhooks, which need cert-manager ' +
      'and do nothing when webhooks are off. Warren puts every rule in the CRD as OpenAPI validation and CEL ' +
      '(`x-kubernetes-validations`), so the API server enforces them with no webhook. Changing an immutable field ' +
      'returns 422 with a message saying what to do instead.',
  },
  {
    title: 'Durable queues and exchanges by default',
    body:
      '`Queue.spec.durable` and `Exchange.spec.durable` default to `true`. Upstream exchanges default to transient, ' +
      'and upstream queues are transient whenever the defaulting webhook is off, so the first broker restart loses ' +
      'them. Write `durable: false` to get a transient classic queue or exchange.',
  },
  {
    title: 'Deletion keeps data unless asked',
    body:
      '`Queue.spec.deletionPolicy` and `Vhost.spec.deletionPolicy` are `delete` (default), `delete-with-data` or ' +
      '`retain`. Under `delete` Warren deletes a queue only when it holds no messages, and a vhost only when none ' +
      'of its queues hold messages; otherwise it keeps them and reports why in an Event. Upstream `delete` drops ' +
      'them with their messages. `delete-with-data` is the upstream behaviour, asked for by name. ' +
      '`deleteIfEmpty` and `deleteIfUnused` are accepted; `deleteIfUnused: true` also keeps a queue that has ' +
      'consumers. `Exchange.spec.deletionPolicy` (`delete` or `retain`) is a Warren extension.',
  },
  {
    title: 'Stricter queue and exchange declarations',
    body:
      '`Queue.spec.type` is an enum (`quorum`, `classic`, `stream`). Quorum queues and streams must be durable and ' +
      'cannot be auto-delete (the broker refuses both). CEL cannot read single keys of free-form arguments, so ' +
      'a quorum type given only as the `x-queue-type` argument, or one that contradicts `type`, is caught by ' +
      'Warren when it reads the object (condition Ready False, reason InvalidSpec) rather than at admission. ' +
      'Queue and exchange names starting ' +
      'with `amq.` are reserved by RabbitMQ and rejected at admission. `Exchange.spec.arguments` is immutable: the ' +
      'broker keeps the arguments an exchange was declared with, so upstream accepts a change and silently loses it.',
  },
  {
    title: 'Complete bindings',
    body:
      '`Binding.spec.source`, `destination` and `destinationType` are required (upstream accepts an empty Binding, ' +
      'which once crashed its operator), and the whole spec is immutable: a binding has no identity apart from its ' +
      'fields, so a change means a new binding.',
  },
  {
    title: 'Users, permissions, policies and vhosts',
    body:
      'User tags accept `impersonator`, which upstream lacks, and must be distinct. Limits of users and vhosts ' +
      'cannot be negative. `Policy.spec.definition` must set at least one key. `Vhost.spec.tags` must be distinct. ' +
      '`Permission.spec.permissions` fields default to `""` (match nothing) as on the broker.',
  },
  {
    title: 'SuperStream and OperatorPolicy',
    body:
      'A `SuperStream` is `warren.dev/v1alpha1` like every kind (upstream `rabbitmq.com/v1alpha1`). Warren declares ' +
      'its exchange (with the `x-super-stream: true` argument, as `rabbitmq-streams add_super_stream` does), ' +
      'partition streams and bindings itself instead of creating child Exchange, Queue and Binding objects, and ' +
      'restores them after drift. It can grow but never shrink: the API server refuses fewer `partitions` and ' +
      'routing keys removed or reordered, and Warren refuses (Ready False, `SuperStreamShrinkRefused`) a spec ' +
      'listing fewer partitions than the broker has, deleting nothing. `routingKeys` must number `partitions` and ' +
      'be distinct (upstream fails the reconcile). `deletionPolicy` (`delete`, `delete-with-data`, `retain`) is a ' +
      'Warren extension: under `delete` nothing is deleted while a partition holds messages. ' +
      '`OperatorPolicy.spec.definition` may only set `expires`, `message-ttl`, `max-length`, `max-length-bytes`, ' +
      '`max-in-memory-length`, `max-in-memory-bytes` and `delivery-limit`, as non-negative integers; upstream ' +
      'leaves that to the broker.',
  },
  {
    title: 'RabbitmqCluster: certificates managed by Warren',
    body:
      '`spec.tls.managed` (`duration`, default `8760h`; `renewBefore`, default `720h`) makes Warren issue the ' +
      "cluster's server certificates from its own CA and renew them before expiry, with no cert-manager needed. " +
      'It cannot be combined with `secretName` or `caSecretName`. `tls.disableNonTLSListeners` without TLS is ' +
      'rejected at admission (upstream fails the reconcile).',
  },
  {
    title: 'RabbitmqCluster: volumes outlive the cluster',
    body:
      '`spec.persistence.persistentVolumeClaimRetentionPolicy` (`whenDeleted`, `whenScaled`: `Retain` or `Delete`, ' +
      'both defaulting to `Retain`) follows the StatefulSet field of the same name. Deleting a RabbitmqCluster ' +
      'keeps its volumes unless `whenDeleted: Delete`; upstream deletes them. `persistence.storage` cannot shrink, ' +
      'or change from 0 to a size, which the API server now refuses instead of the reconcile.',
  },
  {
    title: 'RabbitmqCluster: embedded Kubernetes types are free-form',
    body:
      '`affinity`, `tolerations`, `override.statefulSet` and `override.service` accept any object that follows ' +
      'the Kubernetes type (upstream embeds the full schemas, about 350 KB, and drops their descriptions). The ' +
      'API server keeps these fields as written and does not check them field by field; mistakes surface when ' +
      'Warren applies the StatefulSet or Service. `resources` is typed. `image` is not pinned into the object at ' +
      "creation by a webhook: unset means the operator's configured default image.",
  },
  {
    title: 'Made for kubectl',
    body:
      'Every kind has printer columns (Ready and Reason from the Ready condition, Age; the cluster shows desired ' +
      'and ready replicas, AllReplicasReady and ReconcileSuccess), short names (`rmq`, `rmqvh`, `rmqu`, ' +
      '`rmqperm`, `rmqtopicperm`, `rmqx`, `rmqq`, `rmqss`, `rmqb`, `rmqpol`, `rmqoppol`, `rmqshovel`, `rmqfed`) and ' +
      'the categories `warren` and `rabbitmq`, so ' +
      '`kubectl get warren` lists them all. Every field has a description for `kubectl explain`.',
  },
  {
    title: 'Shovels and federation upstreams',
    body:
      'The URIs stay in the Secret `spec.uriSecret` names, with the upstream keys (`srcUri` and `destUri`, or ' +
      '`uri`). Warren labels that Secret `warren.dev/watched` and follows its changes within seconds (upstream ' +
      'stopped watching Secrets, MTO#808); a missing Secret or key is `Ready=False` with reason `SecretNotFound` or ' +
      '`SecretInvalid` naming both. An AMQP 0-9-1 shovel source must set exactly one of `srcQueue` and ' +
      '`srcExchange`, and a destination at most one of `destQueue` and `destExchange`, as the broker requires. ' +
      'Options left unset, `false` or empty are not sent, so a broker that does not know a key (RabbitMQ 3.10 and ' +
      '`Federation.spec.queueType`) only refuses it when it is set. `deletionPolicy` is `delete` (default) or ' +
      '`retain`. A shovel with `srcDeleteAfter` (or `deleteAfter`) other than `never` is not restored once it has ' +
      'deleted itself, so it moves what it was asked to once (upstream brings it back after a restart, MTO#835); ' +
      'a change of the spec runs it again.',
  },
  {
    title: 'Kinds not provided',
    body: 'Warren does not serve SchemaReplication, which upstream serves for a commercial broker edition only.',
  },
];
