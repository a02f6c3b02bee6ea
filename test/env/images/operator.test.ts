// The local operator image and the repository's Dockerfile must not drift apart: these read the Dockerfile
// with plain line matching, independently of the builder's parser, and compare with what the builder makes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, it } from 'node:test';
import { debian } from './base.ts';
import { operatorConfig, operatorImageName, operatorPlan, repoRoot } from './operator.ts';

const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
const stated = (text: string, keyword: string) =>
  [...text.matchAll(new RegExp(`^${keyword} (.+)$`, 'gm'))].map((match) => match[1]!.trim());

describe('The operator image built without Docker', () => {
  const plan = operatorPlan();
  const config = operatorConfig(plan, {
    hash: 'f'.repeat(64),
    debianVersion: '13.8',
    releaseDate: '2026-11-21T09:15:44Z',
  });
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version: string }>;
  };

  it('stands for the Dockerfile’s base: the locked Node on the same Debian release', () => {
    const nodeVersion = lock.packages['node_modules/node']!.version;
    const nodeImage = stated(dockerfile, 'ARG').find((arg) => arg.startsWith('NODE_IMAGE='));
    assert.equal(nodeImage, `NODE_IMAGE=node:${nodeVersion}-${debian.suite}-slim`);
    assert.equal(plan.nodeVersion, nodeVersion);
    assert.ok(config.Env?.includes(`NODE_VERSION=${nodeVersion}`));
  });

  it('has every ENV of the final stage', () => {
    const envs = stated(finalStage, 'ENV');
    assert.ok(envs.length > 0);
    for (const env of envs) assert.ok(config.Env?.includes(env), `${env} is not in ${config.Env?.join(' ')}`);
  });

  it('works in its WORKDIR, runs as its USER, exposes its ports and starts with its ENTRYPOINT', () => {
    assert.equal(config.WorkingDir, stated(finalStage, 'WORKDIR').at(-1));
    assert.equal(config.User, stated(finalStage, 'USER').at(-1));
    assert.deepEqual(
      Object.keys(config.ExposedPorts ?? {}),
      stated(finalStage, 'EXPOSE').flatMap((ports) => ports.split(/\s+/).map((port) => `${port}/tcp`)),
    );
    assert.deepEqual(config.Entrypoint, JSON.parse(stated(finalStage, 'ENTRYPOINT').at(-1)!));
    assert.equal(config.Cmd, undefined);
  });

  it('copies to the final stage’s COPY destinations, from the stages that made them', () => {
    const copies = stated(finalStage, 'COPY').map((line) => {
      const parts = line.split(/\s+/);
      const from = parts[0]!.startsWith('--from=') ? parts.shift()!.slice('--from='.length) : undefined;
      return { from, destination: parts.at(-1)! };
    });
    assert.deepEqual(
      plan.final.copies.map((copy) => ({ from: copy.from, destination: copy.destination })),
      copies.map((copy) => ({
        from: copy.from,
        destination:
          posix.resolve(config.WorkingDir!, copy.destination) + (copy.destination.endsWith('/') ? '/' : ''),
      })),
    );
  });

  it('runs the npm commands of the build stages, as written', () => {
    const commands = plan.buildStages.flatMap((stage) =>
      stage.steps.flatMap((step) => (step.kind === 'run' ? [step.command] : [])),
    );
    assert.deepEqual(commands, stated(dockerfile, 'RUN'));
    assert.ok(commands.every((command) => command.startsWith('npm ')));
  });

  it('takes from the repository only what the Dockerfile copies and .dockerignore lets through', () => {
    for (const file of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'src/main.ts',
    ]) {
      assert.ok(plan.contextFiles.includes(file), `${file} is missing from the build context`);
    }
    assert.deepEqual(
      plan.contextFiles.filter(
        (file) => !file.startsWith('src/') && !/^(package(-lock)?|tsconfig(\.build)?)\.json$/.test(file),
      ),
      [],
    );
    assert.deepEqual(
      plan.contextFiles.filter((file) => file.endsWith('.test.ts')),
      [],
    );
  });

  it('is named by the package version and the first 12 hex digits of its input hash', () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    assert.equal(
      operatorImageName(plan.packageVersion, 'abcdef0123456789'),
      `localhost/warren/operator:${version}-abcdef012345`,
    );
  });
});
