/**
 * Property-based fuzzing of every input kind (issue 11): seeded mutations of
 * real inputs (fast-check), 2,000 per kind. Each must load or throw the
 * one-line located InputError of at most 300 characters; a crash, a second
 * line, a `:undefined:` location or a library warning on stderr fails.
 * The long run is scripts/fuzz-inputs.ts (docs/reliability.md).
 */
import { describe, expect, it } from 'vitest';
import { fuzzKind, inputKinds } from './helpers/fuzzInputs.ts';

const RUNS = 2000;
const SEED = 20261129;

describe('fuzzed inputs load or get their one line', () => {
  for (const kind of inputKinds()) {
    it(`${kind.name}: ${RUNS} mutated inputs`, () => {
      const r = fuzzKind(kind, RUNS, SEED);
      const findings = { crash: r.examples.crash, overLong: r.examples['over-long line'], multiLine: r.examples['multi-line'], badLocation: r.examples['bad location'], warning: r.examples.warning };
      expect(findings).toEqual({ crash: undefined, overLong: undefined, multiLine: undefined, badLocation: undefined, warning: undefined });
      // The mutations reach both outcomes, so the property is not vacuous.
      expect(r.counts['input error']).toBeGreaterThan(RUNS / 10);
      expect(r.counts.loaded).toBeGreaterThan(0);
    });
  }
});
