// The pause image: pause.c compiled static, alone in one layer, run as nobody like Kubernetes' own.
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedImage, shortHash, type BuiltImage } from './built-image.ts';
import { commandExists, ensureDebianPackages, run, tarDirectory, type Log } from './host.ts';

const source = join(import.meta.dirname, 'pause.c');
const compilerFlags = ['-static', '-O2', '-s', '-Wall', '-Wextra', '-Werror'];

export function pauseImageName(hash: string): string {
  return `localhost/warren/pause:${shortHash(hash)}`;
}

export function ensurePauseImage(log: Log): Promise<BuiltImage> {
  return cachedImage(
    {
      kind: 'pause',
      inputs: [
        { name: 'pause.c', value: readFileSync(source) },
        { name: 'flags', value: compilerFlags.join(' ') },
        { name: 'recipe', value: readFileSync(import.meta.filename) },
      ],
      name: pauseImageName,
      build: async (work, _name, hash) => {
        await ensureDebianPackages(
          [
            { name: 'gcc', present: () => commandExists('gcc') },
            // A static binary links libc.a, which only libc6-dev ships.
            {
              name: 'libc6-dev',
              present: () =>
                existsSync('/usr/lib/x86_64-linux-gnu/libc.a') ||
                existsSync('/usr/lib/aarch64-linux-gnu/libc.a'),
            },
          ],
          log,
        );
        const rootfs = join(work, 'rootfs');
        mkdirSync(rootfs);
        const binary = join(rootfs, 'pause');
        await run('gcc', [...compilerFlags, '-o', binary, source], { what: 'compiling pause.c' });
        chmodSync(binary, 0o755);
        const layer = join(work, 'layer.tar');
        await tarDirectory(rootfs, layer, { rootOwned: true, mtime: 0 });
        return {
          layers: [{ path: layer, createdBy: `gcc ${compilerFlags.join(' ')} pause.c` }],
          config: {
            Entrypoint: ['/pause'],
            User: '65535:65535',
            Labels: { 'org.opencontainers.image.title': 'warren pause', 'dev.warren.inputs.sha256': hash },
          },
        };
      },
    },
    log,
  );
}
