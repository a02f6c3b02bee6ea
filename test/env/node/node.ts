// A real single Kubernetes node beside the test control plane: containerd with runc and the CNI bridge, the
// kubelet registered as one schedulable node, kube-scheduler, kube-proxy (nftables) and CoreDNS, all as local
// processes, with images built here and imported (nothing is ever pulled).
//
//   nodeUnavailable()                   why no node can run on this machine now (one line), or undefined
//   const node = await startNode({ dir, controlPlane, images })
//   node.name, node.ip, node.images     the node's name and address, and the images it holds
//   await node.stop()                   everything down, nothing left behind (teardown.ts)
//
// Pods reach the API server through the `kubernetes` Service, whose one endpoint is a relay on the bridge
// address to the API server's loopback port; PersistentVolumeClaims of the default StorageClass are provisioned
// as directories under <dir>/volumes by provisioner.ts.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { join } from 'node:path';
import { ensureNodeBinaries, type NodeBinaries } from '../binaries.ts';
import { ensureImages } from '../images/images.ts';
import { freePorts, httpGet } from '../net.ts';
import {
  findExecutable,
  isRunning,
  PID_FILE_SUFFIX,
  spawnLogged,
  TestEnvError,
  waitUntil,
  type ManagedProcess,
  type ProcessRecord,
} from '../process.ts';
import {
  BRIDGE,
  cniConfig,
  containerdConfig,
  corefile,
  KERNEL_TUNABLES,
  kubeletConfig,
  kubeProxyConfig,
  NODE_IP,
  NODE_NAME,
  POD_CIDR,
  registryHosts,
  resolvConf,
  SERVICE_CIDR,
  type NodeLayout,
} from './config.ts';
import {
  leftovers,
  NODE_OWNER_FILE,
  readNodeRecord,
  teardownNode,
  writeNodeRecord,
  type NodeRecord,
} from './teardown.ts';
import { STORAGE_CLASS } from './provisioner.ts';

export interface NodeImages {
  pause: string;
  rabbitmq: string;
  operator: string;
}

export interface NodeOptions {
  dir: string;
  bins: NodeBinaries;
  controlPlane: { kubeconfigPath: string; apiServerPort: number; kubectl: string };
  /** Image archives to import, by name. */
  images: { name: string; archive: string }[];
  pauseImage: string;
  /** Loopback ports of host services (the test broker) that pods reach at the node's address, same port. */
  relayPorts?: number[];
  timeoutMs?: number;
}

export interface NodeHandle {
  name: string;
  ip: string;
  dir: string;
  /** Seconds from the first process to a Ready, schedulable node with DNS answering. */
  startSeconds: number;
  processes(): ManagedProcess[];
  stop(): Promise<string[]>;
}

/** Why a node cannot run here, in one line; undefined when it can. */
export function nodeUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `the test node needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'the test node needs root (containers, mounts, a bridge and nftables)';
  if (!existsSync('/proc/self/ns/net') || !existsSync('/sys/fs/cgroup')) {
    return 'the test node needs network namespaces and cgroups, which this kernel does not offer';
  }
  for (const tool of ['ip', 'nft', 'socat', 'mount']) {
    if (findExecutable(tool) === null) {
      return `the test node needs \`${tool}\` (Debian packages iproute2, nftables, socat): run .ci/run's install step`;
    }
  }
  const owner = liveOwner();
  if (owner) return `another test environment's node is running on this machine (${owner})`;
  return undefined;
}

/** The node directory of a node that still runs here, if any. */
function liveOwner(): string | undefined {
  let owner: string;
  try {
    owner = readFileSync(NODE_OWNER_FILE, 'utf8').trim();
  } catch {
    return undefined;
  }
  const record = readNodeRecord(owner);
  if (record === undefined) return undefined;
  // A record outlives its process when the machine restarts mid-run: only a process that still runs holds the node.
  const alive = ['containerd', 'kubelet'].some((name) => {
    try {
      const record = JSON.parse(
        readFileSync(join(owner, `${name}${PID_FILE_SUFFIX}`), 'utf8'),
      ) as ProcessRecord;
      return isRunning(record);
    } catch {
      return false;
    }
  });
  return alive ? owner : undefined;
}

/** What a crashed run left (its claim, bridge and tables): ours to remove before a new node starts. */
async function clearStaleNode(): Promise<void> {
  try {
    const stale = readFileSync(NODE_OWNER_FILE, 'utf8').trim();
    if (readNodeRecord(stale)) await teardownNode(stale);
  } catch {
    // no claim
  }
  try {
    run('ip', ['link', 'delete', BRIDGE]);
  } catch {
    // no bridge left
  }
}

