// Renders docs/reference.md from the same definitions as the CRDs: every field with its type, default,
// mutability and description, the rules the API server enforces, and the differences from the official operators.
import { openApiSchema, renderCrd } from './crd.ts';
import type { CelRule } from './common.ts';
import { differences } from './differences.ts';
import type { ResourceDefinition } from './resource.ts';

/** The parts of a rendered OpenAPI node the reference reads. */
interface SchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  minProperties?: number;
  pattern?: string;
  required?: string[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-validations'?: CelRule[];
}

interface Row {
  path: string;
  type: string;
  default: string;
  mutability: string;
  description: string;
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function typeOf(node: SchemaNode): string {
  if (node['x-kubernetes-int-or-string'] === true) return 'int or string';
  if (node['x-kubernetes-preserve-unknown-fields'] === true) return 'object (free-form)';
  if (node.type === 'array') return `[]${typeOf(node.items as SchemaNode)}`;
  if (node.type === 'object' && node.additionalProperties) {
    return `map[string]${typeOf(node.additionalProperties)}`;
  }
  const enumValues = node.enum;
  if (enumValues) return `enum: ${enumValues.map((v) => `\`${JSON.stringify(v)}\``).join(', ')}`;
  return String(node.type);
}

function constraints(node: SchemaNode): string[] {
  const out: string[] = [];
  if (node.minimum !== undefined) out.push(`minimum ${node.minimum}`);
  if (node.maximum !== undefined && node.maximum !== 2147483647) out.push(`maximum ${node.maximum}`);
  if (node.minLength !== undefined && node.minLength !== 1) out.push(`min length ${node.minLength}`);
  if (node.minLength === 1) out.push('non-empty');
  if (node.maxLength !== undefined) out.push(`max length ${node.maxLength}`);
  if (node.maxItems !== undefined) out.push(`at most ${node.maxItems} items`);
  if (node.minProperties !== undefined) out.push(`at least ${node.minProperties} key`);
  if (node['x-kubernetes-list-type'] === 'set') out.push('distinct items');
  if (node.pattern !== undefined) out.push(`pattern \`${node.pattern}\``);
  return out;
}

function rulesOf(node: SchemaNode): CelRule[] {
  return node['x-kubernetes-validations'] ?? [];
}

function isTransition(rule: CelRule): boolean {
  return rule.rule.includes('oldSelf');
}

/** How a field may change, from its own transition rules and those of its parent that point at it. */
function mutability(node: SchemaNode, inherited: CelRule[]): string {
  const transitions = [...rulesOf(node), ...inherited].filter(isTransition);
  if (transitions.length === 0) return 'mutable';
  if (
    transitions.every(
      (rule) => rule.rule === 'self == oldSelf' || /^self\.\??\w+ == oldSelf\.\??\w+$/.test(rule.rule),
    )
  )
    return 'immutable';
  return 'restricted';
}

function rows(node: SchemaNode, path: string, inheritedAll: CelRule[], out: Row[]): void {
  const properties = node.properties ?? {};
  const required = new Set(node.required ?? []);
  const parentRules = rulesOf(node).filter(isTransition);
  // A rule on the whole object with no fieldPath freezes every field under it.
  const freezesAll = [
    ...inheritedAll,
    ...parentRules.filter((rule) => rule.fieldPath === undefined && rule.rule === 'self == oldSelf'),
  ];
  for (const [name, child] of Object.entries(properties)) {
    const childPath = path === '' ? name : `${path}.${name}`;
    const pointed = parentRules.filter((rule) => rule.fieldPath === `.${name}`);
    const notes = [
      ...(required.has(name) ? ['Required.'] : []),
      ...(constraints(child).length > 0 ? [`Validation: ${constraints(child).join('; ')}.`] : []),
    ];
    out.push({
      path: childPath,
      type: typeOf(child),
      default: child.default === undefined ? '' : `\`${JSON.stringify(child.default)}\``,
      mutability: mutability(child, [...pointed, ...freezesAll]),
      description: [child.description ?? '', ...notes].join(' '),
    });
    if (child.type === 'object') rows(child, childPath, freezesAll, out);
    if (child.type === 'array' && (child.items as SchemaNode).type === 'object') {
      rows(child.items as SchemaNode, `${childPath}[]`, freezesAll, out);
    }
  }
}

