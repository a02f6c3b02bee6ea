// A checker for the rules Kubernetes applies to CRD schemas ("structural schemas"), so a schema that the API
// server would refuse, or would prune unexpectedly, fails a unit test instead of an install.
// https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema

/** Keys of apiextensions.k8s.io/v1 JSONSchemaProps that a Warren CRD may use. */
const allowedKeys = new Set([
  'description',
  'type',
  'format',
  'title',
  'default',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'multipleOf',
  'enum',
  'maxProperties',
  'minProperties',
  'required',
  'items',
  'allOf',
  'oneOf',
  'anyOf',
  'not',
  'properties',
  'additionalProperties',
  'example',
  'nullable',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-list-type',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
]);

const types = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);
const forbiddenInJunctors = ['type', 'description', 'default', 'additionalProperties', 'nullable'];

type Node = Record<string, unknown>;

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every rule the schema breaks, each as "path: problem". An empty list means the schema is structural. */
export function structuralViolations(schema: unknown, path = '<root>'): string[] {
  if (!isNode(schema)) return [`${path}: a schema must be an object`];
  return [...checkNode(schema, path, false)];
}

function* checkNode(node: Node, path: string, inJunctor: boolean): Generator<string> {
  for (const key of Object.keys(node)) {
    if (!allowedKeys.has(key)) yield `${path}: ${key} is not allowed in a CRD schema`;
  }
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const preserve = node['x-kubernetes-preserve-unknown-fields'];
  if (preserve === false) yield `${path}: x-kubernetes-preserve-unknown-fields must be true or absent`;

  if (inJunctor) {
    for (const key of forbiddenInJunctors)
      if (key in node) yield `${path}: ${key} is not allowed inside a junctor`;
  } else if (node.type === undefined) {
    if (!intOrString && preserve !== true) yield `${path}: type is required`;
  } else if (typeof node.type !== 'string' || !types.has(node.type)) {
    yield `${path}: type must be one of ${[...types].join(', ')}`;
  }
  if (intOrString && node.type !== undefined) yield `${path}: int-or-string cannot have a type`;

  if (node.uniqueItems === true) yield `${path}: uniqueItems is forbidden; use x-kubernetes-list-type: set`;
  if ('items' in node && !isNode(node.items)) yield `${path}: items must be a single schema`;
  if (node.type === 'array' && !('items' in node)) yield `${path}: an array needs items`;
  if ('properties' in node && 'additionalProperties' in node) {
    yield `${path}: properties and additionalProperties are mutually exclusive`;
  }
  if (isNode(node.additionalProperties) && node.type !== 'object') {
    yield `${path}: additionalProperties needs type object`;
  }
  if (node.additionalProperties === false) yield `${path}: additionalProperties: false is forbidden`;

  if (node['x-kubernetes-list-type'] === 'map') yield* checkListMap(node, path);
  if (node['x-kubernetes-validations'] !== undefined)
    yield* checkValidations(node['x-kubernetes-validations'], path);
  if (Array.isArray(node.required)) {
    const properties = isNode(node.properties) ? node.properties : {};
    for (const name of node.required)
      if (!(String(name) in properties)) yield `${path}: required ${name} is not a property`;
  }

  if (isNode(node.properties)) {
    for (const [name, child] of Object.entries(node.properties)) {
      if (!isNode(child)) yield `${path}.${name}: a schema must be an object`;
      else yield* checkNode(child, `${path}.${name}`, inJunctor);
    }
  }
  if (isNode(node.items)) yield* checkNode(node.items, `${path}[]`, inJunctor);
  if (isNode(node.additionalProperties)) yield* checkNode(node.additionalProperties, `${path}{}`, inJunctor);
  for (const junctor of ['allOf', 'anyOf', 'oneOf']) {
    const branches = node[junctor];
    if (branches === undefined) continue;
    if (!Array.isArray(branches)) {
      yield `${path}: ${junctor} must be a list`;
      continue;
    }
    const intOrStringBranches = intOrString && junctor === 'anyOf';
    for (const [index, branch] of branches.entries()) {
      if (!isNode(branch)) yield `${path}.${junctor}[${index}]: a schema must be an object`;
      else if (!intOrStringBranches) yield* checkNode(branch, `${path}.${junctor}[${index}]`, true);
    }
  }
  if (isNode(node.not)) yield* checkNode(node.not, `${path}.not`, true);
}

function* checkListMap(node: Node, path: string): Generator<string> {
  const keys = node['x-kubernetes-list-map-keys'];
  const items = isNode(node.items) ? node.items : {};
  if (!Array.isArray(keys) || keys.length === 0) {
    yield `${path}: x-kubernetes-list-type map needs x-kubernetes-list-map-keys`;
    return;
  }
  const required = Array.isArray(items.required) ? items.required : [];
  const properties = isNode(items.properties) ? items.properties : {};
  for (const key of keys) {
    const property = properties[String(key)];
    if (!required.includes(key) && !(isNode(property) && 'default' in property)) {
      yield `${path}: list map key ${key} must be required or defaulted`;
    }
  }
}

function* checkValidations(rules: unknown, path: string): Generator<string> {
  if (!Array.isArray(rules)) {
    yield `${path}: x-kubernetes-validations must be a list`;
    return;
  }
  for (const rule of rules) {
    if (!isNode(rule) || typeof rule.rule !== 'string' || rule.rule === '') {
      yield `${path}: every validation needs a rule`;
    } else if (typeof rule.message !== 'string' || rule.message === '') {
      yield `${path}: the rule ${rule.rule} needs a message a person can act on`;
    }
  }
}
