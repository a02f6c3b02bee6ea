// A real Kubernetes control plane for tests, envtest-style: etcd, kube-apiserver and kube-controller-manager
// as local processes on free loopback ports, with generated certificates and an admin kubeconfig.
//
//   const cp = await startControlPlane({ crdDir?, controllerManager?, dir? });
//   cp.kubeconfigPath, cp.kubeconfig (text), cp.apiServerUrl, cp.dir, cp.kubectl (path of the built kubectl)
//   await cp.stopApiServer(); await cp.startApiServer();   same etcd, same port: for tests of API outages
//   await cp.stop();                                        everything, by PID, newest first; removes dir if
//                                                           it was a temporary one
//
// Order: etcd, kube-apiserver, then the CRDs from crdDir (default: the repository's crds/; null for none)
// until Established, then kube-controller-manager, so its garbage collector discovers the CRD kinds at start.
// With `forNode: true` the plane is ready for the test node (node/node.ts) to join it: the API server's
// certificate also names the `kubernetes` Service, pods get their service account tokens, the API server calls
// kubelets at their InternalIP, and the controllers a node needs (endpoints, volumes) run. Without it there is no
// scheduler and no kubelet: pods stay Pending unless a test writes their status.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureBinaries, type Binaries } from './binaries.ts';
import { generateCertificates, writeAdminKubeconfig, type CertificatePaths } from './certs.ts';
import { freePorts, httpGet } from './net.ts';
import { API_SERVER_NAMES } from './node/config.ts';
import { failedOnPortInUse, spawnLogged, TestEnvError, waitUntil, type ManagedProcess } from './process.ts';

export const DEFAULT_CONTROLLERS = [
  'garbage-collector-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'root-ca-certificate-publisher-controller',
  'statefulset-controller',
  'replicaset-controller',
  'deployment-controller',
] as const;

/**
 * What a node needs on top: Service endpoints for pods and DNS, claims bound to provisioned volumes, and Jobs
 * (the end-to-end test runs its AMQP client as one).
 */
export const NODE_CONTROLLERS = [
  'endpoints-controller',
  'endpointslice-controller',
  'endpointslice-mirroring-controller',
  'persistentvolume-binder-controller',
  'persistentvolume-protection-controller',
  'persistentvolumeclaim-protection-controller',
  'pod-garbage-collector-controller',
  'disruption-controller',
  'job-controller',
] as const;

export interface ControlPlaneOptions {
  /** Directory of CRD YAML files to install before kube-controller-manager starts; null installs none. */
  crdDir?: string | null;
  /** Start kube-controller-manager (default true). */
  controllerManager?: boolean;
  controllers?: readonly string[];
  /** Working directory for certificates, data and logs; a fresh temporary one when omitted. */
  dir?: string;
  /** Per component (default 90 s). */
  timeoutMs?: number;
  /** Prepare for the test node to join (see the top of this file). */
  forNode?: boolean;
}

export interface ControlPlanePorts {
  etcdClient: number;
  etcdPeer: number;
  apiServer: number;
  controllerManager: number;
}

export interface ControlPlaneHandle {
  kubeconfigPath: string;
  kubeconfig: string;
  apiServerUrl: string;
  dir: string;
  kubectl: string;
  ports: ControlPlanePorts;
  processes(): ManagedProcess[];
  stopApiServer(): Promise<void>;
  startApiServer(): Promise<void>;
  stop(): Promise<void>;
}

