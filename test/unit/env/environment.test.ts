import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { adminKubeconfig } from '../../env/certs.ts';
import { envFile } from '../../env/environment.ts';

describe('The environment file', () => {
  const values = {
    kubeconfigPath: '/repo with space/.testenv/control-plane/admin.kubeconfig',
    managementUrl: 'http://127.0.0.1:15672',
    amqpUrl: 'amqp://warren-admin:p%27w@127.0.0.1:5672',
    username: 'warren-admin',
    password: `it's $HOME "quoted"`,
    kubeBinDir: '/cache/k8s-v1.36.3',
  };

  it('exports every value unchanged when a POSIX shell sources it', () => {
    const script = `${envFile(values, '/repo/.testenv')}
printf '%s\\n' "$KUBECONFIG" "$RABBITMQ_MANAGEMENT_URL" "$RABBITMQ_AMQP_URL" "$RABBITMQ_USERNAME" "$RABBITMQ_PASSWORD" "$WARREN_TESTENV_DIR" "$PATH"`;
    const lines = execFileSync('sh', ['-c', script], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } })
      .trimEnd()
      .split('\n');
    assert.deepEqual(lines, [
      values.kubeconfigPath,
      values.managementUrl,
      values.amqpUrl,
      values.username,
      values.password,
      '/repo/.testenv',
      '/cache/k8s-v1.36.3:/usr/bin:/bin',
    ]);
  });
});

describe('The admin kubeconfig', () => {
  it('points its only context at the server with the CA and client certificate embedded', () => {
    const config = parse(
      adminKubeconfig({ server: 'https://127.0.0.1:6443', caPem: 'CA', certPem: 'CERT', keyPem: 'KEY' }),
    ) as {
      clusters: { cluster: Record<string, string> }[];
      users: { user: Record<string, string> }[];
      'current-context': string;
      contexts: { name: string }[];
    };
    const cluster = config.clusters[0]!.cluster;
    const user = config.users[0]!.user;
    assert.equal(cluster.server, 'https://127.0.0.1:6443');
    assert.equal(cluster['certificate-authority-data'], Buffer.from('CA').toString('base64'));
    assert.equal(user['client-certificate-data'], Buffer.from('CERT').toString('base64'));
    assert.equal(user['client-key-data'], Buffer.from('KEY').toString('base64'));
    assert.deepEqual(
      config.contexts.map((c) => c.name),
      [config['current-context']],
    );
  });
});
