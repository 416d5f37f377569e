/**
 * Kubernetes resource quantities ("500m", "1Gi", "1.5", "2e3"), parsed and compared exactly.
 *
 * A quantity is held as an integer number of nano-units (a bigint), which is exact for every
 * value Kubernetes can represent: Kubernetes itself rounds anything finer than 1n up (away from
 * zero), and so does `parseQuantity`. Formatting follows apimachinery's canonical form: the
 * suffix family of the input is kept (binary, decimal SI, decimal exponent) and the largest
 * suffix that leaves an integer mantissa is chosen ("1024Mi" -> "1Gi", "0.5" -> "500m").
 */
import * as E from 'fp-ts/Either';

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export interface Quantity {
  /** The value in nano-units (value × 10^9). */
  readonly nanos: bigint;
  readonly format: QuantityFormat;
}

const NANO = 1_000_000_000n;
const BINARY: Record<string, bigint> = { Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const DECIMAL_SUFFIX: Record<number, string> = { [-9]: 'n', [-6]: 'u', [-3]: 'm', 0: '', 3: 'k', 6: 'M', 9: 'G', 12: 'T', 15: 'P', 18: 'E' };
const BINARY_SUFFIX = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

const SHAPE = /^([+-]?)(\d+\.?\d*|\.\d+)(.*)$/;
const MAX_DIGITS = 64;
const MAX_EXPONENT = 64;

export const QUANTITY_FORMAT_MESSAGE = "must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const pow10 = (n: number): bigint => 10n ** BigInt(n);

/** Divides rounding away from zero (Kubernetes rounds sub-nano precision up). */
function divAwayFromZero(num: bigint, den: bigint): bigint {
  const q = num / den;
  return num % den === 0n ? q : num < 0n ? q - 1n : q + 1n;
}

export function parseQuantity(input: string | number): E.Either<string, Quantity> {
  const text = typeof input === 'number' ? (Number.isFinite(input) ? String(input) : '') : input;
  const m = SHAPE.exec(text.trim() === text ? text : '');
  if (!m) return E.left(QUANTITY_FORMAT_MESSAGE);
  const [, sign, number, suffix] = m;
  const [intPart, fracPart = ''] = number.split('.');
  if (intPart.length + fracPart.length > MAX_DIGITS) return E.left('has too many digits');
  // mantissa × 10^-fracDigits
  let num = BigInt((intPart || '0') + fracPart) * (sign === '-' ? -1n : 1n);
  let den = pow10(fracPart.length);
  let format: QuantityFormat;
  if (suffix in BINARY) {
    num *= BINARY[suffix];
    format = 'BinarySI';
  } else if (suffix in DECIMAL) {
    const exp = DECIMAL[suffix];
    if (exp >= 0) num *= pow10(exp);
    else den *= pow10(-exp);
    format = 'DecimalSI';
  } else if (/^[eE][+-]?\d+$/.test(suffix)) {
    const exp = Number(suffix.slice(1));
    if (Math.abs(exp) > MAX_EXPONENT) return E.left('exponent is out of range');
    if (exp >= 0) num *= pow10(exp);
    else den *= pow10(-exp);
    format = 'DecimalExponent';
  } else {
    return E.left(QUANTITY_FORMAT_MESSAGE);
  }
  const nanos = divAwayFromZero(num * NANO, den);
  return E.right({ nanos, format });
}

export function formatQuantity(q: Quantity): string {
  if (q.nanos === 0n) return '0';
  const negative = q.nanos < 0n;
  const abs = negative ? -q.nanos : q.nanos;
  const sign = negative ? '-' : '';
  if (q.format === 'BinarySI' && abs % NANO === 0n && abs >= 1024n * NANO) {
    let units = abs / NANO;
    let i = 0;
    while (i < BINARY_SUFFIX.length - 1 && units % 1024n === 0n) {
      units /= 1024n;
      i++;
    }
    return `${sign}${units}${BINARY_SUFFIX[i]}`;
  }
  let mantissa = abs;
  let exp = -9;
  while (exp < 18 && mantissa % 1000n === 0n) {
    mantissa /= 1000n;
    exp += 3;
  }
  if (q.format === 'DecimalExponent') return `${sign}${mantissa}${exp === 0 ? '' : `e${exp}`}`;
  return `${sign}${mantissa}${DECIMAL_SUFFIX[exp]}`;
}

/** The canonical spelling of a quantity, or an error message. */
export const canonicalQuantity = (input: string | number): E.Either<string, string> =>
  E.map(formatQuantity)(parseQuantity(input));

export const compareQuantities = (a: Quantity, b: Quantity): -1 | 0 | 1 => (a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : 0);

/** As apimachinery's Add: the receiver's format, or the other's when the receiver is zero. */
export const addQuantities = (a: Quantity, b: Quantity): Quantity => ({ nanos: a.nanos + b.nanos, format: a.nanos === 0n ? b.format : a.format });
export const subtractQuantities = (a: Quantity, b: Quantity): Quantity => ({ nanos: a.nanos - b.nanos, format: a.format });

export const ZERO: Quantity = { nanos: 0n, format: 'DecimalSI' };

/** For quantities already validated (stored objects): throws on a malformed one. */
export function mustParseQuantity(input: string | number): Quantity {
  const q = parseQuantity(input);
  if (E.isLeft(q)) throw new RangeError(`invalid quantity ${JSON.stringify(input)}: ${q.left}`);
  return q.right;
}

/** Millicores of a cpu quantity, rounded up (as the scheduler and kubelet count cpu). */
export const milliValue = (q: Quantity): bigint => divAwayFromZero(q.nanos, 1_000_000n);
/** Whole units, rounded up (memory bytes, pod counts). */
export const value = (q: Quantity): bigint => divAwayFromZero(q.nanos, NANO);