const run = (command: string, args: string[], env?: NodeJS.ProcessEnv) =>
  execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env, timeout: 120_000 });

function runOrExplain(what: string, command: string, args: string[], env?: NodeJS.ProcessEnv): string {
  try {
    return run(command, args, env);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? String(err);
    throw new TestEnvError(`${what} failed: ${stderr.trim()}`);
  }
}

export async function startNode(options: NodeOptions): Promise<NodeHandle> {
  const reason = nodeUnavailable();
  if (reason) throw new TestEnvError(reason);
  const started = Date.now();
  const { dir, bins } = options;
  await clearStaleNode();
  const timeoutMs = options.timeoutMs ?? 120_000;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const containerdSocket = join(dir, 'containerd', 'containerd.sock');
  const record: NodeRecord = {
    dir,
    bridge: BRIDGE,
    cgroupRoot: `/warren-node-${randomBytes(3).toString('hex')}`,
    sysctls: Object.fromEntries(
      KERNEL_TUNABLES.map((k) => [`/proc/sys/${k}`, readFileSync(`/proc/sys/${k}`, 'utf8').trim()]),
    ),
    ctr: bins.ctr,
    containerdSocket,
    createdPaths: ['/var/log/pods', '/var/log/containers', '/run/containerd'].filter((p) => !existsSync(p)),
  };
  // Written before anything starts: whatever happens next, teardownNode undoes the same list.
  writeNodeRecord(record);
  writeFileSync(NODE_OWNER_FILE, dir + '\n');
  const processes: ManagedProcess[] = [];
  try {
    const [kubelet, kubeletHealthz, proxyHealthz, proxyMetrics, scheduler, relay] = await freePorts(6);
    const layout: NodeLayout = {
      dir,
      containerdSocket,
      runc: bins.runc,
      cniBinDir: bins.cniBinDir,
      pauseImage: options.pauseImage,
      kubeconfigPath: options.controlPlane.kubeconfigPath,
      cgroupRoot: record.cgroupRoot,
      ports: {
        kubelet: kubelet!,
        kubeletHealthz: kubeletHealthz!,
        proxyHealthz: proxyHealthz!,
        proxyMetrics: proxyMetrics!,
      },
    };
    createBridge();
    createCgroupRoot(record.cgroupRoot);
    writeConfigs(layout);

    // kube-proxy runs `nft`, the kubelet `mount`: the sbin directories are on their PATH whatever ours is.
    const baseEnv = { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` };
    const spawn = (name: string, command: string, args: string[], env: NodeJS.ProcessEnv = baseEnv) => {
      const proc = spawnLogged({ name, command, args, dir, env });
      processes.push(proc);
      return proc;
    };
    // containerd finds its shim on PATH.
    const containerdEnv = { ...baseEnv, PATH: `${bins.containerdBinDir}:${baseEnv.PATH}` };
    const containerd = spawn(
      'containerd',
      bins.containerd,
      ['--config', join(dir, 'containerd.toml')],
      containerdEnv,
    );
    const ctr = (...args: string[]) => run(bins.ctr, ['-a', containerdSocket, '-n', 'k8s.io', ...args]);
    await waitUntil('containerd', () => Promise.resolve(ctr('version').includes('Server')), {
      timeoutMs,
      watch: [containerd],
    });
    for (const image of options.images) {
      runOrExplain(`importing ${image.name} into containerd`, bins.ctr, [
        '-a',
        containerdSocket,
        '-n',
        'k8s.io',
        'images',
        'import',
        '--no-unpack=false',
        image.archive,
      ]);
    }

    const kubectl = (...args: string[]) =>
      runOrExplain(`kubectl ${args[0] ?? ''}`, options.controlPlane.kubectl, [
        `--kubeconfig=${options.controlPlane.kubeconfigPath}`,
        ...args,
      ]);
    // Pods reach the API server at the `kubernetes` Service: its endpoint is this relay on the bridge address.
    const relayProc = spawn('apiserver-relay', 'socat', [
      `TCP-LISTEN:${relay},bind=${NODE_IP},fork,reuseaddr`,
      `TCP:127.0.0.1:${options.controlPlane.apiServerPort}`,
    ]);
    for (const port of options.relayPorts ?? []) {
      spawn(`relay-${port}`, 'socat', [
        `TCP-LISTEN:${port},bind=${NODE_IP},fork,reuseaddr`,
        `TCP:127.0.0.1:${port}`,
      ]);
    }
    writeFileSync(join(dir, 'cluster.yaml'), clusterObjects(relay!));
    kubectl('apply', '--server-side', '--field-manager=warren-testenv', '-f', join(dir, 'cluster.yaml'));

    const kubeconfig = options.controlPlane.kubeconfigPath;
    const coredns = spawn('coredns', bins.coredns, ['-conf', join(dir, 'Corefile')]);
    const schedulerProc = spawn('kube-scheduler', bins.kubeScheduler, [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${scheduler}`,
    ]);
    const proxy = spawn('kube-proxy', bins.kubeProxy, [`--config=${join(dir, 'kube-proxy.yaml')}`]);
    const kubeletProc = spawn('kubelet', bins.kubelet, [
      `--config=${join(dir, 'kubelet.yaml')}`,
      `--kubeconfig=${kubeconfig}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${NODE_IP}`,
      `--root-dir=${join(dir, 'kubelet')}`,
      `--cert-dir=${join(dir, 'kubelet', 'pki')}`,
    ]);
    const provisioner = spawn('provisioner', process.execPath, [
      join(import.meta.dirname, 'provisioner.ts'),
      kubeconfig,
      join(dir, 'volumes'),
    ]);
    const watch = [containerd, relayProc, coredns, schedulerProc, proxy, kubeletProc, provisioner];

    await waitUntil(
      `node ${NODE_NAME} to be Ready`,
      () => Promise.resolve(/"Ready"[^}]*"True"|True/.test(nodeReady(kubectl))),
      { timeoutMs, watch },
    );
    // No node-lifecycle controller runs here to lift the taint the kubelet registers with.
    try {
      kubectl('taint', 'node', NODE_NAME, 'node.kubernetes.io/not-ready:NoSchedule-');
    } catch {
      // already lifted
    }
    await waitUntil(
      'kube-scheduler',
      async () =>
        (await httpGet(`https://127.0.0.1:${scheduler}/healthz`, { insecure: true })).status === 200,
      { timeoutMs, watch },
    );
    await waitUntil(
      'kube-proxy',
      async () => (await httpGet(`http://127.0.0.1:${proxyHealthz}/healthz`)).status === 200,
      { timeoutMs, watch },
    );
    const resolver = new Resolver({ timeout: 1000, tries: 1 });
    resolver.setServers([NODE_IP]);
    await waitUntil(
      'CoreDNS to answer for kubernetes.default.svc.cluster.local',
      async () => (await resolver.resolve4('kubernetes.default.svc.cluster.local')).length > 0,
      { timeoutMs, watch },
    );
    const startSeconds = (Date.now() - started) / 1000;
    return {
      name: NODE_NAME,
      ip: NODE_IP,
      dir,
      startSeconds,
      processes: () => processes,
      stop: async () => {
        const done = await teardownNode(dir);
        const left = leftovers(record);
        if (left.length > 0) throw new TestEnvError(`the test node left behind: ${left.join(', ')}`);
        return done;
      },
    };
  } catch (err) {
    await teardownNode(dir);
    throw err;
  }
}

