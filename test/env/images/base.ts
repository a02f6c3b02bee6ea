// The Debian base that the RabbitMQ and operator images share: `debootstrap --variant=minbase` of trixie, slimmed
// like Debian's own container images (no documentation, translations, apt lists or caches), kept as one layer
// tar in the cache so it is made once for both.
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { cachedEntry, fileHasSize, inputHash } from './cache.ts';
import {
  chrootScript,
  elapsedSeconds,
  ensureDebianPackages,
  requireRoot,
  run,
  tarDirectory,
  type Log,
} from './host.ts';

export const debian = {
  suite: 'trixie',
  variant: 'minbase',
  mirror: 'http://deb.debian.org/debian',
} as const;

export interface BaseRootfs {
  /** The layer tar of the rootfs. */
  tar: string;
  hash: string;
  bytes: number;
  /** The point release that the mirror served, e.g. 13.8. */
  debianVersion: string;
  /** Date of the mirror's Release file that the packages came from (the archive state, ISO 8601). */
  releaseDate: string;
  builtSeconds?: number;
}

interface BaseMetadata {
  bytes: number;
  debianVersion: string;
  releaseDate: string;
  builtSeconds: number;
}

/** Left out of every layer: a container runtime provides these. */
export const runtimeProvidedPaths = ['./dev/*', './proc/*', './sys/*'];

// Files that dpkg then never installs, in this image or any built on it (licences stay).
const dpkgExcludes = `# Container image: no documentation or translations; licences stay.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
`;

/** Removes what apt and dpkg leave behind and what dpkgExcludes keeps out from now on. */
export const slimScript = `
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old /var/lib/dpkg/*-old
find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
find /usr/share/doc -mindepth 1 -type d -empty -delete
rm -rf /usr/share/man/* /usr/share/groff/* /usr/share/info/* /usr/share/lintian/* /usr/share/linda/*
find /usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
rm -rf /var/log/apt/* /var/log/*.log /tmp/* /var/tmp/*
# The runtime mounts its own; debootstrap copied the build host's.
: > /etc/resolv.conf
: > /etc/hostname
chmod 644 /etc/resolv.conf /etc/hostname
`;

export function baseHash(): string {
  return inputHash([
    { name: 'debian', value: JSON.stringify(debian) },
    { name: 'recipe', value: readFileSync(import.meta.filename) },
  ]);
}

export async function ensureBaseRootfs(log: Log): Promise<BaseRootfs> {
  const hash = baseHash();
  const entry = await cachedEntry<BaseMetadata>(
    'base',
    hash,
    async (dir) => {
      requireRoot('the Debian base rootfs');
      await ensureDebianPackages(
        [{ name: 'debootstrap', present: () => existsSync('/usr/sbin/debootstrap') }],
        log,
      );
      const started = Date.now();
      const rootfs = join(dir, 'rootfs');
      try {
        log(
          `debootstrap --variant=${debian.variant} ${debian.suite} from ${debian.mirror} (about 2 minutes)`,
        );
        await run('debootstrap', [`--variant=${debian.variant}`, debian.suite, rootfs, debian.mirror], {
          what: 'debootstrap',
          diagnose: (output) =>
            /Failed getting release file|Couldn't download|Temporary failure|Could not resolve|Connection refused|Network is unreachable/i.test(
              output,
            )
              ? `debootstrap could not reach the mirror ${debian.mirror}.`
              : undefined,
        });
        const release = readRelease(rootfs);
        writeFileSync(join(rootfs, 'etc/dpkg/dpkg.cfg.d/container-slim'), dpkgExcludes);
        writeFileSync(
          join(rootfs, 'etc/apt/apt.conf.d/container-no-languages'),
          'Acquire::Languages "none";\n',
        );
        await chrootScript(rootfs, slimScript, { what: 'slimming the Debian base' });
        const tar = join(dir, 'rootfs.tar');
        await tarDirectory(rootfs, tar, { exclude: runtimeProvidedPaths });
        const bytes = statSync(tar).size;
        log(
          `Debian ${release.version} base ready (${(bytes / 1024 / 1024).toFixed(1)} MiB, ${elapsedSeconds(started)}s)`,
        );
        return {
          bytes,
          debianVersion: release.version,
          releaseDate: release.date,
          builtSeconds: elapsedSeconds(started),
        };
      } finally {
        rmSync(rootfs, { recursive: true, force: true });
      }
    },
    { log, usable: (dir, metadata) => fileHasSize(join(dir, 'rootfs.tar'), metadata.bytes) },
  );
  const { builtSeconds, ...rest } = entry.metadata;
  return { tar: join(entry.dir, 'rootfs.tar'), hash, ...rest, ...(entry.built ? { builtSeconds } : {}) };
}

/** The Version and Date of the Release file that apt (or debootstrap) last fetched into root. */
export function readRelease(root: string): { version: string; date: string } {
  const lists = join(root, 'var/lib/apt/lists');
  const name = readdirSync(lists).find(
    (file) =>
      file.endsWith(`_dists_${debian.suite}_InRelease`) || file.endsWith(`_dists_${debian.suite}_Release`),
  );
  if (!name) throw new Error(`no Release file of ${debian.suite} in ${lists}`);
  return parseRelease(readFileSync(join(lists, name), 'utf8'));
}

export function parseRelease(text: string): { version: string; date: string } {
  const field = (key: string) => new RegExp(`^${key}: (.+)$`, 'm').exec(text)?.[1]?.trim();
  const version = field('Version');
  const date = field('Date');
  if (!version || !date || Number.isNaN(Date.parse(date)))
    throw new Error('the Release file has no Version or Date');
  return { version, date: new Date(date).toISOString().replace('.000Z', 'Z') };
}
