// The cluster controller in-process, as the cluster tests run it: one watched namespace, no leader election,
// no metrics or probe servers.
import { registerClusterController } from '../../../src/cluster/reconciler.ts';
import type { ApiServerAccess } from '../../../src/runtime/api-server.ts';
import { Manager } from '../../../src/runtime/manager.ts';
import { loadSettings } from '../../../src/settings.ts';

export async function startClusterOperator(apiServer: ApiServerAccess, namespace: string): Promise<Manager> {
  const settings = loadSettings(
    {
      WATCH_NAMESPACES: namespace,
      LEADER_ELECT: 'false',
      METRICS_BIND_ADDRESS: '0',
      HEALTH_PROBE_BIND_ADDRESS: '0',
      LOG_LEVEL: 'warn',
    },
    [],
  );
  const manager = new Manager({ apiServer, settings });
  registerClusterController(manager, settings);
  await manager.start();
  return manager;
}
