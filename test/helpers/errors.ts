/** The InputError that `f` throws (any other outcome fails the test). */
import { InputError } from '../../src/config/errors.ts';

export function inputError(f: () => unknown): InputError {
  try {
    f();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('expected an InputError');
}
