import * as E from 'fp-ts/Either';
import { canonicalQuantity, compareQuantities, milliValue, mustParseQuantity, parseQuantity, value } from '../core/quantity';

const canon = (s: string | number) => {
  const r = canonicalQuantity(s);
  if (E.isLeft(r)) throw new Error(r.left);
  return r.right;
};

describe('quantities', () => {
  it.each([
    ['500m', '500m'],
    ['0.5', '500m'],
    ['1', '1'],
    ['1000m', '1'],
    ['1Gi', '1Gi'],
    ['1024Mi', '1Gi'],
    ['1.5Gi', '1536Mi'],
    ['128974848', '128974848'],
    ['129e6', '129e6'],
    ['129M', '129M'],
    ['123Mi', '123Mi'],
    ['100k', '100k'],
    ['0', '0'],
    ['0Gi', '0'],
    ['1e3', '1e3'],
    ['1E', '1E'],
    ['2000E', '2000E'],
    ['0.1m', '100u'],
    ['1n', '1n'],
    ['0.0000000001', '1n'],
    ['-1', '-1'],
    ['+5', '5'],
    ['.5', '500m'],
    ['1.', '1'],
    ['512Ki', '512Ki'],
    ['1023', '1023'],
    [2, '2'],
    [0.25, '250m'],
  ])('reads %p as Kubernetes writes it: %p', (input, expected) => {
    expect(canon(input as string)).toBe(expected);
  });

  it.each(['', ' 1', '1 ', 'abc', '1.2.3', '1Gb', '1kb', '--1', '1e', '5i', 'Gi', '1e999999', 'NaN'])('refuses %p with the Kubernetes message', (input) => {
    const r = parseQuantity(input);
    expect(E.isLeft(r)).toBe(true);
  });

  it('compares exactly, across suffix families', () => {
    const q = mustParseQuantity;
    expect(compareQuantities(q('1Gi'), q('1073741824'))).toBe(0);
    expect(compareQuantities(q('1G'), q('1Gi'))).toBe(-1);
    expect(compareQuantities(q('1001m'), q('1'))).toBe(1);
    expect(compareQuantities(q('0.1'), q('100m'))).toBe(0);
    // Beyond the range of a double's exact integers, still exact.
    expect(compareQuantities(q('9007199254740993'), q('9007199254740992'))).toBe(1);
  });

  it('gives milli and whole values rounded up, as the scheduler counts', () => {
    expect(milliValue(mustParseQuantity('250m'))).toBe(250n);
    expect(milliValue(mustParseQuantity('1.0001'))).toBe(1001n);
    expect(value(mustParseQuantity('1Mi'))).toBe(1048576n);
    expect(value(mustParseQuantity('1500m'))).toBe(2n);
  });
});
