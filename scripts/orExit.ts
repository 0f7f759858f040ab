// For the analysis scripts: run a loader, and turn its bad-input error into
// the project's one line on stderr and exit 2 (as `locksim` does, src/cli/main.ts).
import { InputError } from '../src/config/errors.ts';

export function orExit<T>(load: () => T): T {
  try {
    return load();
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
}
