// config/ against the real API server of the test environment: every sample is accepted as written (CEL rules
// included), and the kustomize bases build and pass server-side validation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseManifests, repoRoot } from './helm.ts';

function kubectl(args: readonly string[], input?: string): string {
  return execFileSync('kubectl', args, {
    encoding: 'utf8',
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: process.env,
  });
}

describe('Plain manifests in config/', () => {
  it('accepts every sample in a namespace of its own', () => {
    const namespace = `samples-${randomBytes(3).toString('hex')}`;
    kubectl(['create', 'namespace', namespace]);
    const samples = parseManifests(kubectl(['kustomize', join(repoRoot, 'config/samples')]));
    for (const sample of samples) sample.metadata.namespace = namespace;
    kubectl(['apply', '--server-side', '-f', '-'], samples.map((s) => stringify(s)).join('---\n'));
    const stored = JSON.parse(kubectl(['get', '-n', namespace, 'warren', '-o', 'json'])) as {
      items: unknown[];
    };
    // Every Warren object; the Secrets beside them (a Shovel's URIs) are not in the category.
    assert.equal(stored.items.length, samples.filter((s) => s.kind !== 'Secret').length);
    kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  it('builds config/default with kustomize and passes server-side validation', () => {
    const built = kubectl(['kustomize', join(repoRoot, 'config/default')]);
    const kinds = parseManifests(built).map((m) => m.kind);
    for (const kind of [
      'CustomResourceDefinition',
      'ClusterRole',
      'Deployment',
      'ServiceAccount',
      'Namespace',
    ]) {
      assert.ok(kinds.includes(kind), `config/default holds a ${kind}`);
    }
    // Namespaced objects are only validated inside a namespace that exists.
    kubectl(
      ['apply', '-f', '-'],
      stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'warren-system' } }),
    );
    kubectl(['apply', '--server-side', '--dry-run=server', '--force-conflicts', '-f', '-'], built);
  });
});
