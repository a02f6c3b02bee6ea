#!/usr/bin/env bash
# End-to-end test on a real Kubernetes cluster. Not run in CI here.
#
#   E2E_KUBECONFIG=<file> bash test/e2e/run.sh   the cluster that kubeconfig names; creates or deletes no cluster,
#                                                and runs images that its nodes already hold (see below)
#   npm run e2e                                  the same against the local test environment's node (test/e2e/local.sh)
#   bash test/e2e/run.sh                         a kind cluster: creates it, builds the images with Docker, deletes it
#   KEEP_CLUSTER=1 bash test/e2e/run.sh          leave the kind cluster running afterwards
#
# With E2E_KUBECONFIG, the images (never pulled unless E2E_PULL_POLICY says so):
#   E2E_OPERATOR_IMAGE  the operator           (default: $WARREN_OPERATOR_IMAGE, which `. .testenv/env` sets)
#   E2E_CHECK_IMAGE     the AMQP check client  (default: $WARREN_AMQP_CHECK_IMAGE)
#   E2E_RABBITMQ_IMAGE  the brokers' spec.image (default: $WARREN_RABBITMQ_IMAGE; unset: the operator's default)
# Broker sizes on any target: E2E_BROKER_CPU (200m), E2E_BROKER_MEMORY (1Gi, the request; the limit stays 1Gi),
# E2E_BROKER_STORAGE (2Gi). HELM names the helm binary (default: helm on PATH).
#
# Needs: kubectl and helm; for kind also docker and kind (v0.27 or newer). See test/e2e/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

HELM=${HELM:-helm}
NS=orders
CPU=${E2E_BROKER_CPU:-200m}
MEMORY=${E2E_BROKER_MEMORY:-1Gi}
STORAGE=${E2E_BROKER_STORAGE:-2Gi}
# Qualified: the core API has a `bindings` resource of its own, which kubectl would pick and cannot list.
TOPOLOGY="vhosts.warren.dev users.warren.dev permissions.warren.dev exchanges.warren.dev queues.warren.dev
  bindings.warren.dev policies.warren.dev"

start=$(date +%s)
last=$start
last_name=
timings=()
step() {
  local now
  now=$(date +%s)
  [ -z "$last_name" ] || timings+=("$(printf '%5ss  %s' "$((now - last))" "$last_name")")
  last=$now
  last_name=$*
  printf '\n== %s (%ss)\n' "$*" "$((now - start))"
}
summary() {
  step "done: every check passed"
  printf '\nstep times:\n'
  printf '  %s\n' "${timings[@]}"
}
fail() {
  echo "FAIL: $*" >&2
  dump
  [ "${#timings[@]}" = 0 ] || printf 'steps passed:\n%s\n' "$(printf '  %s\n' "${timings[@]}")" >&2
  exit 1
}
dump() {
  kubectl get warren,statefulsets,pods,pvc -A -o wide 2>/dev/null || true
  kubectl get events -n "$NS" --sort-by=.lastTimestamp 2>/dev/null | tail -30 || true
  kubectl -n warren-system logs deployment/warren --tail=80 2>/dev/null || true
}
# Polls a jsonpath of an object until it equals want; bounded.
wait_for() {
  local what=$1 want=$2 seconds=$3
  shift 3
  local deadline=$(($(date +%s) + seconds)) got
  while :; do
    got=$(kubectl "$@" 2>/dev/null || true)
    [ "$got" = "$want" ] && return 0
    [ "$(date +%s)" -lt "$deadline" ] || {
      echo "timed out after ${seconds}s waiting for $what (last: ${got:-nothing})" >&2
      return 1
    }
    sleep 2
  done
}

