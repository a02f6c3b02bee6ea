// A small operator process for the leader election tests: a Manager with the test controller, configured
// from the environment like the real operator (KUBECONFIG, WATCH_NAMESPACES, LEADER_ELECTION_*, POD_NAME).
import { loadApiServerAccess } from '../../../src/runtime/api-server.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { Manager, exitCodeOf } from '../../../src/runtime/manager.ts';
import { loadSettings } from '../../../src/settings.ts';
import { annotatingController } from './test-controller.ts';

const settings = loadSettings();
const log = createLogger({ level: settings.logLevel, base: { identity: settings.podName } });
process.on('unhandledRejection', (err) => {
  log.fatal({ err }, 'unhandled rejection');
  process.exit(3);
});
process.on('uncaughtException', (err) => {
  log.fatal({ err }, 'uncaught exception');
  process.exit(3);
});

const manager = new Manager({ apiServer: await loadApiServerAccess(), settings, logger: log });
// BLOCK_EVENT_LOOP_ON=name:ms blocks the whole process (no timer, no I/O) for ms the first time that object is
// reconciled, just before its write: a starved event loop, at the worst moment.
const [blockOn, blockMs] = (process.env.BLOCK_EVENT_LOOP_ON ?? '').split(':');
manager.addController(
  annotatingController({
    client: manager.client,
    identity: manager.identity,
    before: (key, attempt) => {
      if (key.name !== blockOn || attempt !== 1) return;
      log.info({ ms: Number(blockMs) }, 'blocking the event loop');
      const until = performance.now() + Number(blockMs);
      while (performance.now() < until);
    },
  }),
);
const stop = () => void manager.stop();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
await manager.start();
const outcome = await manager.done;
process.exit(exitCodeOf(outcome));
