#!/usr/bin/env bash
# Builds the test environment's binaries from the Go module proxy into a per-version cache outside the
# repository, and rebuilds only what is missing or reports another version:
#   control plane  kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd, helm
#   node           kubelet, kube-proxy, containerd (+ shim, ctr), runc, CNI plugins, CoreDNS
# Prints the cache directories as shell assignments (KUBE_BIN_DIR=..., ETCD_BIN_DIR=..., HELM_BIN_DIR=...,
# CONTAINERD_BIN_DIR=..., RUNC_BIN_DIR=..., CNI_BIN_DIR=..., COREDNS_BIN_DIR=...) on its last lines.
# `build.sh control-plane` builds only the first group.
# `build.sh topology-operator` builds only the official RabbitMQ messaging topology operator that
# `npm run bench -- compare` measures beside Warren (with its CRDs and the RabbitmqCluster CRD it waits for,
# copied from the same modules), and prints TOPOLOGY_OPERATOR_DIR=...; the other targets never build it.
set -euo pipefail
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false
K8S_VERSION=1.36.3 K8S_MINOR=36 ETCD_VERSION=3.6.14 HELM_VERSION=4.3.1
CONTAINERD_VERSION=2.4.2 RUNC_VERSION=1.5.3 CNI_VERSION=1.10.0 COREDNS_VERSION=1.15.0
TOPOLOGY_OPERATOR_VERSION=1.20.1 CLUSTER_OPERATOR_VERSION=2.22.4
ROOT=$(cd "$(dirname "$0")" && pwd)
CACHE="${WARREN_TESTBINS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/warren-testbins}"
KDIR="$CACHE/k8s-v$K8S_VERSION" EDIR="$CACHE/etcd-v$ETCD_VERSION" HDIR="$CACHE/helm-v$HELM_VERSION"
CDIR="$CACHE/containerd-v$CONTAINERD_VERSION" RDIR="$CACHE/runc-v$RUNC_VERSION"
NDIR="$CACHE/cni-v$CNI_VERSION" DDIR="$CACHE/coredns-v$COREDNS_VERSION"
WHAT="${1:-all}"

need_go() {
  if ! command -v go >/dev/null 2>&1; then
    echo "Go is not installed: the test control plane is built from source with Go 1.26 or newer (https://go.dev/doc/install)." >&2
    exit 1
  fi
}
mkdir -p "$KDIR" "$EDIR" "$HDIR" "$CDIR" "$RDIR" "$NDIR" "$DDIR"
# One build at a time: a test run that starts while a build is going waits for it instead of building too.
exec 9>"$CACHE/.build.lock"
if ! flock -n 9; then
  echo "another build of the test binaries is running; waiting for it" >&2
  flock 9
fi

# reports EXPECTED CMD...: whether CMD's output contains EXPECTED. It reads the whole output before matching:
# with pipefail, `cmd | grep -q` fails whenever grep exits early and cmd dies of SIGPIPE writing its next line,
# which rebuilt a warm cache at random.
reports() { local expected=$1 out; shift; out=$("$@" 2>/dev/null) || return 1; [[ $out == *"$expected"* ]]; }
stamped() { reports "$2" "$1" --version; }
# A binary that prints no version of its own is built together with a stamp file naming the version.
built() { local dir=$1 version=$2; shift 2; [[ $(cat "$dir/.version" 2>/dev/null) == "$version" ]] || return 1
  for bin in "$@"; do [[ -x $dir/$bin ]] || return 1; done; }
