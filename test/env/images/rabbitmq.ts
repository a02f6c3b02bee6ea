// The RabbitMQ image: Debian trixie's rabbitmq-server and Erlang at pinned versions on the shared Debian base,
// laid out to honour the official `rabbitmq` image's contract as far as a StatefulSet of the operator relies
// on it (README.md beside this file says what it honours and what it lacks).
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestEnvError } from '../process.ts';
import { debian, ensureBaseRootfs, readRelease, runtimeProvidedPaths, slimScript } from './base.ts';
import { cachedImage, shortHash, type BuiltImage } from './built-image.ts';
import { chrootScript, extractTar, makeDeviceNodes, requireRoot, tarDirectory, type Log } from './host.ts';
import type { ImageConfig } from './oci.ts';

/**
 * Exact Debian package versions. trixie's mirror serves one version of each, so a pin fails the build (with
 * that said) once a point release replaces it: then update both here, to what
 * `apt-cache policy rabbitmq-server erlang-base` shows in a trixie chroot.
 */
export const debianPins = {
  rabbitmqServer: '4.0.5-6+deb13u2',
  erlangBase: '1:27.3.4.1+dfsg-1+deb13u4',
} as const;

/** Upstream versions inside the Debian ones: 4.0.5-6+deb13u2 is RabbitMQ 4.0.5, 1:27.3.4.1+dfsg-… is OTP 27.3.4.1. */
export function upstreamVersion(debianVersion: string): string {
  return debianVersion.replace(/^\d+:/, '').replace(/[-+~].*$/, '');
}

export const rabbitmqVersion = upstreamVersion(debianPins.rabbitmqServer);
export const erlangVersion = upstreamVersion(debianPins.erlangBase);

const uid = 999;
const dataDir = '/var/lib/rabbitmq';

/** The official image's ports, with the management plugin's (its `-management` tags expose those too). */
export const exposedPorts = [4369, 5671, 5672, 15671, 15672, 15691, 15692, 25672];

export const imageEnv: Record<string, string> = {
  // Debian's /usr/sbin wrappers would send the server's output to a log file: its scripts come first.
  PATH: '/usr/lib/rabbitmq/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: dataDir,
  RABBITMQ_DATA_DIR: dataDir,
  RABBITMQ_CONFIG_FILES: '/etc/rabbitmq/conf.d',
  RABBITMQ_ENABLED_PLUGINS_FILE: '/etc/rabbitmq/enabled_plugins',
  // The CLI tools find the plugins only through Debian's wrappers otherwise.
  RABBITMQ_PLUGINS_DIR: `/usr/lib/rabbitmq/lib/rabbitmq_server-${rabbitmqVersion}/plugins`,
  RABBITMQ_LOGS: '-',
  LANG: 'C.UTF-8',
  LANGUAGE: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
};

export const enabledPlugins = ['rabbitmq_management', 'rabbitmq_prometheus'];

// The official image's conf.d/10-defaults.conf; the operator's files (10-operatorDefaults.conf and later) follow.
const defaultsConf = `## Defaults of the official image: guest may log in from anywhere, logs go to the console.
loopback_users.guest = false
log.console = true
`;

// Created before the package is installed, so its postinst finds the user and owns its directories by 999.
const userScript = `
getent group rabbitmq >/dev/null || groupadd --system --gid ${uid} rabbitmq
getent passwd rabbitmq >/dev/null || useradd --system --uid ${uid} --gid ${uid} --home-dir ${dataDir} --no-create-home --shell /usr/sbin/nologin rabbitmq
test "$(id -u rabbitmq):$(id -g rabbitmq)" = "${uid}:${uid}"
`;

const installScript = `
apt-get install -y -qq --no-install-recommends rabbitmq-server=${debianPins.rabbitmqServer} erlang-base=${debianPins.erlangBase}
test "$(dpkg-query -W -f '\${Version}' rabbitmq-server)" = '${debianPins.rabbitmqServer}'
`;

const layoutScript = `
rm -f /usr/sbin/policy-rc.d
mkdir -p ${dataDir} /etc/rabbitmq/conf.d /var/log/rabbitmq /tmp/rabbitmq-ssl
cat > /etc/rabbitmq/conf.d/10-defaults.conf <<'EOF'
${defaultsConf}EOF
echo '[${enabledPlugins.join(',')}].' > /etc/rabbitmq/enabled_plugins
chown -R ${uid}:${uid} ${dataDir} /etc/rabbitmq /var/log/rabbitmq /tmp/rabbitmq-ssl
# As the official image: writable for any uid that a pod runs the broker as.
chmod 1777 ${dataDir} /etc/rabbitmq /etc/rabbitmq/conf.d /var/log/rabbitmq /tmp/rabbitmq-ssl
# CLI tools run by root use the broker's cookie.
ln -sf ${dataDir}/.erlang.cookie /root/.erlang.cookie
`;

// As the broker's user with the image's environment: the tools are found on PATH, Erlang's crypto loads,
// the CLI reads the enabled plugins from the image's file, and the data and config directories are writable.
const smokeScript = `
test "$(id -u):$(id -g)" = '${uid}:${uid}'
test "$(command -v rabbitmq-server)" = /usr/lib/rabbitmq/bin/rabbitmq-server
for tool in rabbitmqctl rabbitmq-diagnostics rabbitmq-plugins rabbitmq-upgrade rabbitmq-queues rabbitmq-streams rabbitmqadmin; do
  command -v "$tool" >/dev/null || { echo "$tool is not on PATH" >&2; exit 1; }
done
erl -noshell -eval 'ok = crypto:start(), io:format("Erlang/OTP ~s~n", [erlang:system_info(otp_release)]), halt().'
rabbitmq-diagnostics --help >/dev/null
rabbitmq-plugins list --enabled --minimal > /tmp/enabled
${enabledPlugins.map((plugin) => `grep -qx ${plugin} /tmp/enabled`).join('\n')}
rm /tmp/enabled
rabbitmqadmin --version
for dir in ${dataDir} ${dataDir}/mnesia /etc/rabbitmq/conf.d /var/log/rabbitmq; do touch "$dir/.writable" && rm "$dir/.writable"; done
`;

