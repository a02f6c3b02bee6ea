// The MutatingAdmissionPolicy that gives every Warren object its finalizer as it is created, inside the API
// server (admissionregistration.k8s.io/v1, stable since Kubernetes 1.36): a CEL mutation, no webhook and no
// certificates. It saves the operator one API write per object, the finalizer patch, which is a quarter of
// what converging an object costs the API server. The operator still adds the finalizer itself where the policy
// is absent (older clusters, or the chart's admissionPolicy.enabled=false), so the policy is an optimisation,
// never a requirement: failurePolicy Ignore lets a create through when the policy cannot be evaluated.
//
// A ValidatingAdmissionPolicy narrows what the operator's `pods: patch` permission can do. The operator patches a
// pod for one reason, the skipPreStopChecks label set when its cluster is deleted, but RBAC cannot say "this label
// only": a stolen operator token could change any pod's image and run code with that pod's Secrets. The policy
// refuses every pod update by the operator's ServiceAccount that changes anything else.
//
// The chart's templates and config/admission/ are rendered from these builders (npm run generate).
import { group } from './api/common.ts';
import { kinds } from './api/kinds.ts';
import { clusterFinalizer } from './cluster/reconciler.ts';
import { skipPreStopChecksLabel } from './cluster/resources/statefulset.ts';
import { topologyFinalizer } from './topology/reconciler/index.ts';

export const admissionApiVersion = 'admissionregistration.k8s.io/v1';

/** The policy's kinds as the API client addresses them (tests and benchmarks install the policy themselves). */
export const admissionResources = {
  policy: {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    plural: 'mutatingadmissionpolicies',
    kind: 'MutatingAdmissionPolicy',
    namespaced: false,
  },
  binding: {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    plural: 'mutatingadmissionpolicybindings',
    kind: 'MutatingAdmissionPolicyBinding',
    namespaced: false,
  },
  validatingPolicy: {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    plural: 'validatingadmissionpolicies',
    kind: 'ValidatingAdmissionPolicy',
    namespaced: false,
  },
  validatingBinding: {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    plural: 'validatingadmissionpolicybindings',
    kind: 'ValidatingAdmissionPolicyBinding',
    namespaced: false,
  },
} as const;

/** The finalizer the operator puts on objects of each plural, as its reconcilers add it. */
export function finalizerByPlural(): Map<string, string> {
  return new Map(
    kinds.map((kind) => [
      kind.plural,
      kind.kind === 'RabbitmqCluster' ? clusterFinalizer : topologyFinalizer,
    ]),
  );
}

/**
 * The CEL expression of the mutation: an apply configuration that merges the kind's finalizer into
 * metadata.finalizers. Finalizers are a set list, so the user's own finalizers stay.
 */
export function finalizerExpression(byPlural: Map<string, string>): string {
  const plurals = new Map<string, string[]>();
  for (const [plural, finalizer] of byPlural)
    plurals.set(finalizer, [...(plurals.get(finalizer) ?? []), plural]);
  const [fallback, ...others] = [...plurals.keys()].reverse();
  if (fallback === undefined) throw new Error('no kinds to give a finalizer');
  const choice = others.reduce(
    (rest, finalizer) =>
      `request.resource.resource in ${JSON.stringify(plurals.get(finalizer))} ? ${JSON.stringify(finalizer)} : ${rest}`,
    JSON.stringify(fallback),
  );
  return `Object{metadata: Object.metadata{finalizers: [${choice}]}}`;
}

/** The policy's spec: which creates it matches and the mutation it makes. */
export function finalizerPolicySpec(): Record<string, unknown> {
  const byPlural = finalizerByPlural();
  return {
    // The operator adds the finalizer itself when the policy does not; a create must never fail for it.
    failurePolicy: 'Ignore',
    reinvocationPolicy: 'Never',
    matchConstraints: {
      resourceRules: [
        {
          apiGroups: [group],
          apiVersions: ['*'],
          operations: ['CREATE'],
          resources: [...byPlural.keys()],
        },
      ],
    },
    mutations: [
      {
        patchType: 'ApplyConfiguration',
        applyConfiguration: { expression: finalizerExpression(byPlural) },
      },
    ],
  };
}

