// Option parsers shared by the CLI's commands: a bad flag is one line naming
// the flag and what was expected (commander prints it and exits 2).
import { InvalidArgumentError } from 'commander';

/** A whole number of at least `min`, written in plain digits (no sign, exponent, hex or fraction). */
export function wholeNumber(flag: string, min: number) {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number >= ${min} for ${flag}, got ${JSON.stringify(value)}`);
    return n;
  };
}