function aptDiagnosis(output: string): string | undefined {
  const missing = /Version '([^']+)' for '([^']+)' was not found/.exec(output);
  if (missing) {
    return `${missing[2]} ${missing[1]} is no longer on the Debian mirror; update debianPins in test/env/images/rabbitmq.ts.`;
  }
  if (/Temporary failure resolving|Could not resolve|Failed to fetch|Unable to connect/i.test(output)) {
    return `apt-get in the image could not reach the mirror ${debian.mirror}.`;
  }
  return undefined;
}

export function rabbitmqImageName(hash: string): string {
  return `localhost/warren/rabbitmq:${rabbitmqVersion}-${shortHash(hash)}`;
}

export async function ensureRabbitmqImage(log: Log): Promise<BuiltImage> {
  const started = Date.now();
  requireRoot('the RabbitMQ image');
  const base = await ensureBaseRootfs(log);
  return cachedImage(
    {
      kind: 'rabbitmq',
      inputs: [
        { name: 'base', value: base.hash },
        { name: 'pins', value: JSON.stringify(debianPins) },
        { name: 'recipe', value: readFileSync(import.meta.filename) },
      ],
      name: rabbitmqImageName,
      build: async (work, _name, hash) => {
        const rootfs = join(work, 'rootfs');
        await extractTar(base.tar, rootfs);
        await makeDeviceNodes(rootfs);
        writeFileSync(join(rootfs, 'etc/resolv.conf'), readFileSync('/etc/resolv.conf'));
        // Packages must not start their services in the build.
        writeFileSync(join(rootfs, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
        const env = { DEBIAN_FRONTEND: 'noninteractive' };

        await chrootScript(rootfs, userScript, { what: 'creating the rabbitmq user (uid 999)', env });
        log(
          `apt-get install rabbitmq-server=${debianPins.rabbitmqServer} erlang-base=${debianPins.erlangBase} (about a minute)`,
        );
        await chrootScript(rootfs, 'apt-get update -qq', {
          what: 'apt-get update in the image',
          env,
          diagnose: aptDiagnosis,
        });
        const release = readRelease(rootfs);
        await chrootScript(rootfs, installScript, {
          what: 'installing rabbitmq-server',
          env,
          diagnose: aptDiagnosis,
        });
        await chrootScript(rootfs, slimScript, { what: 'cleaning apt caches and documentation', env });
        await chrootScript(rootfs, layoutScript, { what: 'laying out the RabbitMQ directories', env });

        log('smoke test: the RabbitMQ tools and Erlang as uid 999');
        await chrootScript(rootfs, smokeScript, {
          what: 'the RabbitMQ smoke test',
          user: `${uid}:${uid}`,
          env: imageEnv,
        });
        // No cookie of the build's own: the pod brings one (the tools above would have created it).
        await chrootScript(rootfs, `rm -f ${dataDir}/.erlang.cookie`, { what: 'removing the build cookie' });
        for (const dir of [dataDir, `${dataDir}/mnesia`, '/etc/rabbitmq']) {
          const owner = statSync(join(rootfs, dir));
          if (owner.uid !== uid || owner.gid !== uid) {
            throw new TestEnvError(
              `${dir} in the RabbitMQ image is owned by ${owner.uid}:${owner.gid}, not ${uid}:${uid}.`,
            );
          }
        }

        const layer = join(work, 'rootfs.tar');
        await tarDirectory(rootfs, layer, { exclude: runtimeProvidedPaths });
        return {
          layers: [
            {
              path: layer,
              createdBy: `debootstrap --variant=${debian.variant} ${debian.suite}; apt-get install rabbitmq-server=${debianPins.rabbitmqServer} erlang-base=${debianPins.erlangBase}`,
            },
          ],
          config: rabbitmqConfig({ hash, debianVersion: release.version, releaseDate: release.date }),
        };
      },
    },
    log,
    started,
  );
}

export function rabbitmqConfig(facts: {
  hash: string;
  debianVersion: string;
  releaseDate: string;
}): ImageConfig {
  return {
    User: `${uid}:${uid}`,
    Env: Object.entries(imageEnv).map(([key, value]) => `${key}=${value}`),
    Cmd: ['rabbitmq-server'],
    ExposedPorts: Object.fromEntries(exposedPorts.map((port) => [`${port}/tcp`, {}])),
    Labels: {
      'org.opencontainers.image.title': 'RabbitMQ from Debian packages',
      'org.opencontainers.image.version': rabbitmqVersion,
      'org.opencontainers.image.base.name': `debian:${debian.suite} (debootstrap --variant=${debian.variant})`,
      'dev.warren.rabbitmq.version': debianPins.rabbitmqServer,
      'dev.warren.erlang.version': debianPins.erlangBase,
      'dev.warren.debian.version': facts.debianVersion,
      'dev.warren.debian.release-date': facts.releaseDate,
      'dev.warren.inputs.sha256': facts.hash,
    },
  };
}