function nodeReady(kubectl: (...args: string[]) => string): string {
  try {
    return kubectl(
      'get',
      'node',
      NODE_NAME,
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
    );
  } catch {
    return '';
  }
}

function createBridge(): void {
  const ip = (...args: string[]) => runOrExplain(`ip ${args.join(' ')}`, 'ip', args);
  ip('link', 'add', BRIDGE, 'type', 'bridge');
  ip('addr', 'add', `${NODE_IP}/${POD_CIDR.split('/')[1]}`, 'dev', BRIDGE);
  ip('link', 'set', BRIDGE, 'up');
  // Service addresses belong to the bridge alone: nothing for them ever heads for another interface.
  ip('route', 'add', SERVICE_CIDR, 'dev', BRIDGE);
  // A pod's packet to a Service comes in on the bridge, is translated, and goes out on it again: forwarding on
  // this interface only; the machine-wide ip_forward stays off.
  writeFileSync(`/proc/sys/net/ipv4/conf/${BRIDGE}/forwarding`, '1');
}

/**
 * The kubelet's cgroup parent must exist under every controller before it starts. A new cpuset cgroup of v1 has
 * no CPUs or memory nodes until given its parent's.
 */
function createCgroupRoot(root: string): void {
  for (const controller of readdirSync('/sys/fs/cgroup')) {
    if (controller === 'unified') continue;
    const parent = join('/sys/fs/cgroup', controller);
    const path = join(parent, root);
    mkdirSync(path, { recursive: true });
    if (existsSync(join(path, 'cpuset.cpus'))) {
      for (const file of ['cpuset.cpus', 'cpuset.mems']) {
        writeFileSync(join(path, file), readFileSync(join(parent, file), 'utf8').trim());
      }
    }
  }
}

