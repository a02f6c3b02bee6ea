// Go duration strings ("8760h", "720h0m0s", "1.5h") as cert-manager and CEL's duration() read them.
import { goDurationPattern } from './common.ts';

const unitMilliseconds: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Milliseconds in a Go duration string, or undefined when it is not one. */
export function parseGoDuration(text: string): number | undefined {
  if (!goDurationPattern.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(amount) * (unitMilliseconds[unit ?? ''] ?? Number.NaN);
  }
  return total;
}
