// Whole-environment helpers shared by the global setup and the CLI.
//
//   stopEnvironment(dir)  takes down a test node under dir (node/teardown.ts), then stops every other process
//                         recorded under dir (newest first) and forgets its records.
//   envFile(values, dir)  the shell file that `npm run testenv -- up` writes to .testenv/env (pure).
//   stopOnExit(dir)       last resort for an interrupted run: when this process exits or is told to stop before
//                         the normal teardown, SIGTERM whatever is still recorded under dir.
import { rmSync } from 'node:fs';
import { findRecords, signalProcess, stopProcess } from './process.ts';
import { findNodeDirs, teardownNode } from './node/teardown.ts';

export async function stopEnvironment(dir: string): Promise<string[]> {
  const stopped: string[] = [];
  // The node before the control plane: its containers go while its runtime can still stop them.
  for (const nodeDir of findNodeDirs(dir)) stopped.push(...(await teardownNode(nodeDir)));
  for (const { path, record } of findRecords(dir)) {
    await stopProcess(record);
    rmSync(path, { force: true });
    stopped.push(`${record.name} (pid ${record.pid})`);
  }
  return stopped;
}

/** Returns a function that cancels the safety net (for processes meant to outlive this one). */
export function stopOnExit(dir: string): () => void {
  const signalAll = () => {
    for (const { record } of findRecords(dir)) signalProcess(record, 'SIGTERM');
  };
  const onSignal = (sig: NodeJS.Signals) => {
    cancel();
    signalAll();
    process.kill(process.pid, sig); // our handlers are gone: the default action ends the process
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const cancel = () => {
    process.off('exit', signalAll);
    for (const sig of signals) process.off(sig, onSignal);
  };
  process.once('exit', signalAll);
  for (const sig of signals) process.once(sig, onSignal);
  return cancel;
}

const shellQuote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

export interface EnvFileValues {
  kubeconfigPath: string;
  managementUrl: string;
  amqpUrl: string;
  username: string;
  password: string;
  kubeBinDir: string;
  /** The test node's WARREN_* variables (node/node.ts), exported as they are. */
  node?: { [key: string]: string | number | undefined };
}

/** The text of .testenv/env: `export` lines a POSIX shell sources to use the environment in dir. */
export function envFile(state: EnvFileValues, dir: string): string {
  const exports: [string, string][] = [
    ['KUBECONFIG', state.kubeconfigPath],
    ['RABBITMQ_MANAGEMENT_URL', state.managementUrl],
    ['RABBITMQ_AMQP_URL', state.amqpUrl],
    ['RABBITMQ_USERNAME', state.username],
    ['RABBITMQ_PASSWORD', state.password],
    ['WARREN_TESTENV_DIR', dir],
    ...Object.entries(state.node ?? {}).filter(
      (entry): entry is [string, string] => entry[0].startsWith('WARREN_') && typeof entry[1] === 'string',
    ),
  ];
  return [
    '# Written by `npm run testenv -- up`; stop the environment with `npm run testenv -- down`.',
    ...exports.map(([key, value]) => `export ${key}=${shellQuote(value)}`),
    `export PATH=${shellQuote(state.kubeBinDir)}:"$PATH"`,
    '',
  ].join('\n');
}
