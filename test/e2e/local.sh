#!/usr/bin/env bash
# npm run e2e: test/e2e/run.sh against the local test environment's Kubernetes node (test/env/node/), with the
# images built here (test/env/images/). Starts the environment (`npm run testenv -- up`) when none is running,
# and stops it at the end only when it started it. Needs root, like the node itself.
set -euo pipefail
cd "$(dirname "$0")/../.."

started=
stop() { [ -z "$started" ] || node test/env/cli.ts down; }
trap stop EXIT
if ! node test/env/cli.ts status >/dev/null 2>&1; then
  started=1
  node test/env/cli.ts up
fi
# shellcheck disable=SC1091
. .testenv/env
if [ -z "${WARREN_NODE_NAME:-}" ]; then
  echo "The test environment has no node (${WARREN_NODE_UNAVAILABLE:-unknown why}); the end-to-end test needs one." >&2
  exit 1
fi
# First the longer lives of clusters (test/e2e/pods/): node:test files run from this host, which reaches the
# node's Service addresses; each installs its own operator release and deletes its clusters at the end.
node --test --test-concurrency=1 --test-reporter=spec test/e2e/pods/*.test.ts
HELM=$(bash test/env/testbins/build.sh control-plane | sed -n 's/^HELM_BIN_DIR=//p')/helm
# Three brokers, two operator replicas and the check fit the node's two CPUs with these requests.
HELM=$HELM E2E_KUBECONFIG=$KUBECONFIG \
  E2E_BROKER_CPU=${E2E_BROKER_CPU:-100m} E2E_BROKER_MEMORY=${E2E_BROKER_MEMORY:-256Mi} \
  E2E_BROKER_STORAGE=${E2E_BROKER_STORAGE:-1Gi} \
  bash test/e2e/run.sh
