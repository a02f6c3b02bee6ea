// The operator process: settings → kube config → manager → controllers → start. Wiring only.
import { registerClusterController } from './cluster/reconciler.ts';
import { loadApiServerAccess } from './runtime/api-server.ts';
import { Manager, exitCodeOf } from './runtime/manager.ts';
import { createLogger } from './runtime/logger.ts';
import { SettingsError, loadSettings } from './settings.ts';
import type { Settings } from './settings.ts';
import { registerTopologyControllers } from './topology/controllers.ts';

/** Controllers register here, one line per area. */
function registerControllers(manager: Manager, settings: Settings): void {
  registerTopologyControllers(manager, settings);
  registerClusterController(manager, settings);
}

async function main(): Promise<void> {
  let settings: Settings;
  try {
    settings = loadSettings();
  } catch (err) {
    if (err instanceof SettingsError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger({ level: settings.logLevel });
  process.on('unhandledRejection', (err) => {
    log.fatal({ err }, 'unhandled rejection');
    process.exit(1);
  });
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception');
    process.exit(1);
  });

  const manager = new Manager({ apiServer: await loadApiServerAccess(), settings, logger: log });
  registerControllers(manager, settings);

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    log.info({ signal }, 'shutting down');
    void manager.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  await manager.start();
  log.info(
    {
      identity: manager.identity,
      apiServer: manager.apiServer.server,
      authentication: manager.apiServer.authentication,
      watchNamespaces: settings.watchNamespaces,
      leaderElect: settings.leaderElect,
    },
    'operator started',
  );
  const outcome = await manager.done;
  // A lost lease exits non-zero so the pod restarts as a clean standby (controller-runtime does the same).
  if (outcome === 'leadership-lost') log.error('exiting: leader election lost');
  process.exit(exitCodeOf(outcome));
}

await main();