function writeConfigs(layout: NodeLayout): void {
  const { dir } = layout;
  for (const sub of ['containerd', 'cni/net.d', 'containerd/certs.d/_default', 'kubelet', 'volumes']) {
    mkdirSync(join(dir, sub), { recursive: true });
  }
  writeFileSync(join(dir, 'containerd.toml'), containerdConfig(layout));
  writeFileSync(join(dir, 'containerd/certs.d/_default/hosts.toml'), registryHosts());
  writeFileSync(join(dir, 'cni/net.d/10-warren.conflist'), cniConfig());
  writeFileSync(join(dir, 'kubelet.yaml'), kubeletConfig(layout));
  writeFileSync(join(dir, 'kube-proxy.yaml'), kubeProxyConfig(layout));
  writeFileSync(join(dir, 'Corefile'), corefile(layout.kubeconfigPath));
  writeFileSync(join(dir, 'resolv.conf'), resolvConf());
}

/** The `kubernetes` Service's endpoint and the default StorageClass, as one manifest. */
function clusterObjects(relayPort: number): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: 'kubernetes',
          namespace: 'default',
          labels: {
            'kubernetes.io/service-name': 'kubernetes',
            'endpointslice.kubernetes.io/managed-by': 'warren-testenv',
          },
        },
        addressType: 'IPv4',
        endpoints: [{ addresses: [NODE_IP], conditions: { ready: true } }],
        ports: [{ name: 'https', port: relayPort, protocol: 'TCP' }],
      },
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: {
          name: STORAGE_CLASS.name,
          annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
        },
        provisioner: STORAGE_CLASS.provisioner,
        volumeBindingMode: 'WaitForFirstConsumer',
        reclaimPolicy: 'Delete',
        allowVolumeExpansion: false,
      },
    ],
  });
}

/** What tests and scripts read about the node, as environment variables (see test/env/shared.ts). */
export type TestNodeVars = {
  WARREN_NODE_NAME?: string;
  WARREN_NODE_IP?: string;
  WARREN_RABBITMQ_IMAGE?: string;
  WARREN_OPERATOR_IMAGE?: string;
  /** The AMQP client of the end-to-end test (test/e2e/amqp-check). */
  WARREN_AMQP_CHECK_IMAGE?: string;
  /** Why no node runs, in one line; set instead of the others. */
  WARREN_NODE_UNAVAILABLE?: string;
};

/**
 * The node for a whole test environment: decides first whether one can run (WARREN_TESTENV_NODE=0 turns it off),
 * so the control plane can be started `forNode`, then builds what it needs and starts it once the plane is up.
 */
export function planTestNode(): { unavailable?: string } {
  if (process.env.WARREN_TESTENV_NODE === '0')
    return { unavailable: 'the test node is turned off (WARREN_TESTENV_NODE=0)' };
  return { unavailable: nodeUnavailable() };
}

/** The node beside a running control plane, with the test broker's ports relayed to the node's address. */
export async function startTestNode(
  dir: string,
  controlPlane: { kubeconfigPath: string; ports: { apiServer: number }; kubectl: string },
  broker: { ports: { management: number; amqp: number } },
): Promise<{ node: NodeHandle; vars: TestNodeVars }> {
  const bins = ensureNodeBinaries();
  const images = await ensureImages();
  const node = await startNode({
    dir,
    bins,
    controlPlane: {
      kubeconfigPath: controlPlane.kubeconfigPath,
      apiServerPort: controlPlane.ports.apiServer,
      kubectl: controlPlane.kubectl,
    },
    images: [images.pause, images.rabbitmq, images.operator, images['amqp-check']],
    pauseImage: images.pause.name,
    relayPorts: [broker.ports.management, broker.ports.amqp],
  });
  return {
    node,
    vars: {
      WARREN_NODE_NAME: node.name,
      WARREN_NODE_IP: node.ip,
      WARREN_RABBITMQ_IMAGE: images.rabbitmq.name,
      WARREN_OPERATOR_IMAGE: images.operator.name,
      WARREN_AMQP_CHECK_IMAGE: images['amqp-check'].name,
    },
  };
}
