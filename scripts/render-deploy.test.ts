import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { renderDeployFiles, staleDeployFiles } from './render-deploy.ts';
import { watchedNamespaceRules } from '../src/rbac.ts';

describe('Rendered chart and plain manifests', () => {
  it('are up to date with crds/, src/rbac.ts and the chart defaults (run npm run generate when this fails)', async () => {
    assert.deepEqual(await staleDeployFiles(), []);
  });

  it('give the plain ClusterRole exactly the rules of src/rbac.ts', async () => {
    const files = await renderDeployFiles();
    const [doc] = parseAllDocuments(files.get('config/rbac/role.yaml')!);
    const role = doc!.toJS() as { kind: string; rules: unknown };
    assert.equal(role.kind, 'ClusterRole');
    assert.deepEqual(role.rules, watchedNamespaceRules);
  });

  it('run the operator with the restricted security context of the chart defaults', async () => {
    const files = await renderDeployFiles();
    const [doc] = parseAllDocuments(files.get('config/manager/manager.yaml')!);
    const deployment = doc!.toJS() as {
      spec: {
        template: {
          spec: { securityContext: Record<string, unknown>; containers: Record<string, unknown>[] };
        };
      };
    };
    const pod = deployment.spec.template.spec;
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.deepEqual(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' });
    assert.deepEqual(pod.containers[0]!.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
  });
});
