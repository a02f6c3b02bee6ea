// The test node's configuration keeps its network on its own bridge and its images local.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  cniConfig,
  containerdConfig,
  corefile,
  kubeletConfig,
  kubeProxyConfig,
  NO_REGISTRY,
  NODE_IP,
  registryHosts,
  SERVICE_CIDR,
  type NodeLayout,
} from '../../env/node/config.ts';

const layout: NodeLayout = {
  dir: '/tmp/env/node',
  containerdSocket: '/tmp/env/node/containerd/containerd.sock',
  runc: '/cache/runc',
  cniBinDir: '/cache/cni',
  pauseImage: 'localhost/warren/pause:1',
  kubeconfigPath: '/tmp/env/admin.kubeconfig',
  cgroupRoot: '/warren-node-abc',
  ports: { kubelet: 1, kubeletHealthz: 2, proxyHealthz: 3, proxyMetrics: 4 },
};

describe('Test node configuration', () => {
  it('gives pods no gateway and no masquerade out of the machine', () => {
    const bridge = (JSON.parse(cniConfig()) as { plugins: Record<string, unknown>[] }).plugins[0]!;
    assert.equal(bridge.isGateway, false);
    assert.equal(bridge.ipMasq, false);
    const ipam = bridge.ipam as { routes: { dst: string }[] };
    assert.deepEqual(
      ipam.routes.map((r) => r.dst),
      [SERVICE_CIDR],
      'only Services are routed, through the bridge address',
    );
  });

  it('keeps everything containerd writes under the node directory and pulls from no registry', () => {
    const config = containerdConfig(layout);
    const paths = config.split('\n').filter((l) => /^\s*(root|state|address|path|Root) = "[^"]/.test(l));
    assert.ok(paths.length >= 6, 'root, state, both sockets, opt and the runc root are set');
    for (const line of paths) {
      assert.match(line, /"\/tmp\/env\/node\//, line);
    }
    assert.match(config, /restrict_oom_score_adj = true/);
    assert.match(config, /SystemdCgroup = false/);
    assert.match(registryHosts(), new RegExp(`^server = "${NO_REGISTRY}"`));
  });

  it('runs the kubelet on cgroup v1 without touching eviction, images or iptables', () => {
    const kubelet = parse(kubeletConfig(layout)) as Record<string, unknown>;
    assert.equal(kubelet.failCgroupV1, false);
    assert.equal(kubelet.cgroupDriver, 'cgroupfs');
    assert.equal(kubelet.cgroupRoot, '/warren-node-abc');
    assert.deepEqual(kubelet.evictionHard, {});
    assert.equal(kubelet.imageGCHighThresholdPercent, 100);
    assert.equal(kubelet.makeIPTablesUtilChains, false);
    assert.equal(kubelet.address, NODE_IP);
    assert.deepEqual(kubelet.clusterDNS, [NODE_IP]);
  });

  it('lets kube-proxy change no sysctl and serve node ports on the bridge only', () => {
    const proxy = parse(kubeProxyConfig(layout)) as {
      mode: string;
      nodePortAddresses: string[];
      conntrack: Record<string, unknown>;
    };
    assert.equal(proxy.mode, 'nftables');
    assert.deepEqual(proxy.nodePortAddresses, [`${NODE_IP}/32`]);
    assert.equal(proxy.conntrack.maxPerCore, 0);
    assert.equal(proxy.conntrack.min, 0);
  });

  it('answers DNS on the bridge and forwards nothing', () => {
    const dns = corefile(layout.kubeconfigPath);
    assert.match(dns, new RegExp(`bind ${NODE_IP.replaceAll('.', '\\.')}`));
    assert.doesNotMatch(dns, /forward/);
  });
});
