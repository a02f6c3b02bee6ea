#!/usr/bin/env bash
# End-to-end test on a real Kubernetes cluster (kind), for machines with Docker. Not run in CI here.
#
#   bash test/e2e/run.sh            create the cluster, run everything, delete the cluster
#   KEEP_CLUSTER=1 bash test/e2e/run.sh   leave the kind cluster running afterwards
#
# Needs: docker, kind (v0.27 or newer), kubectl, helm. See test/e2e/README.md for what it covers.
set -euo pipefail
cd "$(dirname "$0")/../.."

CLUSTER=${E2E_CLUSTER:-warren-e2e}
IMAGE=warren:e2e
CHECK_IMAGE=warren-amqp-check:e2e
NS=orders
start=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }
fail() { echo "FAIL: $*" >&2; dump; exit 1; }
dump() {
  kubectl get warren,statefulsets,pods,pvc -A -o wide 2>/dev/null || true
  kubectl -n warren-system logs deployment/warren --tail=80 2>/dev/null || true
}

for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is required for the kind end-to-end test" >&2; exit 1; }
done

cleanup() { [ "${KEEP_CLUSTER:-}" = 1 ] || kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; }
trap cleanup EXIT

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

step "helm install (CRDs, restricted Deployment, least-privilege RBAC)"
kubectl create namespace warren-system --dry-run=client -o yaml | kubectl apply -f -
kubectl label namespace warren-system pod-security.kubernetes.io/enforce=restricted --overwrite
helm upgrade --install warren charts/warren -n warren-system \
  --set image.repository=warren --set image.tag=e2e --set image.pullPolicy=Never --set replicas=2 \
  --wait --timeout 3m

step "a three-node RabbitmqCluster and the order-processing topology"
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -k test/e2e/samples
kubectl -n "$NS" wait rabbitmqcluster/rabbit --for=condition=AllReplicasReady --timeout=15m || fail "cluster not ready"
kubectl -n "$NS" wait rabbitmqcluster/rabbit --for=condition=ClusterAvailable --timeout=2m || fail "cluster not available"
for kind in vhosts users permissions exchanges queues bindings policies; do
  kubectl -n "$NS" wait "$kind" --all --for=condition=Ready --timeout=5m || fail "$kind not Ready"
done
kubectl get warren -n "$NS"

step "peer discovery formed one cluster of three nodes"
members=$(kubectl -n "$NS" exec rabbit-server-0 -c rabbitmq -- rabbitmqctl cluster_status --formatter json |
  grep -o '"running_nodes":\[[^]]*\]' | grep -o 'rabbit@' | wc -l)
[ "$members" = 3 ] || fail "expected 3 running nodes, found $members"
echo "3 running nodes"

run_check() {
  local name=$1
  local secret_pub secret_con
  secret_pub=$(kubectl -n "$NS" get user order-service -o jsonpath='{.status.credentials.name}')
  secret_con=$(kubectl -n "$NS" get user billing-service -o jsonpath='{.status.credentials.name}')
  kubectl -n "$NS" delete job "$name" --ignore-not-found >/dev/null
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
          imagePullPolicy: Never
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
  if ! kubectl -n "$NS" wait "job/$name" --for=condition=Complete --timeout=2m; then
    kubectl -n "$NS" logs "job/$name" || true
    fail "AMQP check $name failed"
  fi
  kubectl -n "$NS" logs "job/$name"
}

step "routing and permissions from inside the cluster (amqplib)"
run_check amqp-check

step "rolling restart on a configuration change keeps the cluster available"
kubectl -n "$NS" patch rabbitmqcluster rabbit --type merge \
  -p '{"spec":{"rabbitmq":{"additionalConfig":"log.console.level = info\nchannel_max = 2047\n"}}}'
kubectl -n "$NS" rollout status statefulset/rabbit-server --timeout=15m || fail "rolling restart did not finish"
kubectl -n "$NS" wait rabbitmqcluster/rabbit --for=condition=AllReplicasReady --timeout=10m || fail "cluster not ready after roll"
run_check amqp-check-after-roll

step "PVCs survive pod deletion and keep their data"
kubectl -n "$NS" get pvc
kubectl -n "$NS" delete pod rabbit-server-0 --wait
kubectl -n "$NS" wait rabbitmqcluster/rabbit --for=condition=AllReplicasReady --timeout=10m || fail "pod did not come back"
run_check amqp-check-after-pod-loss

step "operator restart: new pods take the Lease over and everything stays Ready"
kubectl -n warren-system rollout restart deployment/warren
kubectl -n warren-system rollout status deployment/warren --timeout=3m
for kind in vhosts users permissions exchanges queues bindings policies; do
  kubectl -n "$NS" wait "$kind" --all --for=condition=Ready --timeout=2m || fail "$kind not Ready after operator restart"
done
run_check amqp-check-after-operator-restart

step "done: every check passed"
