// Whole-environment helpers shared by the global setup and the CLI.
//
//   stopEnvironment(dir)  stops every process recorded under dir (newest first) and forgets its records.
//   stopOnExit(dir)       last resort for an interrupted run: when this process exits or is told to stop before
//                         the normal teardown, SIGTERM whatever is still recorded under dir.
import { rmSync } from 'node:fs';
import { findRecords, signalProcess, stopProcess } from './process.ts';

export async function stopEnvironment(dir: string): Promise<string[]> {
  const stopped: string[] = [];
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
