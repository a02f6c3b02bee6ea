// A dedicated RabbitMQ node for tests, separate from any system instance.
//
//   const broker = await startRabbitmq({ dir? });
//   broker.managementUrl  http://127.0.0.1:<port>          (management plugin enabled)
//   broker.amqpUrl        amqp://<user>:<password>@127.0.0.1:<port>
//   broker.username, broker.password                       a generated administrator (not guest)
//   broker.nodeName, broker.dir, broker.ports
//   await broker.stop();  await broker.start();            restart the same node with its data
//   await broker.destroy();                                stop for good; removes dir if it was a temporary one
//
// The node has its own name, data and log directories, AMQP, management and Erlang distribution ports and its
// own epmd on its own port, all on loopback, so nothing of it outlives stop(). It runs the package's own
// start script directly as the current user (Debian's /usr/sbin wrapper would switch to the `rabbitmq`
// user, which could not write our directories), with every file it reads and writes inside `dir`.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { freePorts, httpGet } from './net.ts';
import {
  failedOnPortInUse,
  findExecutable,
  spawnLogged,
  TestEnvError,
  waitUntil,
  type ManagedProcess,
} from './process.ts';

export interface RabbitmqOptions {
  /** Working directory for data, logs and configuration; a fresh temporary one when omitted. */
  dir?: string;
  timeoutMs?: number;
  /** rabbitmq.conf lines appended to the node's own, e.g. a TLS listener. */
  additionalConfig?: string;
}

export interface RabbitmqPorts {
  amqp: number;
  management: number;
  distribution: number;
  epmd: number;
  /** The stream protocol listener, for SuperStream partitions read back by offset. */
  stream: number;
}

/** Every plugin a topology kind needs: shovels, federation upstreams and streams, with their management parts. */
export const TEST_BROKER_PLUGINS = [
  'rabbitmq_management',
  'rabbitmq_shovel',
  'rabbitmq_shovel_management',
  'rabbitmq_federation',
  'rabbitmq_federation_management',
  'rabbitmq_stream',
  'rabbitmq_stream_management',
];

