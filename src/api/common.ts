// Building blocks shared by every kind: CEL rules that also check in TypeScript, Kubernetes-shaped leaf types,
// the cluster reference and the status shapes.
import { z } from 'zod';

export const group = 'warren.dev';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;

/** Secrets with this label set to `true` are cached and watched by Warren; no other Secret is. */
export const watchedLabel = `${group}/watched`;

/** One `x-kubernetes-validations` entry, exactly as the API server reads it. */
export interface CelRule {
  rule: string;
  message: string;
  messageExpression?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

/**
 * A CEL rule, optionally mirrored in TypeScript. The API server enforces `rule`; `check` makes the parse functions
 * reject the same objects (a reconciler's last line of defence). Transition rules (those reading `oldSelf`) have no
 * `check`: only the API server sees the old object.
 */
export interface Rule<T> extends CelRule {
  check?: (value: T) => boolean;
}

const celKey = 'x-kubernetes-validations';

/** Attaches CEL rules to a schema (merged with rules already there) and their TypeScript mirrors as refinements. */
export function withRules<S extends z.ZodType>(schema: S, rules: readonly Rule<z.output<S>>[]): S {
  let refined = schema;
  for (const { check, message, fieldPath } of rules) {
    if (check)
      refined = refined.refine(check, {
        error: message,
        path: fieldPath ? fieldPathSegments(fieldPath) : [],
      });
  }
  const meta = refined.meta() ?? {};
  const existing = (meta[celKey] as CelRule[] | undefined) ?? [];
  const cel = rules.map(({ check: _check, ...rule }) => rule);
  return refined.meta({ ...meta, [celKey]: [...existing, ...cel] });
}

function fieldPathSegments(fieldPath: string): string[] {
  return fieldPath.split('.').filter((segment) => segment !== '');
}

/** The CEL transition rule that makes a field immutable once set. */
export function immutableRule<T>(message: string): Rule<T> {
  return { rule: 'self == oldSelf', message };
}

/** Marks a schema as immutable after creation with an actionable message. */
export function immutable<S extends z.ZodType>(schema: S, message: string): S {
  return withRules(schema, [immutableRule(message)]);
}

const int32Max = 2147483647;

/** A 32-bit integer, as Kubernetes' int32 fields. */
export function int32(): z.ZodInt {
  return z
    .int()
    .min(-int32Max - 1)
    .max(int32Max);
}

/** A non-negative 32-bit integer. */
export function count(): z.ZodInt {
  return z.int().min(0).max(int32Max);
}

/** Kubernetes resource quantity syntax (`500m`, `2Gi`, `1e3`), non-negative. */
export const quantityPattern =
  /^\+?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;

/** A resource quantity: a number or a string such as `2Gi` (`x-kubernetes-int-or-string` in the CRD). */
export function quantity() {
  return z.union([
    z.int().min(0),
    z.string().regex(quantityPattern, 'must be a quantity such as 500m or 10Gi'),
  ]);
}
export type Quantity = number | string;

/**
 * A free-form object kept as the user wrote it (`x-kubernetes-preserve-unknown-fields` in the CRD). Used for
 * broker arguments and for embedded Kubernetes types that would otherwise copy hundreds of kilobytes of schema.
 */
export function freeForm() {
  return z.looseObject({});
}
export type FreeForm = Record<string, unknown>;

/**
 * Broker arguments and policy definitions: names mapped to values of any JSON type, kept as written. CEL cannot
 * read single keys of such an object, but can compare two of them; the bound on keys keeps that cheap.
 */
export function argumentMap() {
  return z
    .looseObject({})
    .refine((map) => Object.keys(map).length <= 64, 'at most 64 entries')
    .meta({ maxProperties: 64 });
}

/** A list whose items are distinct (`x-kubernetes-list-type: set`; the API server rejects duplicates). */
export function setOf<T extends z.ZodType<string>>(item: T) {
  return z
    .array(item)
    .refine((items) => new Set(items).size === items.length, 'items must be distinct')
    .meta({ 'x-kubernetes-list-type': 'set' });
}

/** Go duration syntax as cert-manager uses it: `8760h`, `720h0m0s`, `90m`. */
export const goDurationPattern = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;

export const localObjectReference = z
  .object({ name: z.string().min(1).max(253).describe('Name of the object in the same namespace.') })
  .describe('A reference to an object in the same namespace.');
export type LocalObjectReference = z.output<typeof localObjectReference>;

/** Names of objects on the broker: AMQP short strings, at most 255 bytes. */
export function brokerName(description: string) {
  return z.string().min(1).max(255).describe(description);
}

/**
 * The immutable broker-side name of a queue or exchange (`what`), refusing the `amq.` prefix the broker reserves.
 * `kind` names the resource to create instead.
 */
export function reservedPrefixFreeName(what: string, kind: string) {
  return immutable(
    withRules(brokerName(`Name of the ${what} on the broker.`), [
      {
        rule: "!self.startsWith('amq.')",
        message: `${what} names starting with "amq." are reserved by the broker; choose another name`,
        check: (name) => !name.startsWith('amq.'),
      },
    ]),
    `name is immutable: it is the identity of the ${what} on the broker. Create a new ${kind} instead.`,
  ).describe(
    `Name of the ${what} on the broker. Names starting with "amq." are reserved by RabbitMQ. Immutable.`,
  );
}

export const rabbitmqClusterReference = withRules(
  z.object({
    name: z
      .string()
      .min(1)
      .max(253)
      .optional()
      .describe(
        'Name of the RabbitmqCluster that holds this object. Warren connects with the credentials the cluster publishes ' +
          'in status.defaultUser. Exactly one of name and connectionSecret is set.',
      ),
    namespace: z
      .string()
      .min(1)
      .max(63)
      .optional()
      .describe(
        "Namespace of the RabbitmqCluster (or of the connection Secret). Defaults to this object's namespace. " +
          'A RabbitmqCluster in another namespace must allow it with the annotation ' +
          'rabbitmq.com/topology-allowed-namespaces (a comma-separated list, or "*").',
      ),
    connectionSecret: localObjectReference
      .optional()
      .describe(
        'A Secret with the keys uri (management API address; no scheme means http://, https:// turns on TLS), ' +
          'username and password, for a broker Warren does not run. Exactly one of name and connectionSecret is set.',
      ),
  }),
  [
    {
      rule: 'has(self.name) != has(self.connectionSecret)',
      message:
        'set exactly one of rabbitmqClusterReference.name (a RabbitmqCluster) and ' +
        'rabbitmqClusterReference.connectionSecret (a Secret with uri, username and password)',
      check: (ref) => (ref.name === undefined) !== (ref.connectionSecret === undefined),
    },
    immutableRule(
      'rabbitmqClusterReference is immutable: changing it would move the object to another broker. ' +
        'Create a new object for the other broker instead.',
    ),
  ],
).describe('The RabbitMQ cluster this object lives in. Immutable.');
export type RabbitmqClusterReference = z.output<typeof rabbitmqClusterReference>;

/** The vhost field of topology kinds: defaulted, immutable. */
export function vhostField(description: string) {
  return immutable(
    z.string().min(1).max(255).default('/'),
    'vhost is immutable: it is part of the identity of the object on the broker. Create a new object for the other vhost.',
  ).describe(`${description} Defaults to "/". Immutable.`);
}

export const conditionStatus = z.enum(['True', 'False', 'Unknown']);

export const condition = z
  .object({
    type: z
      .string()
      .min(1)
      .max(316)
      .describe('Type of the condition, in CamelCase (Ready, AllReplicasReady, ...).'),
    status: conditionStatus.describe('True, False or Unknown.'),
    reason: z
      .string()
      .max(1024)
      .optional()
      .describe('A stable CamelCase word for the last transition, for programs and alerts.'),
    message: z
      .string()
      .max(32768)
      .optional()
      .describe('A sentence for people, saying what is wrong and what to do.'),
    lastTransitionTime: z
      .string()
      .optional()
      .meta({ format: 'date-time' })
      .describe('When the status last changed (not when the condition was last written).'),
    observedGeneration: z
      .int()
      .min(0)
      .optional()
      .describe('The metadata.generation the condition was computed from.'),
  })
  .describe('The state of one aspect of the object.');
export type Condition = z.output<typeof condition>;

export const conditions = z
  .array(condition)
  .max(32)
  .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
  .describe('Conditions of the object, one per type.');

export const topologyStatus = z
  .object({
    observedGeneration: z
      .int()
      .min(0)
      .optional()
      .describe('The metadata.generation the status describes: the spec last reconciled.'),
    conditions: conditions
      .optional()
      .describe(
        'Ready is True when the broker matches the spec; its reason and message say why not otherwise.',
      ),
  })
  .describe('Observed state, written by Warren.');
export type TopologyStatus = z.output<typeof topologyStatus>;
