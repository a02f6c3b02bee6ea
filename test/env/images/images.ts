// The container images that the test environment's Kubernetes node imports (`ctr -n k8s.io images import`),
// built here without Docker and cached outside the repository (see cache.ts for where).
//
//   ensureImages()       { pause, rabbitmq, operator, 'amqp-check' }: each a BuiltImage { name, archive, bytes,
//                        builtSeconds? } (amqp-check: the AMQP client that test/e2e runs as a Job);
//                        returns at once for images whose inputs are unchanged, and builds the others (the first
//                        build of the RabbitMQ and operator images takes a few minutes and needs root)
//   ensureImage(kind)    one of them
//
// Progress goes to stderr; WARREN_IMAGES_VERBOSE=1 also shows the output of debootstrap, apt and npm.
import type { BuiltImage } from './built-image.ts';
import type { Log } from './host.ts';
import { ensureAmqpCheckImage } from './amqp-check.ts';
import { ensureOperatorImage } from './operator.ts';
import { ensurePauseImage } from './pause.ts';
import { ensureRabbitmqImage } from './rabbitmq.ts';

export type { BuiltImage } from './built-image.ts';

export const imageKinds = ['pause', 'rabbitmq', 'operator', 'amqp-check'] as const;
export type ImageKind = (typeof imageKinds)[number];
export type Images = Record<ImageKind, BuiltImage>;

export interface EnsureOptions {
  log?: Log;
}

const stderrLog: Log = (line) => process.stderr.write(`[images] ${line}\n`);

export function ensureImage(kind: ImageKind, { log = stderrLog }: EnsureOptions = {}): Promise<BuiltImage> {
  switch (kind) {
    case 'pause':
      return ensurePauseImage(log);
    case 'rabbitmq':
      return ensureRabbitmqImage(log);
    case 'operator':
      return ensureOperatorImage(log);
    case 'amqp-check':
      return ensureAmqpCheckImage(log);
  }
}

export async function ensureImages(options: EnsureOptions = {}): Promise<Images> {
  const pause = await ensureImage('pause', options);
  // Both wait for the shared Debian base (built once, under its lock); then one mostly waits for the mirror
  // while the other compiles.
  const [rabbitmq, operator, check] = await Promise.allSettled([
    ensureImage('rabbitmq', options),
    ensureImage('operator', options),
    ensureImage('amqp-check', options),
  ]);
  if (rabbitmq.status === 'rejected') throw rabbitmq.reason;
  if (operator.status === 'rejected') throw operator.reason;
  if (check.status === 'rejected') throw check.reason;
  return { pause, rabbitmq: rabbitmq.value, operator: operator.value, 'amqp-check': check.value };
}
