import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, mock } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inClusterAccess } from './api-server.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

function serviceAccountDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'warren-serviceaccount-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function applied(access: { applyToHTTPSOptions(options: RequestOptions): Promise<void> }) {
  const options: RequestOptions = {};
  await access.applyToHTTPSOptions(options);
  return options;
}

const podEnv = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
const mounted = { token: 'token-1\n', 'ca.crt': 'CA-1', namespace: 'warren-system\n' };

describe('API server access from a pod', () => {
  it('reads the server from the environment, and the token, CA and namespace from the mounted files', async () => {
    const access = inClusterAccess(podEnv, serviceAccountDir(mounted));
    assert.equal(access.server, 'https://10.96.0.1:443');
    assert.equal(access.namespace, 'warren-system');
    assert.equal(access.authentication, 'service account');
    const options = await applied(access);
    assert.equal(options.ca, 'CA-1');
    assert.deepEqual(options.headers, { authorization: 'Bearer token-1' });
  });

  it('brackets an IPv6 service host', () => {
    const access = inClusterAccess(
      { ...podEnv, KUBERNETES_SERVICE_HOST: 'fd00::1' },
      serviceAccountDir(mounted),
    );
    assert.equal(access.server, 'https://[fd00::1]:443');
  });

  it('refuses to start outside a pod or without a token, saying which', () => {
    assert.throws(() => inClusterAccess({}, serviceAccountDir(mounted)), /KUBERNETES_SERVICE_HOST/);
    assert.throws(() => inClusterAccess(podEnv, serviceAccountDir({ 'ca.crt': 'CA' })), /ENOENT.*token/);
  });

  it('picks up a rotated token and CA within a minute, and keeps the last good copy while files are missing', async () => {
    mock.timers.enable({ apis: ['Date'], now: 0 });
    try {
      const dir = serviceAccountDir(mounted);
      const access = inClusterAccess(podEnv, dir);
      writeFileSync(join(dir, 'token'), 'token-2');
      writeFileSync(join(dir, 'ca.crt'), 'CA-2');
      mock.timers.tick(30_000);
      assert.deepEqual((await applied(access)).headers, { authorization: 'Bearer token-1' });
      mock.timers.tick(30_000);
      const rotated = await applied(access);
      assert.deepEqual(rotated.headers, { authorization: 'Bearer token-2' });
      assert.equal(rotated.ca, 'CA-2');
      rmSync(join(dir, 'token'));
      mock.timers.tick(60_000);
      assert.deepEqual((await applied(access)).headers, { authorization: 'Bearer token-2' });
    } finally {
      mock.timers.reset();
    }
  });

  it('lets the operator start without loading client-node or the X.509 builder', () => {
    // Records every module the operator's entry point loads; an invalid setting makes it exit right after.
    const hooks = `
      import { registerHooks } from 'node:module';
      import { writeSync } from 'node:fs';
      registerHooks({ resolve(specifier, context, next) {
        const resolved = next(specifier, context);
        writeSync(1, resolved.url + '\\n');
        return resolved;
      } });`;
    const run = spawnSync(
      process.execPath,
      ['--import', `data:text/javascript,${encodeURIComponent(hooks)}`, 'src/main.ts'],
      { cwd: repoRoot, env: { ...process.env, LOG_LEVEL: 'not-a-level' }, encoding: 'utf8' },
    );
    assert.equal(run.status, 2, run.stderr);
    const loaded = run.stdout.split('\n').filter((url) => url !== '');
    assert.ok(
      loaded.some((url) => url.includes('/node_modules/undici/')),
      'the recording saw the dependencies',
    );
    // Both cost tens of MiB; the X.509 builder is loaded when a cluster first needs a certificate issued.
    assert.deepEqual(
      loaded.filter((url) => /@kubernetes\/client-node|@peculiar\/x509|reflect-metadata/.test(url)),
      [],
    );
  });
});
