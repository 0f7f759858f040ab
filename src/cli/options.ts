// Option parsers shared by the CLI's commands: a bad flag is one line naming
// the flag and what was expected (commander prints it and exits 2).
import { ABLATION_NAMES, type AblationName } from '../config/ablations.ts';
import type { Scenario } from '../config/scenarioSchema.ts';
import { InvalidArgumentError } from 'commander';

/** A whole number of at least `min`, written in plain digits (no sign, exponent, hex or fraction). */
export function wholeNumber(flag: string, min: number) {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number >= ${min} for ${flag}, got ${JSON.stringify(value)}`);
    return n;
  };
}

/** `--ablate smt,numa-hop`: names from the ablation registry, each once. */
export function ablateList(flag: string) {
  return (value: string, previous: AblationName[] = []): AblationName[] => {
    const out = [...previous];
    for (const raw of value.split(',')) {
      const name = raw.trim();
      if (!(ABLATION_NAMES as readonly string[]).includes(name)) {
        throw new InvalidArgumentError(`expected ablation names from ${ABLATION_NAMES.join(', ')} for ${flag}, got ${JSON.stringify(name)}`);
      }
      if (!out.includes(name as AblationName)) out.push(name as AblationName);
    }
    return out;
  };
}

/** The scenario with the command line's seed and ablations (added to the file's). */
export function scenarioEdit(opts: { seed?: number; ablate?: AblationName[]; detailed?: boolean }): ((s: Scenario) => Scenario) | undefined {
  if (opts.seed === undefined && !opts.ablate?.length && !opts.detailed) return undefined;
  return (s: Scenario) => ({
    ...s,
    ...(opts.detailed ? { simulation: { ...s.simulation, detailed: true } } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.ablate?.length ? { ablate: [...new Set([...(s.ablate ?? []), ...opts.ablate])] } : {}),
  });
}
