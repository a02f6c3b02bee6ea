// The real operator as a process, for the fault suite: `node src/main.ts` from the sources, configured by
// environment variables as a pod is, and broken on purpose.
//
//   const op = await OperatorProcess.start({ name, dir, kubeconfigPath, watchNamespaces, env? })
//   op.lines            every line it wrote (stdout and stderr), parsed where it is JSON; also in <dir>/<name>.log
//   op.metrics()        a scrape of its /metrics (kept, so the secret scan sees every scrape)
//   op.kill('SIGKILL')  kill -9; op.stop() SIGTERM and wait; op.exited resolves with how it ended
//   op.crashes()        why it counts as crashed: a fatal line, or an exit nobody asked for
//
// Only the process started here is ever signalled, by its own PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePorts } from '../env/net.ts';
import { evidence } from './evidence.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

export interface LogLine {
  /** Milliseconds since the epoch: the operator's own timestamp when the line has one. */
  at: number;
  level?: string;
  msg?: string;
  raw: string;
}

export interface OperatorOptions {
  /** Used as POD_NAME, the leader election identity, and the log file's name. */
  name: string;
  dir: string;
  kubeconfigPath: string;
  watchNamespaces: string[];
  /** More settings (LEADER_ELECT, MANAGEMENT_REQUEST_TIMEOUT, ...); the defaults are the deployed ones. */
  env?: Record<string, string>;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  // Last resort for an interrupted suite: no operator outlives it.
  for (const child of running) child.kill('SIGKILL');
});

export class OperatorProcess {
  readonly name: string;
  readonly lines: LogLine[] = [];
  readonly exited: Promise<Exit>;
  readonly startedAt = Date.now();
  readonly logPath: string;
  readonly #child: ChildProcess;
  readonly #metricsUrl: string;
  readonly #log: WriteStream;
  #signalled: NodeJS.Signals | undefined;
  #exit: Exit | undefined;

  private constructor(options: OperatorOptions, metricsPort: number, healthPort: number) {
    this.name = options.name;
    mkdirSync(options.dir, { recursive: true });
    this.logPath = join(options.dir, `${options.name}.log`);
    this.#log = createWriteStream(this.logPath, { flags: 'a' });
    this.#metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const inherited = Object.fromEntries(
      ['PATH', 'HOME', 'LANG', 'TZ'].flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : [])),
    );
    this.#child = spawn(process.execPath, [MAIN], {
      env: {
        ...inherited,
        KUBECONFIG: options.kubeconfigPath,
        WATCH_NAMESPACES: options.watchNamespaces.join(','),
        LEADER_ELECT: 'false',
        POD_NAME: options.name,
        POD_NAMESPACE: options.watchNamespaces[0] ?? 'default',
        METRICS_BIND_ADDRESS: `127.0.0.1:${metricsPort}`,
        HEALTH_PROBE_BIND_ADDRESS: `127.0.0.1:${healthPort}`,
        LOG_LEVEL: 'debug',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(this.#child);
    for (const stream of [this.#child.stdout!, this.#child.stderr!]) {
      createInterface({ input: stream }).on('line', (raw) => this.#record(raw));
    }
    this.exited = new Promise<Exit>((resolve) =>
      this.#child.on('exit', (code, signal) => {
        running.delete(this.#child);
        this.#exit = { code, signal, at: Date.now() };
        resolve(this.#exit);
      }),
    );
    evidence.addFile(`log of ${options.name}`, this.logPath);
  }

  static async start(options: OperatorOptions): Promise<OperatorProcess> {
    const [metricsPort, healthPort] = await freePorts(2);
    return new OperatorProcess(options, metricsPort!, healthPort!);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  #record(raw: string): void {
    this.#log.write(`${raw}\n`);
    const line: LogLine = { at: Date.now(), raw };
    try {
      const parsed = JSON.parse(raw) as { time?: string | number; level?: string; msg?: string };
      if (parsed.time !== undefined) line.at = new Date(parsed.time).getTime();
      line.level = parsed.level;
      line.msg = parsed.msg;
    } catch {
      // not JSON: a Node warning or a crash trace, kept as it is
    }
    this.lines.push(line);
  }

  /** The first line (at or after `since`) whose message is `msg` or matches it. */
  first(msg: string | RegExp, since = 0): LogLine | undefined {
    return this.lines.find(
      (l) => l.at >= since && (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg ?? '')),
    );
  }

  /** A scrape of /metrics; undefined when it does not answer (not serving yet, or gone). */
  async metrics(): Promise<string | undefined> {
    try {
      const response = await fetch(this.#metricsUrl, { signal: AbortSignal.timeout(5_000) });
      const text = await response.text();
      evidence.add(`metrics of ${this.name}`, text);
      return text;
    } catch {
      return undefined;
    }
  }

  /** The sum of a metric's samples (all label sets), or undefined when it cannot be scraped. */
  async metric(name: string): Promise<number | undefined> {
    const text = await this.metrics();
    if (text === undefined) return undefined;
    let sum = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.split(' ').at(-1));
    }
    return sum;
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.running) return;
    this.#signalled = signal;
    this.#child.kill(signal);
  }

  /** SIGTERM, as the kubelet does; resolves with the exit. SIGKILL after `graceMs` if it has not exited. */
  async stop(graceMs = 40_000): Promise<Exit> {
    if (!this.running) return this.#exit!;
    await this.metrics();
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    await new Promise<void>((resolve) => this.#log.end(resolve));
    return exit;
  }

  /** Why this process counts as crashed; empty when it did not. */
  crashes(): string[] {
    const found = this.lines
      .filter((l) => l.level === 'fatal' || /^(Uncaught|TypeError|RangeError|ReferenceError)\b/.test(l.raw))
      .map((l) => `${this.name} logged: ${l.raw.slice(0, 400)}`);
    const exit = this.#exit;
    if (exit && this.#signalled === undefined) {
      found.push(`${this.name} exited by itself (code ${exit.code}, signal ${exit.signal})`);
    } else if (exit && this.#signalled === 'SIGTERM' && exit.code !== 0) {
      found.push(`${this.name} exited ${exit.code ?? exit.signal} after SIGTERM`);
    }
    return found;
  }
}
