// Helpers for the runtime's integration tests: a Kubernetes API (the shared one of the test run when
// KUBECONFIG is set, else a control plane of this file's own) and a guard that fails
// the file on any unhandled rejection or uncaught exception.
import { KubeConfig } from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { accessFromKubeConfig, type ApiServerAccess } from '../../../src/runtime/api-server.ts';
import { KubeClient } from '../../../src/runtime/kube-client.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import type { Logger } from '../../../src/runtime/logger.ts';
import { loadSettings } from '../../../src/settings.ts';
import type { Settings } from '../../../src/settings.ts';
import { startControlPlane } from '../../env/control-plane.ts';
import type { ControlPlaneHandle } from '../../env/control-plane.ts';

/** Records unhandled rejections and uncaught exceptions; the file fails in after() if there were any. */
export function failOnUnhandled(): void {
  const problems: unknown[] = [];
  const record = (err: unknown) => problems.push(err);
  process.on('unhandledRejection', record);
  process.on('uncaughtException', record);
  after(() => {
    process.off('unhandledRejection', record);
    process.off('uncaughtException', record);
    assert.deepEqual(problems, [], 'no unhandled rejection or uncaught exception');
  });
}

export interface Api {
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  apiServer: ApiServerAccess;
  client: KubeClient;
  /** Present when this file started its own control plane. */
  controlPlane?: ControlPlaneHandle;
  close(): Promise<void>;
}

/** The test run's API server, or a dedicated control plane when `dedicated` (or when none is shared). */
export async function useApi(options: { dedicated?: boolean } = {}): Promise<Api> {
  let controlPlane: ControlPlaneHandle | undefined;
  let kubeconfigPath = process.env.KUBECONFIG;
  if (options.dedicated || !kubeconfigPath) {
    controlPlane = await startControlPlane({ crdDir: null, controllerManager: false });
    kubeconfigPath = controlPlane.kubeconfigPath;
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const apiServer = accessFromKubeConfig(kubeConfig);
  const client = new KubeClient(apiServer);
  return {
    kubeconfigPath,
    kubeConfig,
    apiServer,
    client,
    controlPlane,
    async close() {
      await client.close();
      await controlPlane?.stop();
    },
  };
}

/** Settings for a test manager: no servers, fast retries, overrides on top. */
export function testSettings(overrides: Record<string, string> = {}): Settings {
  return loadSettings(
    {
      METRICS_BIND_ADDRESS: '0',
      HEALTH_PROBE_BIND_ADDRESS: '0',
      LEADER_ELECT: 'false',
      LOG_LEVEL: process.env.WARREN_TEST_LOG_LEVEL ?? 'silent',
      ...overrides,
    },
    [],
  );
}

export function quietLogger(): Logger {
  return createLogger({ level: (process.env.WARREN_TEST_LOG_LEVEL as 'silent' | undefined) ?? 'silent' });
}