if [ -n "${E2E_KUBECONFIG:-}" ]; then
  TARGET=kubeconfig
  [ -r "$E2E_KUBECONFIG" ] || { echo "E2E_KUBECONFIG=$E2E_KUBECONFIG is not a readable file" >&2; exit 1; }
  export KUBECONFIG=$E2E_KUBECONFIG
  IMAGE=${E2E_OPERATOR_IMAGE:-${WARREN_OPERATOR_IMAGE:-}}
  CHECK_IMAGE=${E2E_CHECK_IMAGE:-${WARREN_AMQP_CHECK_IMAGE:-}}
  RABBITMQ_IMAGE=${E2E_RABBITMQ_IMAGE:-${WARREN_RABBITMQ_IMAGE:-}}
  PULL_POLICY=${E2E_PULL_POLICY:-Never}
  [ -n "$IMAGE" ] || { echo "set E2E_OPERATOR_IMAGE (or WARREN_OPERATOR_IMAGE) to an image the cluster holds" >&2; exit 1; }
  [ -n "$CHECK_IMAGE" ] || { echo "set E2E_CHECK_IMAGE (or WARREN_AMQP_CHECK_IMAGE) to an image the cluster holds" >&2; exit 1; }
  tools="kubectl $HELM"
else
  TARGET=kind
  CLUSTER=${E2E_CLUSTER:-warren-e2e}
  IMAGE=warren:e2e
  CHECK_IMAGE=warren-amqp-check:e2e
  RABBITMQ_IMAGE=
  PULL_POLICY=Never
  tools="docker kind kubectl $HELM"
fi
for tool in $tools; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "$tool is required for the end-to-end test on $TARGET (see test/e2e/README.md)" >&2
    exit 1
  }
done

# Inside the repository: kustomize takes bases by relative path only.
overlay=$(mktemp -d test/e2e/.overlay-XXXXXX)
sampler=
cleanup() {
  [ -z "$sampler" ] || kill "$sampler" 2>/dev/null || true
  rm -rf "$overlay"
  [ "$TARGET" != kind ] || [ "${KEEP_CLUSTER:-}" = 1 ] || kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
}
trap cleanup EXIT

if [ "$TARGET" = kind ]; then
  step "kind cluster $CLUSTER (one control plane, three workers)"
  if ! kind get clusters | grep -qx "$CLUSTER"; then
    kind create cluster --name "$CLUSTER" --wait 120s --config - <<'YAML'
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
  - role: worker
  - role: worker
  - role: worker
YAML
  fi
  kubectl config use-context "kind-$CLUSTER" >/dev/null

  step "images: the operator and the AMQP check client"
  docker build -t "$IMAGE" .
  docker build -t "$CHECK_IMAGE" test/e2e/amqp-check
  kind load docker-image --name "$CLUSTER" "$IMAGE" "$CHECK_IMAGE"
else
  step "cluster from $E2E_KUBECONFIG"
  kubectl get nodes -o wide
  echo "images: $IMAGE, $CHECK_IMAGE${RABBITMQ_IMAGE:+, $RABBITMQ_IMAGE} (pull policy $PULL_POLICY)"
fi

step "helm install (CRDs, restricted Deployment, least-privilege RBAC)"
kubectl create namespace warren-system --dry-run=client -o yaml | kubectl apply -f -
kubectl label namespace warren-system pod-security.kubernetes.io/enforce=restricted --overwrite
"$HELM" upgrade --install warren charts/warren -n warren-system \
  --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" --set image.pullPolicy="$PULL_POLICY" \
  --set replicas=2 --wait --timeout 3m

step "a three-node RabbitmqCluster and the order-processing topology"
# The samples, sized for the target, and on the target's RabbitMQ image when one is given.
cat >"$overlay/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../samples
patches:
  - target: { kind: RabbitmqCluster, name: rabbit }
    patch: |
      - op: replace
        path: /spec/resources
        value:
          requests: { cpu: '$CPU', memory: '$MEMORY' }
          limits: { cpu: '1', memory: 1Gi }
      - op: replace
        path: /spec/persistence/storage
        value: '$STORAGE'
$([ -z "$RABBITMQ_IMAGE" ] || printf "      - op: add\n        path: /spec/image\n        value: '%s'\n" "$RABBITMQ_IMAGE")
YAML
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -k "$overlay"
kubectl -n "$NS" wait rabbitmqcluster/rabbit --for=condition=AllReplicasReady --timeout=15m || fail "cluster not ready"
kubectl -n "$NS" wait rabbitmqcluster/rabbit --for=condition=ClusterAvailable --timeout=2m || fail "cluster not available"
for kind in $TOPOLOGY; do
  kubectl -n "$NS" wait "$kind" --all --for=condition=Ready --timeout=5m || fail "$kind not Ready"
done
kubectl get warren -n "$NS"

