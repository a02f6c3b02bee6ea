#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kubectl, etcd and helm from the Go module proxy into a
# per-version cache outside the repository, and rebuilds only when a cached binary reports another version.
# Prints the cache directories as shell assignments (KUBE_BIN_DIR=..., ETCD_BIN_DIR=..., HELM_BIN_DIR=...)
# on its last lines.
set -euo pipefail
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false
K8S_VERSION=1.36.3 K8S_MINOR=36 ETCD_VERSION=3.6.14 HELM_VERSION=4.3.1
ROOT=$(cd "$(dirname "$0")" && pwd)
CACHE="${WARREN_TESTBINS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/warren-testbins}"
KDIR="$CACHE/k8s-v$K8S_VERSION" EDIR="$CACHE/etcd-v$ETCD_VERSION" HDIR="$CACHE/helm-v$HELM_VERSION"

need_go() {
  if ! command -v go >/dev/null 2>&1; then
    echo "Go is not installed: the test control plane is built from source with Go 1.26 or newer (https://go.dev/doc/install)." >&2
    exit 1
  fi
}
mkdir -p "$KDIR" "$EDIR" "$HDIR"
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
if ! stamped "$KDIR/kube-apiserver" "Kubernetes v$K8S_VERSION" ||
   ! stamped "$KDIR/kube-controller-manager" "Kubernetes v$K8S_VERSION" ||
   ! reports "Client Version: v$K8S_VERSION" "$KDIR/kubectl" version --client; then
  need_go
  echo "building kube-apiserver, kube-controller-manager and kubectl v$K8S_VERSION into $KDIR (the first build takes a while)" >&2
  LDF="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    LDF="$LDF -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$K8S_MINOR"
    LDF="$LDF -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
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
echo "KUBE_BIN_DIR=$KDIR"
echo "ETCD_BIN_DIR=$EDIR"
echo "HELM_BIN_DIR=$HDIR"
