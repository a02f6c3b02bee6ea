// Kubernetes resource quantities ("2Gi", "500m", "1.5G", "1e3") as numbers of base units.
// Precise for every size a broker can have (well below 2^53 bytes).

const binarySuffixes: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const decimalSuffixes: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const quantityPattern =
  /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;

/** Parses a quantity; returns undefined when the text is not one. */
export function parseQuantity(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) ? text : undefined;
  const match = quantityPattern.exec(text.trim());
  if (!match) return undefined;
  const [, digits = '', exponent, suffix = ''] = match;
  const mantissa = Number(digits);
  if (exponent) return mantissa * 10 ** Number(exponent.slice(1));
  return mantissa * (binarySuffixes[suffix] ?? decimalSuffixes[suffix] ?? 1);
}

/** Compares two quantities: negative when a < b, 0 when equal, positive when a > b. */
export function compareQuantities(a: string, b: string): number {
  const left = parseQuantity(a);
  const right = parseQuantity(b);
  if (left === undefined || right === undefined)
    throw new Error(`cannot compare quantities "${a}" and "${b}"`);
  return left - right;
}