function fieldTable(schema: SchemaNode, withMutability: boolean): string {
  const out: Row[] = [];
  rows(schema, '', [], out);
  const header = withMutability
    ? '| Field | Type | Default | Mutability | Description |\n|---|---|---|---|---|'
    : '| Field | Type | Description |\n|---|---|---|';
  const lines = out.map((row) =>
    withMutability
      ? `| \`${row.path}\` | ${cell(row.type)} | ${cell(row.default)} | ${row.mutability} | ${cell(row.description)} |`
      : `| \`${row.path}\` | ${cell(row.type)} | ${cell(row.description)} |`,
  );
  return [header, ...lines].join('\n');
}

/** Every CEL rule under a node, with the path it sits at. */
function allRules(node: SchemaNode, path: string): { path: string; rule: CelRule }[] {
  const found = rulesOf(node).map((rule) => ({ path: path + (rule.fieldPath ?? ''), rule }));
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    found.push(...allRules(child, `${path}.${name}`));
  }
  if (node.items) found.push(...allRules(node.items, `${path}[]`));
  return found;
}

function kindSection(definition: ResourceDefinition): string {
  const spec: SchemaNode = openApiSchema(definition.specSchema);
  const status: SchemaNode = openApiSchema(definition.statusSchema);
  const crd = renderCrd(definition);
  const version = (
    crd.spec as { versions: { additionalPrinterColumns: { name: string; jsonPath: string }[] }[] }
  ).versions[0];
  const columns = (version?.additionalPrinterColumns ?? [])
    .map((c) => `${c.name} (\`${c.jsonPath}\`)`)
    .join(', ');
  const rules = allRules(spec, 'spec')
    .map(({ path, rule }) => `- \`${path}\`${isTransition(rule) ? ' (on update)' : ''}: ${rule.message}`)
    .join('\n');
  return [
    `## ${definition.kind}`,
    '',
    definition.description,
    '',
    `\`apiVersion: ${definition.group}/${definition.version}\`, plural \`${definition.plural}\`, short names ` +
      `${definition.shortNames.map((n) => `\`${n}\``).join(', ')}, categories ` +
      `${definition.categories.map((n) => `\`${n}\``).join(', ')}, namespaced, status subresource.`,
    '',
    `Printer columns: ${columns}.`,
    '',
    '### Spec',
    '',
    fieldTable(spec, true),
    '',
    '### Rules the API server enforces',
    '',
    rules,
    '',
    '### Status',
    '',
    fieldTable(status, false),
    '',
  ].join('\n');
}

export function renderReference(definitions: readonly ResourceDefinition[]): string {
  const toc = definitions.map((d) => `- [${d.kind}](#${d.kind.toLowerCase()})`).join('\n');
  const diffs = differences.map((d) => `### ${d.title}\n\n${d.body}\n`).join('\n');
  return [
    '<!-- Generated by npm run generate from src/api; do not edit. -->',
    '',
    '# Resource reference',
    '',
    'Warren serves eight namespaced kinds in the API group `warren.dev`, version `v1alpha1`. This page is generated ' +
      'from the zod schemas in `src/api/`, the same source as the CRDs in `crds/` and the types the operator uses, ' +
      'so it cannot drift from what the API server enforces. `kubectl explain <kind>.spec` shows the same ' +
      'descriptions.',
    '',
    'Mutability: *immutable* fields cannot change after creation (the API server rejects the update with the ' +
      'message listed under the kind); *restricted* fields may change only in the way the rules say; *mutable* ' +
      'fields change the broker or cluster in place.',
    '',
    toc,
    '- [Differences from the official operators](#differences-from-the-official-operators)',
    '',
    ...definitions.map(kindSection),
    '## Differences from the official operators',
    '',
    diffs,
  ].join('\n');
}
