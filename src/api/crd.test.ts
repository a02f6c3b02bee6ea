import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { quantity, quantityPattern } from './common.ts';
import { openApiSchema, renderCrd, type JsonSchema } from './crd.ts';
import { kinds } from './kinds.ts';
import { structuralViolations } from './structural.ts';

function versionSchema(crd: JsonSchema): JsonSchema {
  const spec = crd.spec as { versions: { schema: { openAPIV3Schema: JsonSchema } }[] };
  return spec.versions[0]!.schema.openAPIV3Schema;
}

/** Paths of properties without a description, which `kubectl explain` would show bare. */
function undescribed(node: JsonSchema, path: string): string[] {
  const missing: string[] = [];
  const properties = (node.properties ?? {}) as Record<string, JsonSchema>;
  for (const [name, child] of Object.entries(properties)) {
    const childPath = `${path}.${name}`;
    if (typeof child.description !== 'string' || child.description === '') missing.push(childPath);
    missing.push(...undescribed(child, childPath));
  }
  if (node.items) missing.push(...undescribed(node.items as JsonSchema, `${path}[]`));
  return missing;
}

describe('Rendered CRDs', () => {
  for (const definition of kinds) {
    describe(definition.kind, () => {
      const crd = renderCrd(definition);
      const schema = versionSchema(crd);

      it('has a structural schema', () => {
        assert.deepEqual(structuralViolations(schema), []);
      });

      it('describes every field of spec and status', () => {
        const { metadata: _metadata, ...rest } = schema.properties as Record<string, JsonSchema>;
        assert.deepEqual(undescribed({ properties: rest }, definition.kind), []);
      });

      it('has a status subresource, a Ready-style column and the warren category', () => {
        const version = (crd.spec as { versions: JsonSchema[] }).versions[0]!;
        assert.deepEqual(version.subresources, { status: {} });
        const columns = (version.additionalPrinterColumns as { name: string }[]).map((c) => c.name);
        assert.ok(columns.includes('Ready') && columns.at(-1) === 'Age', columns.join(','));
        assert.ok(definition.categories.includes('warren'));
      });
    });
  }

  it('gives every kind distinct names and short names', () => {
    const names = kinds.flatMap((d) => [d.plural, d.singular, ...d.shortNames]);
    assert.equal(new Set(names).size, names.length);
  });
});

describe('The zod to OpenAPI post-pass', () => {
  it('turns quantities into int-or-string and keeps their bounds', () => {
    assert.deepEqual(openApiSchema(quantity()), {
      'x-kubernetes-int-or-string': true,
      pattern: quantityPattern.source,
      minimum: 0,
    });
  });

  it('drops the safe-integer bounds zod adds to every int', () => {
    assert.deepEqual(openApiSchema(z.int()), { type: 'integer' });
    assert.deepEqual(openApiSchema(z.int().min(0)), { type: 'integer', minimum: 0 });
  });

  it('turns free-form records into preserve-unknown-fields objects', () => {
    assert.deepEqual(openApiSchema(z.record(z.string(), z.unknown())), {
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
    });
  });

  it('keeps typed maps as additionalProperties', () => {
    assert.deepEqual(openApiSchema(z.record(z.string(), z.string())), {
      type: 'object',
      additionalProperties: { type: 'string' },
    });
  });

  it('leaves no draft-2020-12 markers', () => {
    const schema = openApiSchema(
      z.object({ a: z.string().nullable(), b: z.strictObject({ c: z.boolean() }) }),
    );
    assert.doesNotMatch(JSON.stringify(schema), /\$schema|additionalProperties":false|"null"/);
  });
});

describe('The structural-schema checker', () => {
  const cases: [string, unknown, RegExp][] = [
    ['a $ref', { type: 'object', properties: { a: { $ref: '#/definitions/x' } } }, /\$ref is not allowed/],
    [
      'a node without type',
      { type: 'object', properties: { a: { description: 'x' } } },
      /\.a: type is required/,
    ],
    ['a type list', { type: ['string', 'null'] }, /type must be one of/],
    [
      'uniqueItems',
      { type: 'array', items: { type: 'string' }, uniqueItems: true },
      /uniqueItems is forbidden/,
    ],
    ['array-form items', { type: 'array', items: [{ type: 'string' }] }, /items must be a single schema/],
    [
      'additionalProperties beside properties',
      { type: 'object', properties: {}, additionalProperties: { type: 'string' } },
      /mutually exclusive/,
    ],
    [
      'a description inside anyOf',
      { type: 'object', anyOf: [{ description: 'x', required: ['a'] }] },
      /description is not allowed inside a junctor/,
    ],
    [
      'preserve-unknown-fields false',
      { type: 'object', 'x-kubernetes-preserve-unknown-fields': false },
      /must be true or absent/,
    ],
    [
      'a list map keyed by an optional field',
      {
        type: 'array',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
        items: { type: 'object', properties: { type: { type: 'string' } } },
      },
      /must be required or defaulted/,
    ],
    [
      'a CEL rule without a message',
      { type: 'string', 'x-kubernetes-validations': [{ rule: 'self == oldSelf' }] },
      /needs a message/,
    ],
  ];
  for (const [name, schema, expected] of cases) {
    it(`rejects ${name}`, () => {
      assert.match(structuralViolations(schema).join('\n'), expected);
    });
  }
});
