import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dockerignore, parseCommand, parseDockerfile, parseEnv, planDockerfile } from './dockerfile.ts';

const sample = `# syntax=docker/dockerfile:1
ARG BASE=node:24.21.0-trixie-slim

FROM \${BASE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev \\
  # comments inside a continuation vanish
  --ignore-scripts

FROM $BASE
ENV NODE_ENV=production GREETING="hello world"
ENV LEGACY some value
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
USER 1000:1000
EXPOSE 8080 8081/udp
LABEL org.example.team=messaging
CMD ["node"]
ENTRYPOINT ["node", "dist/main.js"]
`;

describe('A Dockerfile', () => {
  it('substitutes global ARGs into FROM and names its stages', () => {
    const { args, stages } = parseDockerfile(sample);
    assert.deepEqual(args, { BASE: 'node:24.21.0-trixie-slim' });
    assert.deepEqual(
      stages.map((stage) => [stage.name, stage.from]),
      [
        ['deps', 'node:24.21.0-trixie-slim'],
        [undefined, 'node:24.21.0-trixie-slim'],
      ],
    );
  });

  it('joins continuation lines and drops the comments between them', () => {
    const [deps] = planDockerfile(parseDockerfile(sample)).buildStages;
    assert.deepEqual(deps!.steps, [
      { kind: 'workdir', path: '/app' },
      { kind: 'copy', copy: { sources: ['package.json', 'package-lock.json'], destination: '/app/' } },
      { kind: 'run', command: 'npm ci --omit=dev --ignore-scripts', line: 7 },
    ]);
  });

  it('gives the final image its environment, directory, user, ports, labels and command', () => {
    const { final } = planDockerfile(parseDockerfile(sample));
    assert.deepEqual(final.env, [
      ['NODE_ENV', 'production'],
      ['GREETING', 'hello world'],
      ['LEGACY', 'some value'],
    ]);
    assert.equal(final.workingDir, '/app');
    assert.equal(final.user, '1000:1000');
    assert.deepEqual(final.exposedPorts, ['8080/tcp', '8081/udp']);
    assert.deepEqual(final.labels, { 'org.example.team': 'messaging' });
    assert.deepEqual(final.entrypoint, ['node', 'dist/main.js']);
    // An ENTRYPOINT after CMD resets it, as in Docker.
    assert.equal(final.cmd, undefined);
  });

  it('resolves COPY destinations against WORKDIR, as a directory when they end with a slash', () => {
    const { final } = planDockerfile(parseDockerfile(sample));
    assert.deepEqual(final.copies, [
      { from: 'deps', sources: ['/app/node_modules'], destination: '/app/node_modules' },
      { sources: ['package.json'], destination: '/app/' },
    ]);
  });

  it('refuses an instruction the local builder cannot carry out, naming its line', () => {
    const withRun = sample.replace('USER 1000:1000', 'RUN apt-get install -y curl\nUSER 1000:1000');
    assert.throws(
      () => planDockerfile(parseDockerfile(withRun)),
      /cannot do RUN in the final stage \(Dockerfile line 17\)/,
    );
    const withHealthcheck = `${sample}HEALTHCHECK CMD true\n`;
    assert.throws(() => planDockerfile(parseDockerfile(withHealthcheck)), /cannot do HEALTHCHECK/);
    const fromElsewhere = sample.replace('--from=deps', '--from=busybox');
    assert.throws(() => planDockerfile(parseDockerfile(fromElsewhere)), /COPY --from=busybox, not a stage/);
  });

  it('refuses a FROM whose ARG is not set', () => {
    assert.throws(() => parseDockerfile('FROM ${IMAGE}\n'), /uses \$IMAGE, which no ARG before FROM sets/);
  });
});

describe('Dockerfile values', () => {
  it('read ENV pairs with quotes and escapes', () => {
    assert.deepEqual(parseEnv(`A=1 B="two words" C='single $quoted' D=escaped\\ space`), [
      ['A', '1'],
      ['B', 'two words'],
      ['C', 'single $quoted'],
      ['D', 'escaped space'],
    ]);
  });

  it('keep the exec form and wrap the shell form in /bin/sh -c', () => {
    assert.deepEqual(parseCommand('["node", "--flag", "x.js"]'), ['node', '--flag', 'x.js']);
    assert.deepEqual(parseCommand('node x.js'), ['/bin/sh', '-c', 'node x.js']);
  });
});

describe('A .dockerignore', () => {
  const ignored = dockerignore(`# only what the build needs
**
!package.json
!src/**
src/**/*.test.ts
`);

  it('lets the last matching rule decide', () => {
    assert.equal(ignored('package.json'), false);
    assert.equal(ignored('src/main.ts'), false);
    assert.equal(ignored('src/cluster/reconciler.ts'), false);
    assert.equal(ignored('src/cluster/reconciler.test.ts'), true);
    assert.equal(ignored('src/main.test.ts'), true);
    assert.equal(ignored('README.md'), true);
  });

  it('covers everything below a directory it names', () => {
    const byDirectory = dockerignore('node_modules\n');
    assert.equal(byDirectory('node_modules/zod/index.js'), true);
    assert.equal(byDirectory('src/node_modules.ts'), false);
  });
});
