import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import {
  SHUTDOWN_MARGIN_SECONDS,
  managerManifests,
  operatorEnv,
  renderDeployFiles,
  repoRoot,
  staleDeployFiles,
  type ChartDefaults,
} from './render-deploy.ts';
import { watchedNamespaceRules } from '../src/rbac.ts';
import { loadSettings, parseDuration, settingsSchema } from '../src/settings.ts';

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

  it('give the operator, by default, the limits it would choose itself, and valid ones', async () => {
    const values = parse(
      await readFile(join(repoRoot, 'charts/warren/values.yaml'), 'utf8'),
    ) as ChartDefaults;
    const env: Record<string, string> = {};
    for (const item of operatorEnv(values, [])) {
      if (typeof item.value === 'string') env[item.name as string] = item.value;
    }
    const fromChart = loadSettings(env, []);
    const own = loadSettings({}, []);
    for (const field of [
      'maxConcurrentReconciles',
      'reconcileTimeout',
      'managementRequestTimeout',
      'managementExportTimeout',
      'managementMaxResponseSize',
      'maxReconcilesPerBroker',
    ] as const) {
      assert.equal(fromChart[field], own[field], field);
    }
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

  it('give the pod a grace period that outlasts the graceful shutdown timeout, so the Lease is released before SIGKILL', async () => {
    const files = await renderDeployFiles();
    const [doc] = parseAllDocuments(files.get('config/manager/manager.yaml')!);
    const pod = (
      doc!.toJS() as {
        spec: {
          template: {
            spec: {
              terminationGracePeriodSeconds: number;
              containers: { env: { name: string; value?: string }[] }[];
            };
          };
        };
      }
    ).spec.template.spec;
    const timeout = pod.containers[0]!.env.find((e) => e.name === 'GRACEFUL_SHUTDOWN_TIMEOUT')?.value;
    assert.ok(timeout, 'the timeout is set explicitly');
    const timeoutMs = parseDuration(timeout);
    assert.equal(timeoutMs, settingsSchema.parse({}).gracefulShutdownTimeout, "the operator's default");
    assert.ok(
      pod.terminationGracePeriodSeconds * 1000 >= timeoutMs + SHUTDOWN_MARGIN_SECONDS * 1000,
      `grace ${pod.terminationGracePeriodSeconds} s, timeout ${timeout}`,
    );
  });

  it('refuse chart defaults whose grace period leaves no time to release the Lease', () => {
    const values = { gracefulShutdownTimeoutSeconds: 30, terminationGracePeriodSeconds: 30 } as ChartDefaults;
    assert.throws(() => managerManifests(values, '0.1.0'), /at least gracefulShutdownTimeoutSeconds \+ 15/);
  });
});
