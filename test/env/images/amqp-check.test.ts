// The local AMQP check image and test/e2e/amqp-check/Dockerfile must not drift apart: these read the Dockerfile
// by plain line matching and compare with what the builder makes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { amqpCheckConfig, amqpCheckImageName, amqpCheckPlan, checkDir } from './amqp-check.ts';
import { repoRoot } from './operator.ts';

const dockerfile = readFileSync(join(repoRoot, checkDir, 'Dockerfile'), 'utf8');
const stated = (keyword: string) => new RegExp(`^${keyword} (.+)$`, 'm').exec(dockerfile)?.[1]?.trim();

describe('The AMQP check image built without Docker', () => {
  const plan = amqpCheckPlan();
  const config = amqpCheckConfig(plan, 'f'.repeat(64));
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version: string }>;
  };

  it('installs the amqplib that the lockfile pins, on the locked Node', () => {
    assert.match(dockerfile, new RegExp(`amqplib@${lock.packages['node_modules/amqplib']!.version}$`, 'm'));
    assert.equal(stated('FROM'), `node:${lock.packages['node_modules/node']!.version}-trixie-slim`);
    assert.ok(config.Env?.includes(`NODE_VERSION=${plan.nodeVersion}`));
  });

  it('works in its WORKDIR, runs as its USER and starts with its ENTRYPOINT', () => {
    assert.equal(config.WorkingDir, stated('WORKDIR'));
    assert.equal(config.User, stated('USER'));
    assert.deepEqual(config.Entrypoint, JSON.parse(stated('ENTRYPOINT')!));
    assert.deepEqual(plan.copies, ['check.ts']);
  });

  it('is named by the amqplib version and the input hash', () => {
    assert.equal(
      amqpCheckImageName('2.3.1', 'abcdef0123456789'),
      'localhost/warren/amqp-check:2.3.1-abcdef012345',
    );
  });
});