running_nodes() {
  kubectl -n "$NS" exec rabbit-server-0 -c rabbitmq -- rabbitmq-diagnostics cluster_status --formatter json |
    grep -o '"running_nodes":\[[^]]*\]' | grep -o 'rabbit@' | wc -l
}

step "peer discovery formed one cluster of three nodes"
members=$(running_nodes)
[ "$members" = 3 ] || fail "expected 3 running nodes, found $members"
echo "3 running nodes"

run_check() {
  local name=$1
  local secret_pub secret_con
  secret_pub=$(kubectl -n "$NS" get user order-service -o jsonpath='{.status.credentials.name}')
  secret_con=$(kubectl -n "$NS" get user billing-service -o jsonpath='{.status.credentials.name}')
  kubectl -n "$NS" delete job "$name" --ignore-not-found --wait >/dev/null
  kubectl -n "$NS" apply -f - <<YAML
apiVersion: batch/v1
kind: Job
metadata:
  name: $name
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      securityContext: { runAsNonRoot: true, seccompProfile: { type: RuntimeDefault } }
      containers:
        - name: check
          image: $CHECK_IMAGE
          imagePullPolicy: $PULL_POLICY
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: [ALL] } }
          env:
            - { name: PUB_USER, valueFrom: { secretKeyRef: { name: $secret_pub, key: username } } }
            - { name: PUB_PASS, valueFrom: { secretKeyRef: { name: $secret_pub, key: password } } }
            - { name: CON_USER, valueFrom: { secretKeyRef: { name: $secret_con, key: username } } }
            - { name: CON_PASS, valueFrom: { secretKeyRef: { name: $secret_con, key: password } } }
            - { name: ADM_USER, valueFrom: { secretKeyRef: { name: rabbit-default-user, key: username } } }
            - { name: ADM_PASS, valueFrom: { secretKeyRef: { name: rabbit-default-user, key: password } } }
            - { name: PUBLISHER_URI, value: "amqp://\$(PUB_USER):\$(PUB_PASS)@rabbit.$NS.svc:5672/orders" }
            - { name: CONSUMER_URI, value: "amqp://\$(CON_USER):\$(CON_PASS)@rabbit.$NS.svc:5672/orders" }
            - { name: ADMIN_URI, value: "amqp://\$(ADM_USER):\$(ADM_PASS)@rabbit.$NS.svc:5672/orders" }
YAML
  # Complete or Failed, whichever comes first: waiting for Complete alone would sit out a failure's timeout.
  local deadline=$(($(date +%s) + 180)) state=
  while [ "$(date +%s)" -lt "$deadline" ]; do
    state=$(kubectl -n "$NS" get job "$name" \
      -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type} {end}' 2>/dev/null || true)
    case "$state" in *Complete*|*Failed*) break ;; esac
    sleep 2
  done
  kubectl -n "$NS" logs "job/$name" || true
  case "$state" in
    *Complete*) ;;
    *) kubectl -n "$NS" describe job "$name" | tail -20 || true
       fail "AMQP check $name did not complete (conditions: ${state:-none})" ;;
  esac
}

step "routing and permissions from inside the cluster (amqplib)"
run_check amqp-check

step "rolling restart on a configuration change keeps the cluster available"
# A value this run has not used before, so that rerunning on a kept cluster still rolls it.
channel_max=2047
case "$(kubectl -n "$NS" get rabbitmqcluster rabbit -o jsonpath='{.spec.rabbitmq.additionalConfig}')" in
  *'channel_max = 2047'*) channel_max=2046 ;;
esac
generation=$(kubectl -n "$NS" get statefulset rabbit-server -o jsonpath='{.metadata.generation}')
# Samples while it rolls: ready brokers behind the client Service, and what the status says about availability.
samples=$overlay/roll-samples
(
  while :; do
    ready=$(kubectl -n "$NS" get endpointslices -l kubernetes.io/service-name=rabbit \
      -o jsonpath='{range .items[*].endpoints[*]}{.conditions.ready}{"\n"}{end}' 2>/dev/null | grep -c true || true)
    available=$(kubectl -n "$NS" get rabbitmqcluster rabbit \
      -o jsonpath='{.status.conditions[?(@.type=="ClusterAvailable")].status}' 2>/dev/null || true)
    echo "$ready ${available:-unknown}" >>"$samples"
    sleep 2
  done
) &
sampler=$!
kubectl -n "$NS" patch rabbitmqcluster rabbit --type merge \
  -p "{\"spec\":{\"rabbitmq\":{\"additionalConfig\":\"log.console.level = info\\nchannel_max = $channel_max\\n\"}}}"