stamp() { echo "$2" >"$1/.version"; }
if [[ $WHAT == topology-operator ]]; then
  ODIR="$CACHE/messaging-topology-operator-v$TOPOLOGY_OPERATOR_VERSION"
  mkdir -p "$ODIR"
  if ! built "$ODIR" "$TOPOLOGY_OPERATOR_VERSION+$CLUSTER_OPERATOR_VERSION" messaging-topology-operator; then
    need_go
    echo "building the messaging topology operator v$TOPOLOGY_OPERATOR_VERSION into $ODIR" >&2
    (cd "$ROOT/topology-operator" && go build -trimpath -ldflags "-s -w" -o "$ODIR/messaging-topology-operator" \
      github.com/rabbitmq/messaging-topology-operator/cmd)
    # Its CRDs, and the RabbitmqCluster CRD of the cluster operator it depends on, from the modules just built.
    rm -rf "$ODIR/crds" && mkdir -p "$ODIR/crds"
    for module in github.com/rabbitmq/messaging-topology-operator github.com/rabbitmq/cluster-operator/v2; do
      dir=$(cd "$ROOT/topology-operator" && go list -m -f '{{.Dir}}' "$module")
      cp "$dir"/config/crd/bases/*.yaml "$ODIR/crds/"
    done
    chmod -R u+w "$ODIR/crds"
    stamp "$ODIR" "$TOPOLOGY_OPERATOR_VERSION+$CLUSTER_OPERATOR_VERSION"
  fi
  echo "TOPOLOGY_OPERATOR_DIR=$ODIR"
  exit 0
fi
LDF="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LDF="$LDF -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$K8S_MINOR"
  LDF="$LDF -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done
if ! stamped "$KDIR/kube-apiserver" "Kubernetes v$K8S_VERSION" ||
   ! stamped "$KDIR/kube-controller-manager" "Kubernetes v$K8S_VERSION" ||
   ! reports "Client Version: v$K8S_VERSION" "$KDIR/kubectl" version --client; then
  need_go
  echo "building kube-apiserver, kube-controller-manager and kubectl v$K8S_VERSION into $KDIR (the first build takes a while)" >&2
  (cd "$ROOT/kube" && go build -trimpath -ldflags "$LDF" -o "$KDIR/" \
    ./cmd/kube-apiserver ./cmd/kube-controller-manager ./cmd/kubectl)
fi
if ! stamped "$EDIR/etcd" "etcd Version: $ETCD_VERSION"; then
  need_go
  echo "building etcd v$ETCD_VERSION into $EDIR" >&2
  (cd "$ROOT/etcd" && go build -trimpath -ldflags "-s -w" -o "$EDIR/etcd" .)
fi
if ! reports "v$HELM_VERSION" "$HDIR/helm" version --template '{{.Version}}'; then
  need_go
  echo "building helm v$HELM_VERSION into $HDIR" >&2
  (cd "$ROOT/helm" && go build -trimpath -o "$HDIR/helm" \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=v$HELM_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
    ./cmd/helm)
fi
if [[ $WHAT != control-plane ]]; then
  if ! stamped "$KDIR/kube-scheduler" "Kubernetes v$K8S_VERSION" ||
     ! stamped "$KDIR/kubelet" "Kubernetes v$K8S_VERSION" ||
     ! stamped "$KDIR/kube-proxy" "Kubernetes v$K8S_VERSION"; then
    need_go
    echo "building kube-scheduler, kubelet and kube-proxy v$K8S_VERSION into $KDIR" >&2
    (cd "$ROOT/kube" && go build -trimpath -ldflags "$LDF" -o "$KDIR/" \
      ./cmd/kube-scheduler ./cmd/kubelet ./cmd/kube-proxy)
  fi
  if ! built "$CDIR" "$CONTAINERD_VERSION" containerd containerd-shim-runc-v2 ctr; then
    need_go
    echo "building containerd v$CONTAINERD_VERSION into $CDIR" >&2
    (cd "$ROOT/containerd" && go build -trimpath -tags "no_btrfs no_devmapper no_zfs" -o "$CDIR/" \
      -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=v$CONTAINERD_VERSION" \
      github.com/containerd/containerd/v2/cmd/containerd \
      github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 \
      github.com/containerd/containerd/v2/cmd/ctr)
    stamp "$CDIR" "$CONTAINERD_VERSION"
  fi
  if ! built "$RDIR" "$RUNC_VERSION" runc; then
    need_go
    # runc needs cgo and libseccomp (Debian's libseccomp-dev); its default libpathrs tag needs a Rust library.
    echo "building runc v$RUNC_VERSION into $RDIR" >&2
    (cd "$ROOT/runc" && CGO_ENABLED=1 go build -trimpath -tags "seccomp urfave_cli_no_docs" -o "$RDIR/runc" \
      -ldflags "-s -w -X main.version=$RUNC_VERSION" github.com/opencontainers/runc)
    stamp "$RDIR" "$RUNC_VERSION"
  fi
  if ! built "$NDIR" "$CNI_VERSION" bridge host-local loopback portmap; then
    need_go
    echo "building the CNI plugins v$CNI_VERSION into $NDIR" >&2
    (cd "$ROOT/cni" && go build -trimpath -o "$NDIR/" \
      -ldflags "-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=v$CNI_VERSION" \
      github.com/containernetworking/plugins/plugins/ipam/host-local \
      github.com/containernetworking/plugins/plugins/main/bridge \
      github.com/containernetworking/plugins/plugins/main/loopback \
      github.com/containernetworking/plugins/plugins/meta/portmap)
    stamp "$NDIR" "$CNI_VERSION"
  fi
  if ! built "$DDIR" "$COREDNS_VERSION" coredns; then
    need_go
    echo "building CoreDNS v$COREDNS_VERSION into $DDIR" >&2
    (cd "$ROOT/coredns" && go build -trimpath -o "$DDIR/coredns" -ldflags "-s -w" github.com/coredns/coredns)
    stamp "$DDIR" "$COREDNS_VERSION"
  fi
  echo "CONTAINERD_BIN_DIR=$CDIR"
  echo "RUNC_BIN_DIR=$RDIR"
  echo "CNI_BIN_DIR=$NDIR"
  echo "COREDNS_BIN_DIR=$DDIR"
fi
echo "KUBE_BIN_DIR=$KDIR"
echo "ETCD_BIN_DIR=$EDIR"
echo "HELM_BIN_DIR=$HDIR"
