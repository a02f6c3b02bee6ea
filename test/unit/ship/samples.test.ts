import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { kinds, resourceFor, type KindName } from '../../../src/api/kinds.ts';
import { parseResource } from '../../../src/api/resource.ts';

const samplesDir = join(import.meta.dirname, '../../../config/samples');

async function sampleObjects(): Promise<
  { file: string; object: { kind: KindName } & Record<string, unknown> }[]
> {
  const files = (await readdir(samplesDir)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  const out = [];
  for (const file of files.sort()) {
    for (const doc of parseAllDocuments(await readFile(join(samplesDir, file), 'utf8'))) {
      out.push({ file, object: doc.toJS() as { kind: KindName } & Record<string, unknown> });
    }
  }
  return out;
}

describe('config/samples', () => {
  it('holds an example of every kind', async () => {
    const present = new Set((await sampleObjects()).map(({ object }) => object.kind));
    assert.deepEqual(
      kinds.map((k) => k.kind).filter((kind) => !present.has(kind)),
      [],
    );
  });

  it('matches the schemas of src/api', async () => {
    // Secrets a sample needs (a Shovel's URIs) sit beside it; only Warren's kinds are checked here.
    const warren = (await sampleObjects()).filter(
      ({ object }) => object.apiVersion === 'warren.dev/v1alpha1',
    );
    for (const { file, object } of warren) {
      const result = parseResource(resourceFor(object.kind), object);
      assert.ok(result.success, `${file}: ${result.success ? '' : result.message}`);
    }
  });

  it('lists every file in its kustomization', async () => {
    const kustomization = parseAllDocuments(
      await readFile(join(samplesDir, 'kustomization.yaml'), 'utf8'),
    )[0]!.toJS() as {
      resources: string[];
    };
    const files = (await readdir(samplesDir)).filter(
      (f) => f.endsWith('.yaml') && f !== 'kustomization.yaml',
    );
    assert.deepEqual([...kustomization.resources].sort(), files.sort());
  });
});
