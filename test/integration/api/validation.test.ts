// The CRDs in crds/ against the real kube-apiserver of the test environment: the valid manifests are accepted
// with the same defaults the zod schemas apply, and every invalid manifest or update is rejected with a message
// that says what is wrong.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ApiException, CustomObjectsApi } from '@kubernetes/client-node';
import { apiVersion, group, version } from '../../../src/api/common.ts';
import { resourceFor, type KindName } from '../../../src/api/kinds.ts';
import { parseResource } from '../../../src/api/resource.ts';
import { createNamespace, kubeConfig } from '../../env/shared.ts';
import { invalidCases, validCases } from './cases.ts';

type Manifest = { metadata: { name: string; namespace: string }; spec?: Record<string, unknown> };

let api: CustomObjectsApi;
let namespace: string;

function manifest(kind: KindName, name: string, spec: Record<string, unknown> | undefined) {
  return { apiVersion, kind, metadata: { name, namespace }, ...(spec === undefined ? {} : { spec }) };
}

function target(kind: KindName) {
  return { group, version, namespace, plural: resourceFor(kind).plural };
}

async function create(
  kind: KindName,
  name: string,
  spec: Record<string, unknown> | undefined,
): Promise<Manifest> {
  return (await api.createNamespacedCustomObject({
    ...target(kind),
    body: manifest(kind, name, spec),
  })) as Manifest;
}

async function update(
  kind: KindName,
  name: string,
  change: (spec: Record<string, unknown>) => Record<string, unknown>,
) {
  const current = (await api.getNamespacedCustomObject({ ...target(kind), name })) as Manifest;
  const body = { ...current, spec: change(current.spec ?? {}) };
  return (await api.replaceNamespacedCustomObject({ ...target(kind), name, body })) as Manifest;
}

/** The API server's rejection of an operation: its HTTP code and Status message. */
async function rejection(operation: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await operation;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const body: unknown = typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
    return { code: error.code, message: String((body as { message?: unknown }).message) };
  }
  assert.fail('the API server accepted it');
}

function objectName(kind: KindName, index: number, prefix: string) {
  return `${prefix}-${kind.toLowerCase()}-${index}`;
}

before(async () => {
  api = kubeConfig().makeApiClient(CustomObjectsApi);
  namespace = await createNamespace('api-validation');
});

describe('Valid resources', () => {
  it(`holds at least 20 cases (${validCases.length})`, () => {
    assert.ok(validCases.length >= 20);
  });

  for (const [index, testCase] of validCases.entries()) {
    it(`accepts ${testCase.name}, with the defaults the schemas apply`, async () => {
      const name = objectName(testCase.kind, index, 'valid');
      const created = await create(testCase.kind, name, testCase.spec);
      const parsed = parseResource(resourceFor(testCase.kind), created);
      assert.ok(parsed.success, parsed.success ? '' : parsed.message);
      assert.deepEqual(created.spec, parsed.object.spec);
      if (testCase.update) {
        const updated = await update(testCase.kind, name, testCase.update);
        assert.ok(parseResource(resourceFor(testCase.kind), updated).success);
      }
    });
  }
});

describe('Invalid resources', () => {
  it(`holds at least 40 cases (${invalidCases.length})`, () => {
    assert.ok(invalidCases.length >= 40);
  });

  for (const [index, testCase] of invalidCases.entries()) {
    const action = testCase.update ? 'rejects the update' : 'rejects';
    it(`${action}: ${testCase.name}`, async () => {
      const name = objectName(testCase.kind, index, 'invalid');
      if (testCase.update) {
        await create(testCase.kind, name, testCase.spec);
        const { code, message } = await rejection(update(testCase.kind, name, testCase.update));
        assert.equal(code, 422, message);
        assert.ok(message.includes(testCase.expect), message);
      } else {
        const { code, message } = await rejection(create(testCase.kind, name, testCase.spec));
        assert.equal(code, 422, message);
        assert.ok(message.includes(testCase.expect), message);
        // The parse functions reconcilers use must refuse what the API server refuses.
        const raw = { ...manifest(testCase.kind, name, testCase.spec) };
        assert.equal(
          parseResource(resourceFor(testCase.kind), JSON.parse(JSON.stringify(raw))).success,
          false,
        );
      }
    });
  }
});
