// The operator in a pod authenticates with nothing but its service account: the token, the CA and the two
// environment variables. This runs that path against the real API server with a real ServiceAccount token.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inClusterAccess } from '../../../src/runtime/api-server.ts';
import { ApiError, KubeClient } from '../../../src/runtime/kube-client.ts';
import { coreResources } from '../../../src/runtime/resource.ts';
import { serviceAccountToken } from '../../env/service-account.ts';
import { clusterCa, createNamespace, kubeConfig } from '../../env/shared.ts';
import { useApi, type Api } from './support.ts';

describe('API server access from a pod, against a real API server', () => {
  let api: Api;
  let namespace: string;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    api = await useApi();
    namespace = await createNamespace('in-cluster', api.kubeConfig);
    await api.client.create(coreResources.serviceAccount, { metadata: { name: 'warren', namespace } });
    const token = await serviceAccountToken(api.client, namespace, 'warren', 600);
    dir = mkdtempSync(join(tmpdir(), 'warren-serviceaccount-'));
    writeFileSync(join(dir, 'token'), token);
    writeFileSync(join(dir, 'ca.crt'), clusterCa(kubeConfig()));
    writeFileSync(join(dir, 'namespace'), namespace);
    env = {
      KUBERNETES_SERVICE_HOST: api.client.server.hostname,
      KUBERNETES_SERVICE_PORT: api.client.server.port,
    };
  });

  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await api.close();
  });

  it('is the ServiceAccount to the API server, over TLS verified with the mounted CA', async () => {
    const client = new KubeClient(inClusterAccess(env, dir));
    try {
      const review = await client.request<{ status: { userInfo: { username: string } } }>(
        'POST',
        '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } },
      );
      assert.equal(review.status.userInfo.username, `system:serviceaccount:${namespace}:warren`);
    } finally {
      await client.close();
    }
  });

  it('refuses a server whose certificate the mounted CA did not sign', async () => {
    const other = mkdtempSync(join(tmpdir(), 'warren-serviceaccount-'));
    try {
      writeFileSync(join(other, 'token'), readFileSync(join(dir, 'token')));
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=another-ca',
          '-keyout',
          join(other, 'ca.key'),
          '-out',
          join(other, 'ca.crt'),
        ],
        { stdio: 'ignore' },
      );
      const client = new KubeClient(inClusterAccess(env, other));
      try {
        await assert.rejects(client.request('GET', '/version'), (error: unknown) => {
          assert.ok(error instanceof ApiError);
          assert.equal(error.reason, 'ConnectionFailed');
          assert.match(error.message, /certificate/i);
          return true;
        });
      } finally {
        await client.close();
      }
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