/**
 * The binding's spec. With watched namespaces it matches those alone: an object in a namespace no operator
 * watches must not get a finalizer that nobody would ever remove.
 */
export function finalizerBindingSpec(
  policyName: string,
  watchNamespaces: readonly string[],
): Record<string, unknown> {
  const spec: Record<string, unknown> = { policyName };
  if (watchNamespaces.length > 0) {
    spec.matchResources = {
      namespaceSelector: {
        matchExpressions: [
          { key: 'kubernetes.io/metadata.name', operator: 'In', values: [...watchNamespaces] },
        ],
      },
    };
  }
  return spec;
}

/** The policy and its binding, as config/admission/ holds them and the chart renders them. */
export function finalizerPolicyManifests(
  name: string,
  labels: Record<string, string>,
  watchNamespaces: readonly string[] = [],
): Record<string, unknown>[] {
  return [
    {
      apiVersion: admissionApiVersion,
      kind: 'MutatingAdmissionPolicy',
      metadata: { name, labels },
      spec: finalizerPolicySpec(),
    },
    {
      apiVersion: admissionApiVersion,
      kind: 'MutatingAdmissionPolicyBinding',
      metadata: { name, labels },
      spec: finalizerBindingSpec(name, watchNamespaces),
    },
  ];
}

/** The user name the API server gives a ServiceAccount's requests. */
export function serviceAccountUsername(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/**
 * The pod-write policy's spec: an update of a pod by `operatorUsername` may add, change or remove the
 * skipPreStopChecks label and nothing else (spec, other labels, annotations, finalizers, owner references).
 */
export function podWritePolicySpec(operatorUsername: string): Record<string, unknown> {
  const label = JSON.stringify(skipPreStopChecksLabel);
  const unchanged = (field: string, empty: string) =>
    `object.metadata.?${field}.orValue(${empty}) == oldObject.metadata.?${field}.orValue(${empty})`;
  const message = `the operator may change a pod's ${skipPreStopChecksLabel} label and nothing else`;
  return {
    // A pod update the policy cannot evaluate is refused: this policy is a security boundary, not an optimisation.
    failurePolicy: 'Fail',
    matchConstraints: {
      resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['pods'] }],
    },
    matchConditions: [
      {
        name: 'by-the-operator',
        expression: `request.userInfo.username == ${JSON.stringify(operatorUsername)}`,
      },
    ],
    variables: [
      { name: 'oldLabels', expression: 'oldObject.metadata.?labels.orValue({})' },
      { name: 'newLabels', expression: 'object.metadata.?labels.orValue({})' },
    ],
    validations: [
      { expression: 'object.spec == oldObject.spec', message: `${message}: the spec changed` },
      {
        expression:
          `variables.newLabels.all(k, k == ${label} || (k in variables.oldLabels && ` +
          `variables.oldLabels[k] == variables.newLabels[k])) && ` +
          `variables.oldLabels.all(k, k == ${label} || k in variables.newLabels)`,
        message: `${message}: another label changed`,
      },
      {
        expression: [
          unchanged('annotations', '{}'),
          unchanged('finalizers', '[]'),
          unchanged('ownerReferences', '[]'),
        ].join(' && '),
        message: `${message}: annotations, finalizers or owner references changed`,
      },
    ],
  };
}

/** The pod-write policy and its binding (Deny: a refused update fails with the policy's message). */
export function podWritePolicyManifests(
  name: string,
  labels: Record<string, string>,
  operatorUsername: string,
): Record<string, unknown>[] {
  return [
    {
      apiVersion: admissionApiVersion,
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name, labels },
      spec: podWritePolicySpec(operatorUsername),
    },
    {
      apiVersion: admissionApiVersion,
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name, labels },
      spec: { policyName: name, validationActions: ['Deny'] },
    },
  ];
}
