/**
 * Decoding at the boundary: io-ts errors turned into Kubernetes-style field errors.
 * Errors are data (Either); nothing here throws.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { invalid, required, type FieldError } from '../validation';

const isFieldContainer = (type: t.Decoder<unknown, unknown> | undefined): boolean =>
  type instanceof t.InterfaceType ||
  type instanceof t.PartialType ||
  type instanceof t.DictionaryType ||
  type instanceof t.ExactType ||
  type instanceof t.StrictType;

/** The Kubernetes-style path of an io-ts error context: spec.containers[0].image */
export function pathOf(context: t.Context): string {
  let path = '';
  for (let i = 1; i < context.length; i++) {
    const parent = context[i - 1].type as t.Decoder<unknown, unknown>;
    const key = context[i].key;
    if (parent instanceof t.ArrayType) path += `[${key}]`;
    else if (parent instanceof t.DictionaryType) path += `[${key}]`;
    else if (isFieldContainer(parent)) path += path === '' ? key : `.${key}`;
  }
  return path;
}

/** io-ts errors as field errors, one per field (a union reports each branch; the first is kept). */
export function toFieldErrors(errors: t.Errors): FieldError[] {
  const byPath = new Map<string, FieldError>();
  for (const e of errors) {
    const field = pathOf(e.context) || '<root>';
    if (byPath.has(field)) continue;
    const expected = e.context[e.context.length - 1]?.type.name ?? 'value';
    byPath.set(
      field,
      e.value === undefined ? required(field) : invalid(field, e.value, e.message ?? `must be of type ${expected}`),
    );
  }
  return [...byPath.values()];
}

export function decodeWith<A, O>(codec: t.Type<A, O, unknown>, input: unknown): E.Either<FieldError[], A> {
  return E.mapLeft(toFieldErrors)(codec.decode(input));
}