# Until Warren has updated the StatefulSet, `rollout status` would report the old rollout as complete.
wait_for "Warren to update the StatefulSet" "$((generation + 1))" 120 \
  -n "$NS" get statefulset rabbit-server -o jsonpath='{.metadata.generation}' || fail "the StatefulSet did not change"
kubectl -n "$NS" rollout status statefulset/rabbit-server --timeout=15m || fail "rolling restart did not finish"
kubectl -n "$NS" wait rabbitmqcluster/rabbit --for=condition=AllReplicasReady --timeout=10m || fail "cluster not ready after roll"
kill "$sampler" && wait "$sampler" 2>/dev/null || true
sampler=
fewest=$(cut -d' ' -f1 "$samples" | sort -n | head -1)
echo "during the roll ($(wc -l <"$samples") samples): at least $fewest of 3 brokers ready behind Service rabbit;" \
  "ClusterAvailable False in $(grep -c ' False$' "$samples" || true), True in $(grep -c ' True$' "$samples" || true)"
[ "$fewest" -gt 0 ] || fail "the client Service had no ready broker during the roll"
environment=$(kubectl -n "$NS" exec rabbit-server-0 -c rabbitmq -- rabbitmq-diagnostics environment)
grep -Eq "\\{channel_max, ?$channel_max\\}" <<<"$environment" ||
  fail "rabbit-server-0 does not run with channel_max = $channel_max"
members=$(running_nodes)
[ "$members" = 3 ] || fail "expected 3 running nodes after the roll, found $members"
run_check amqp-check-after-roll

step "PVCs survive pod deletion and keep their data"
kubectl -n "$NS" get pvc
claims=$(kubectl -n "$NS" get pvc -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.uid} {end}')
old_pod=$(kubectl -n "$NS" get pod rabbit-server-0 -o jsonpath='{.metadata.uid}')
kubectl -n "$NS" delete pod rabbit-server-0 --wait --timeout=5m || fail "rabbit-server-0 was not deleted"
deadline=$(($(date +%s) + 120))
until uid=$(kubectl -n "$NS" get pod rabbit-server-0 -o jsonpath='{.metadata.uid}' 2>/dev/null) &&
  [ -n "$uid" ] && [ "$uid" != "$old_pod" ]; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "no new rabbit-server-0 after 120s"
  sleep 2
done
kubectl -n "$NS" wait pod/rabbit-server-0 --for=condition=Ready --timeout=10m || fail "pod did not come back"
kubectl -n "$NS" wait rabbitmqcluster/rabbit --for=condition=AllReplicasReady --timeout=10m || fail "cluster not ready"
[ "$(kubectl -n "$NS" get pvc -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.uid} {end}')" = "$claims" ] ||
  fail "the PersistentVolumeClaims changed"
members=$(running_nodes)
[ "$members" = 3 ] || fail "expected 3 running nodes after the pod came back, found $members"
echo "same claims, 3 running nodes"
run_check amqp-check-after-pod-loss

step "operator restart: new pods take the Lease over and everything stays Ready"
# Restarts so far are worth seeing: a replica that lost its Lease exits and is restarted.
kubectl -n warren-system get pods -o custom-columns='POD:.metadata.name,RESTARTS:.status.containerStatuses[0].restartCount'
kubectl -n warren-system get lease -o custom-columns=LEASE:.metadata.name,HOLDER:.spec.holderIdentity
kubectl -n warren-system rollout restart deployment/warren
kubectl -n warren-system rollout status deployment/warren --timeout=3m || fail "operator restart did not finish"
for kind in $TOPOLOGY; do
  kubectl -n "$NS" wait "$kind" --all --for=condition=Ready --timeout=2m || fail "$kind not Ready after operator restart"
done
run_check amqp-check-after-operator-restart
kubectl -n warren-system get lease -o custom-columns=LEASE:.metadata.name,HOLDER:.spec.holderIdentity

summary