export interface RabbitmqHandle {
  managementUrl: string;
  amqpUrl: string;
  username: string;
  password: string;
  nodeName: string;
  dir: string;
  ports: RabbitmqPorts;
  /** The running processes (epmd, then the node); empty after stop(). */
  processes(): ManagedProcess[];
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

const DEBIAN_SERVER_SCRIPT = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const START_ATTEMPTS = 5;

export async function startRabbitmq(options: RabbitmqOptions = {}): Promise<RabbitmqHandle> {
  const serverScript = findRabbitmqServer();
  const epmd = findExecutable('epmd');
  if (epmd === null) {
    throw new TestEnvError(
      'epmd (part of Erlang) is not on PATH: install Erlang with rabbitmq-server and run again.',
    );
  }
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'warren-rabbitmq-'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const username = 'warren-admin';
  const password = randomBytes(18).toString('base64url');
  const nodeName = `warren-${randomBytes(4).toString('hex')}@localhost`;
  const timeoutMs = options.timeoutMs ?? 120_000;

  let processes: ManagedProcess[] = [];
  let ports: RabbitmqPorts | undefined;
  const launch = async (p: RabbitmqPorts) => {
    writeNodeFiles(dir, p, username, password, options.additionalConfig ?? '');
    const env = nodeEnvironment(dir, p, nodeName);
    const epmdProc = spawnLogged({
      name: 'epmd',
      command: epmd,
      args: ['-port', String(p.epmd), '-address', '127.0.0.1'],
      dir,
      env,
    });
    processes = [epmdProc];
    await waitUntil(`epmd on port ${p.epmd}`, () => canConnect(p.epmd), { timeoutMs, watch: processes });
    processes.push(spawnLogged({ name: 'rabbitmq', command: serverScript, args: [], dir, env }));
    const auth = { username, password };
    const base = `http://127.0.0.1:${p.management}`;
    await waitUntil(
      `RabbitMQ node ${nodeName} (management on ${p.management}, AMQP on ${p.amqp})`,
      async () =>
        (await httpGet(`${base}/api/health/checks/port-listener/${p.amqp}`, { auth })).status === 200,
      { timeoutMs, intervalMs: 500, watch: processes },
    );
  };
  const stop = async () => {
    // The node first, then its epmd.
    for (const proc of [...processes].reverse()) await proc.stop();
    processes = [];
  };

  for (let attempt = 1; ; attempt++) {
    const [amqp, management, distribution, epmdPort, stream] = await freePorts(5);
    const candidate = {
      amqp: amqp!,
      management: management!,
      distribution: distribution!,
      epmd: epmdPort!,
      stream: stream!,
    };
    try {
      await launch(candidate);
      ports = candidate;
      break;
    } catch (err) {
      const retry = attempt < START_ATTEMPTS && failedOnPortInUse(processes);
      await stop();
      if (!retry) {
        if (ownDir && process.env.WARREN_TESTENV_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }

  const fixedPorts = ports;
  return {
    managementUrl: `http://127.0.0.1:${fixedPorts.management}`,
    amqpUrl: `amqp://${encodeURIComponent(username)}:${encodeURIComponent(password)}@127.0.0.1:${fixedPorts.amqp}`,
    username,
    password,
    nodeName,
    dir,
    ports: fixedPorts,
    processes: () => [...processes],
    stop,
    destroy: async () => {
      await stop();
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
    start: async () => {
      if (processes.length > 0) return;
      try {
        await launch(fixedPorts);
      } catch (err) {
        await stop();
        throw err;
      }
    },
  };
}

function writeNodeFiles(
  dir: string,
  ports: RabbitmqPorts,
  username: string,
  password: string,
  additionalConfig: string,
): void {
  mkdirSync(join(dir, 'mnesia'), { recursive: true });
  mkdirSync(join(dir, 'log'), { recursive: true });
  // An empty env file keeps /etc/rabbitmq/rabbitmq-env.conf (a system node's settings) out of our node.
  writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
  writeFileSync(join(dir, 'enabled_plugins'), `[${TEST_BROKER_PLUGINS.join(',')}].\n`);
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    [
      `listeners.tcp.1 = 127.0.0.1:${ports.amqp}`,
      `stream.listeners.tcp.1 = 127.0.0.1:${ports.stream}`,
      'management.tcp.ip = 127.0.0.1',
      `management.tcp.port = ${ports.management}`,
      `default_user = ${username}`,
      `default_pass = ${password}`,
      'default_user_tags.administrator = true',
      'log.console = true',
      'log.console.level = info',
      'log.console.use_colors = off',
      'log.file = false',
      additionalConfig,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const cookie = join(dir, '.erlang.cookie');
  try {
    accessSync(cookie);
  } catch {
    writeFileSync(cookie, randomBytes(20).toString('hex').toUpperCase(), { mode: 0o400 });
  }
}

function nodeEnvironment(dir: string, ports: RabbitmqPorts, nodeName: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // Only what the scripts need from the caller; no RABBITMQ_* or ERL_* setting leaks in.
  for (const key of ['PATH', 'LANG', 'LC_ALL', 'TZ']) {
    if (process.env[key] !== undefined) env[key] = process.env[key];
  }
  return {
    ...env,
    HOME: dir, // where Erlang reads the cookie
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(ports.amqp),
    RABBITMQ_DIST_PORT: String(ports.distribution),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    ERL_EPMD_PORT: String(ports.epmd),
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The broker's real start script; installs Debian's package when running as root and it is missing. */
function findRabbitmqServer(): string {
  const found = locateServerScript();
  if (found !== null) return found;
  if (process.getuid?.() === 0 && findExecutable('apt-get') !== null) {
    process.stderr.write('rabbitmq-server is missing; installing it with apt-get\n');
    try {
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
      execFileSync('apt-get', ['install', '-y', '-qq', 'rabbitmq-server'], { stdio: 'inherit', env });
    } catch {
      throw new TestEnvError(
        'rabbitmq-server is missing and `apt-get install rabbitmq-server` failed (see above).',
      );
    }
    const installed = locateServerScript();
    if (installed !== null) return installed;
  }
  throw new TestEnvError(
    'rabbitmq-server is not installed: install it with `sudo apt-get install rabbitmq-server` ' +
      '(Debian/Ubuntu) or from https://www.rabbitmq.com/docs/download, then run again.',
  );
}

function locateServerScript(): string | null {
  try {
    accessSync(DEBIAN_SERVER_SCRIPT, constants.X_OK);
    return DEBIAN_SERVER_SCRIPT;
  } catch {
    // not the Debian layout: an upstream or Homebrew install puts the real script on PATH
    return findExecutable('rabbitmq-server');
  }
}
