// The test node's configuration files, as pure functions of its layout (no I/O): containerd, the CNI network,
// the kubelet, kube-proxy and CoreDNS. node.ts writes them and starts the processes.
//
// The network lives on one bridge the environment creates. Pods get addresses from POD_CIDR on it and no
// default route: nothing they send can leave the machine. Service addresses are routed to the bridge only, the
// node's IP is the bridge's, CoreDNS answers on it, and no query is forwarded anywhere.
import { stringify } from 'yaml';

export const NODE_NAME = 'warren-node';
export const BRIDGE = 'warren0';
export const NODE_IP = '10.244.0.1';
export const POD_CIDR = '10.244.0.0/24';
/** The API server's --service-cluster-ip-range; the first address is the `kubernetes` Service. */
export const SERVICE_CIDR = '10.0.0.0/24';
export const KUBERNETES_SERVICE_IP = '10.0.0.1';
export const CLUSTER_DOMAIN = 'cluster.local';
/** An address with nothing behind it: every registry resolves here, so an image is never pulled from outside. */
export const NO_REGISTRY = 'http://127.0.0.1:9';

/** Names the API server's serving certificate must carry for pods that reach it through the `kubernetes` Service. */
export const API_SERVER_NAMES = {
  ips: [KUBERNETES_SERVICE_IP, NODE_IP],
  dns: [
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    `kubernetes.default.svc.${CLUSTER_DOMAIN}`,
  ],
};

/** The sysctls the kubelet sets when kernel defaults are not protected: saved before it starts, restored after. */
export const KERNEL_TUNABLES = [
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
] as const;

export interface NodeLayout {
  /** Root of everything the node writes (containerd root and state, kubelet root, configs). */
  dir: string;
  containerdSocket: string;
  runc: string;
  cniBinDir: string;
  pauseImage: string;
  kubeconfigPath: string;
  /** The kubelet's cgroup parent under every controller: removed on the way down. */
  cgroupRoot: string;
  ports: { kubelet: number; kubeletHealthz: number; proxyHealthz: number; proxyMetrics: number };
}

const toml = (value: string) => JSON.stringify(value); // a TOML basic string is a JSON string

export function containerdConfig(l: NodeLayout): string {
  return `version = 4
root = ${toml(`${l.dir}/containerd/root`)}
state = ${toml(`${l.dir}/containerd/state`)}
disabled_plugins = [
  "io.containerd.nri.v1.nri",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.snapshotter.v1.erofs",
  "io.containerd.image-verifier.v1.bindir",
]

[plugins]
  [plugins."io.containerd.server.v1.grpc"]
    address = ${toml(l.containerdSocket)}
  [plugins."io.containerd.server.v1.ttrpc"]
    address = ${toml(`${l.containerdSocket}.ttrpc`)}
  [plugins."io.containerd.server.v1.debug"]
    address = ""
  [plugins."io.containerd.internal.v1.opt"]
    path = ${toml(`${l.dir}/containerd/opt`)}
  [plugins."io.containerd.cri.v1.images"]
    snapshotter = "overlayfs"
    [plugins."io.containerd.cri.v1.images".pinned_images]
      sandbox = ${toml(l.pauseImage)}
    [plugins."io.containerd.cri.v1.images".registry]
      config_path = ${toml(`${l.dir}/containerd/certs.d`)}
  [plugins."io.containerd.cri.v1.runtime"]
    # The machine's bounding set lacks CAP_SYS_RESOURCE: runc may not lower oom_score_adj below ours.
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    enable_selinux = false
    [plugins."io.containerd.cri.v1.runtime".containerd]
      default_runtime_name = "runc"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
          BinaryName = ${toml(l.runc)}
          Root = ${toml(`${l.dir}/runc`)}
          SystemdCgroup = false
    [plugins."io.containerd.cri.v1.runtime".cni]
      bin_dirs = [${toml(l.cniBinDir)}]
      conf_dir = ${toml(`${l.dir}/cni/net.d`)}
  [plugins."io.containerd.transfer.v1.local"]
    config_path = ${toml(`${l.dir}/containerd/certs.d`)}
  [plugins."io.containerd.grpc.v1.cri"]
    disable_tcp_service = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
`;
}

