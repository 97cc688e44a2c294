// The test node's components' configurations, as pure functions of its folders: containerd's,
// CNI's, the kubelet's and kube-proxy's. ../shared/NODE.md says why each setting is there.
import { join } from 'node:path';
import { stringify } from 'yaml';

/** The Kubernetes Node's name, and the addresses the node's namespace uses (none outside it). */
export const NODE = {
  name: 'nic-node',
  ip: '10.99.0.1',
  podCidr: '10.244.0.0/24',
  serviceCidr: '10.96.0.0/16',
  clusterDns: '10.96.0.10',
} as const;
export const PAUSE_IMAGE = 'localhost/nic/pause:1';
export const COREDNS_IMAGE = 'localhost/nic/coredns:1';

/** The files kubelet writes host-wide at start: in the node's mount namespace, files of its own. */
export const KERNEL_SETTINGS = [
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
];

/** The Pods' network: the bridge cni0, addresses from host-local. */
export function cniConfig(dir: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'nic-node',
    plugins: [
      {
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        // Pods route everything to cni0; the node's namespace has no route beyond itself.
        isDefaultGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: NODE.podCidr }]], dataDir: join(dir, 'cni', 'ipam') },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
}

/** containerd with every path under the node's folders (`run` short, for sockets). */
export function containerdConfig(dir: string, run: string): string {
  const cni = join(dir, 'cni');
  return `version = 3
root = "${join(dir, 'containerd')}"
state = "${join(run, 'containerd')}"
temp = "${join(dir, 'tmp')}"
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.snapshotter.v1.blockfile", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.erofs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "${join(run, 'containerd.sock')}"

[ttrpc]
  address = "${join(run, 'containerd.sock.ttrpc')}"

[plugins."io.containerd.shim.v1.manager"]
  socket_dir = "${join(run, 's')}"

[plugins."io.containerd.internal.v1.opt"]
  path = "${join(dir, 'opt')}"

[plugins."io.containerd.image-verifier.v1.bindir"]
  bin_dir = "${join(dir, 'verifiers')}"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "${PAUSE_IMAGE}"

[plugins."io.containerd.cri.v1.runtime"]
  disable_apparmor = true
  # Root here lacks CAP_SYS_RESOURCE: no negative oom_score_adj for sandboxes.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
    BinaryName = "/usr/sbin/runc"
    SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["${join(cni, 'bin')}"]
    conf_dir = "${join(cni, 'net.d')}"
`;
}

/** The kubelet on cgroup v1 with cgroupfs, its cgroups under the node's own root. */
export function kubeletConfig(dir: string, run: string, id: string): string {
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    failCgroupV1: false,
    failSwapOn: false,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: `/${id}`,
    containerRuntimeEndpoint: `unix://${join(run, 'containerd.sock')}`,
    podLogsDir: join(dir, 'pod-logs'),
    address: NODE.ip,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    // The API server (for exec and logs) is this namespace's only client of the kubelet.
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
    authorization: { mode: 'AlwaysAllow' },
    clusterDNS: [NODE.clusterDns],
    clusterDomain: 'cluster.local',
    resolvConf: join(dir, 'resolv.conf'),
    evictionHard: { 'memory.available': '1Mi', 'nodefs.available': '1%', 'imagefs.available': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    protectKernelDefaults: false,
    serializeImagePulls: false,
    nodeStatusUpdateFrequency: '2s',
    syncFrequency: '10s',
  });
}

/** kube-proxy in iptables mode; the machine's conntrack table size and timeouts left alone. */
export function kubeProxyConfig(kubeconfig: string): string {
  return stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'iptables',
    clientConnection: { kubeconfig },
    hostnameOverride: NODE.name,
    clusterCIDR: NODE.podCidr,
    bindAddress: NODE.ip,
    healthzBindAddress: '127.0.0.1:10256',
    metricsBindAddress: '127.0.0.1:10249',
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
  });
}