const REPO_CRD_DIR = join(import.meta.dirname, '..', '..', 'crds');
const START_ATTEMPTS = 5;
const execFileAsync = promisify(execFile);

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlaneHandle> {
  const bins = ensureBinaries();
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'warren-controlplane-'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const forNode = options.forNode ?? false;
  const certs = generateCertificates(dir, forNode ? API_SERVER_NAMES : undefined);
  const crdDir = options.crdDir === undefined ? REPO_CRD_DIR : options.crdDir;
  const timeoutMs = options.timeoutMs ?? 90_000;

  for (let attempt = 1; ; attempt++) {
    const [etcdClient, etcdPeer, apiServer, controllerManager] = await freePorts(4);
    const ports = {
      etcdClient: etcdClient!,
      etcdPeer: etcdPeer!,
      apiServer: apiServer!,
      controllerManager: controllerManager!,
    };
    const plane = new ControlPlane(bins, certs, dir, ports, timeoutMs, ownDir, forNode);
    try {
      await plane.start(
        crdDir,
        options.controllerManager ?? true,
        options.controllers ??
          (forNode ? [...DEFAULT_CONTROLLERS, ...NODE_CONTROLLERS] : DEFAULT_CONTROLLERS),
      );
      return plane.handle();
    } catch (err) {
      const retry = attempt < START_ATTEMPTS && failedOnPortInUse(plane.all());
      await plane.stopProcesses();
      if (!retry) {
        if (ownDir && process.env.WARREN_TESTENV_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
}

class ControlPlane {
  readonly #bins: Binaries;
  readonly #certs: CertificatePaths;
  readonly #dir: string;
  readonly #ports: ControlPlanePorts;
  readonly #timeoutMs: number;
  readonly #apiServerUrl: string;
  readonly #kubeconfigPath: string;
  readonly #kubeconfig: string;
  readonly #ownDir: boolean;
  readonly #forNode: boolean;
  #etcd: ManagedProcess | undefined;
  #apiServer: ManagedProcess | undefined;
  #controllerManager: ManagedProcess | undefined;

  constructor(
    bins: Binaries,
    certs: CertificatePaths,
    dir: string,
    ports: ControlPlanePorts,
    timeoutMs: number,
    ownDir: boolean,
    forNode: boolean,
  ) {
    this.#ownDir = ownDir;
    this.#forNode = forNode;
    this.#bins = bins;
    this.#certs = certs;
    this.#dir = dir;
    this.#ports = ports;
    this.#timeoutMs = timeoutMs;
    this.#apiServerUrl = `https://127.0.0.1:${ports.apiServer}`;
    this.#kubeconfigPath = join(dir, 'admin.kubeconfig');
    this.#kubeconfig = writeAdminKubeconfig(certs, this.#apiServerUrl, this.#kubeconfigPath);
  }

  all(): ManagedProcess[] {
    return [this.#etcd, this.#apiServer, this.#controllerManager].filter((p) => p !== undefined);
  }

  async start(
    crdDir: string | null,
    controllerManager: boolean,
    controllers: readonly string[],
  ): Promise<void> {
    await this.#startEtcd();
    await this.startApiServer();
    if (crdDir !== null) await this.#installCrds(crdDir);
    if (controllerManager) await this.#startControllerManager(controllers);
  }

  async #startEtcd(): Promise<void> {
    const { etcdClient, etcdPeer } = this.#ports;
    const dataDir = join(this.#dir, 'etcd');
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { mode: 0o700 });
    this.#etcd = spawnLogged({
      name: 'etcd',
      command: this.#bins.etcd,
      dir: this.#dir,
      args: [
        `--data-dir=${dataDir}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
    });
    await waitUntil(
      `etcd on port ${etcdClient}`,
      async () => {
        const res = await httpGet(`http://127.0.0.1:${etcdClient}/health`);
        return res.status === 200 && /"health":\s*"true"/.test(res.body);
      },
      { timeoutMs: this.#timeoutMs, watch: [this.#etcd] },
    );
  }

  async startApiServer(): Promise<void> {
    if (this.#apiServer && this.#apiServer.exitStatus() === undefined) return;
    const c = this.#certs;
    const port = this.#ports.apiServer;
    const proc = spawnLogged({
      name: 'kube-apiserver',
      command: this.#bins.kubeApiserver,
      dir: this.#dir,
      args: [
        `--etcd-servers=http://127.0.0.1:${this.#ports.etcdClient}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${port}`,
        '--advertise-address=127.0.0.1', // without it the server exits where there is no default route
        `--cert-dir=${join(this.#dir, 'apiserver')}`,
        `--tls-cert-file=${c.serverCert}`,
        `--tls-private-key-file=${c.serverKey}`,
        `--client-ca-file=${c.caCert}`,
        '--authorization-mode=RBAC',
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        ...(this.#forNode
          ? // Pods that run get their service account token; the kubelet is called at the node's bridge address;
            // a namespace can keep its pods off the node (tests that play the kubelet) with PodNodeSelector.
            ['--kubelet-preferred-address-types=InternalIP', '--enable-admission-plugins=PodNodeSelector']
          : // As envtest: pods are admitted before their namespace's default ServiceAccount exists.
            ['--disable-admission-plugins=ServiceAccount']),
        `--service-account-issuer=https://127.0.0.1:${port}/`,
        `--service-account-key-file=${c.serviceAccountPublicKey}`,
        `--service-account-signing-key-file=${c.serviceAccountKey}`,
        '--endpoint-reconciler-type=none',
      ],
    });
    this.#apiServer = proc;
    const tls = this.#adminTls();
    await waitUntil(
      `kube-apiserver on ${this.#apiServerUrl}`,
      async () =>
        (await httpGet(`${this.#apiServerUrl}/readyz`, tls)).status === 200 &&
        (await httpGet(`${this.#apiServerUrl}/api/v1/namespaces/default`, tls)).status === 200,
      { timeoutMs: this.#timeoutMs, watch: [proc] },
    );
  }

  async stopApiServer(): Promise<void> {
    await this.#apiServer?.stop();
    this.#apiServer = undefined;
  }

  #adminTls() {
    return {
      ca: readFileSync(this.#certs.caCert, 'utf8'),
      cert: readFileSync(this.#certs.adminCert, 'utf8'),
      key: readFileSync(this.#certs.adminKey, 'utf8'),
    };
  }

  async #installCrds(crdDir: string): Promise<void> {
    if (!existsSync(crdDir)) return;
    const files = readdirSync(crdDir)
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => join(crdDir, f));
    if (files.length === 0) return;
    const kubectl = async (...args: string[]) => {
      try {
        await execFileAsync(this.#bins.kubectl, [`--kubeconfig=${this.#kubeconfigPath}`, ...args]);
      } catch (err) {
        const stderr = (err as { stderr?: string }).stderr ?? String(err);
        throw new TestEnvError(`kubectl ${args[0] ?? ''} of the CRDs in ${crdDir} failed: ${stderr.trim()}`);
      }
    };
    const fileArgs = files.flatMap((f) => ['-f', f]);
    await kubectl('apply', '--server-side', '--field-manager=warren-testenv', ...fileArgs);
    await kubectl('wait', '--for=condition=Established', `--timeout=${this.#timeoutMs / 1000}s`, ...fileArgs);
  }

  async #startControllerManager(controllers: readonly string[]): Promise<void> {
    const c = this.#certs;
    const port = this.#ports.controllerManager;
    const proc = spawnLogged({
      name: 'kube-controller-manager',
      command: this.#bins.kubeControllerManager,
      dir: this.#dir,
      args: [
        `--kubeconfig=${this.#kubeconfigPath}`,
        `--authentication-kubeconfig=${this.#kubeconfigPath}`,
        `--authorization-kubeconfig=${this.#kubeconfigPath}`,
        '--leader-elect=false',
        `--controllers=${controllers.join(',')}`,
        `--service-account-private-key-file=${c.serviceAccountKey}`,
        `--root-ca-file=${c.caCert}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${port}`,
        `--cert-dir=${join(this.#dir, 'kube-controller-manager')}`,
        '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
        '--kube-api-qps=1000',
        '--kube-api-burst=2000',
      ],
    });
    this.#controllerManager = proc;
    await waitUntil(
      `kube-controller-manager on port ${port}`,
      async () => (await httpGet(`https://127.0.0.1:${port}/healthz`, { insecure: true })).status === 200,
      { timeoutMs: this.#timeoutMs, watch: [proc] },
    );
  }

  async stopProcesses(): Promise<void> {
    for (const proc of this.all().reverse()) await proc.stop();
    this.#etcd = this.#apiServer = this.#controllerManager = undefined;
  }

  async stop(): Promise<void> {
    await this.stopProcesses();
    if (this.#ownDir) rmSync(this.#dir, { recursive: true, force: true });
  }

  handle(): ControlPlaneHandle {
    return {
      kubeconfigPath: this.#kubeconfigPath,
      kubeconfig: this.#kubeconfig,
      apiServerUrl: this.#apiServerUrl,
      dir: this.#dir,
      kubectl: this.#bins.kubectl,
      ports: this.#ports,
      processes: () => this.all(),
      stopApiServer: () => this.stopApiServer(),
      startApiServer: () => this.startApiServer(),
      stop: () => this.stop(),
    };
  }
}