/** hosts.toml for the `_default` registry: every registry is this dead address, so nothing is fetched. */
export function registryHosts(): string {
  return `server = ${toml(NO_REGISTRY)}

[host.${toml(NO_REGISTRY)}]
  capabilities = ["pull", "resolve"]
`;
}

export function cniConfig(): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'warren',
      plugins: [
        {
          type: 'bridge',
          bridge: BRIDGE,
          // No gateway and no masquerade: a gateway would turn on the global ip_forward, and pods have no way out.
          isGateway: false,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: POD_CIDR, rangeStart: '10.244.0.10', gateway: NODE_IP }]],
            // Services and the node itself are reached through the bridge's address; nothing else is routed.
            routes: [{ dst: SERVICE_CIDR, gw: NODE_IP }],
          },
        },
        { type: 'loopback' },
      ],
    },
    null,
    2,
  );
}

export function kubeletConfig(l: NodeLayout): string {
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // Debian's VM kernels here run cgroup v1, which kubelet 1.35+ refuses unless told.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: l.cgroupRoot,
    cgroupsPerQOS: true,
    enforceNodeAllocatable: [],
    failSwapOn: false,
    makeIPTablesUtilChains: false,
    // The kubelet sets a few kernel tunables it needs (KERNEL_TUNABLES below); node.ts restores them on the way
    // down. Protecting them instead would refuse to start on this machine's values.
    protectKernelDefaults: false,
    evictionHard: {},
    mergeDefaultEvictionSettings: false,
    // Imported images have no registry to come back from: never collect them.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    address: NODE_IP,
    port: l.ports.kubelet,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: l.ports.kubeletHealthz,
    // The API server has no kubelet client certificate: it calls the kubelet anonymously, on the bridge only.
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
    authorization: { mode: 'AlwaysAllow' },
    clusterDNS: [NODE_IP],
    clusterDomain: CLUSTER_DOMAIN,
    resolvConf: `${l.dir}/resolv.conf`,
    containerRuntimeEndpoint: `unix://${l.containerdSocket}`,
    podCIDR: POD_CIDR,
    maxPods: 110,
    serializeImagePulls: false,
    registerNode: true,
    nodeStatusUpdateFrequency: '5s',
    syncFrequency: '10s',
    fileCheckFrequency: '10s',
    volumeStatsAggPeriod: '0s',
    localStorageCapacityIsolation: false,
    volumePluginDir: `${l.dir}/kubelet-plugins`,
    shutdownGracePeriod: '0s',
  });
}

export function kubeProxyConfig(l: NodeLayout): string {
  return stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'nftables',
    clientConnection: { kubeconfig: l.kubeconfigPath },
    hostnameOverride: NODE_NAME,
    bindAddress: NODE_IP,
    healthzBindAddress: `127.0.0.1:${l.ports.proxyHealthz}`,
    metricsBindAddress: `127.0.0.1:${l.ports.proxyMetrics}`,
    nodePortAddresses: [`${NODE_IP}/32`],
    clusterCIDR: POD_CIDR,
    // Pods reach Services through the bridge's address and back: masquerade so that replies return the same way.
    masqueradeAll: true,
    // Zero: leave the machine's conntrack sysctls as they are.
    conntrack: {
      maxPerCore: 0,
      min: 0,
      tcpEstablishedTimeout: '0s',
      tcpCloseWaitTimeout: '0s',
    },
  });
}

/** CoreDNS on the bridge address: the cluster's names, and nothing forwarded anywhere. */
export function corefile(kubeconfigPath: string): string {
  return `.:53 {
    bind ${NODE_IP}
    errors
    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfigPath} warren-test
        pods insecure
        ttl 5
    }
    cache 5
}
`;
}

/** The resolv.conf the kubelet builds pods' from: no upstream server of the machine's. */
export function resolvConf(): string {
  return `nameserver ${NODE_IP}\n`;
}
