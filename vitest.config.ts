import { defineConfig } from 'vitest/config';

// Three groups: `unit` is what CI and the README's test command run;
// `slow` holds long simulations and probes that take minutes;
// `privileged` holds tests that touch the host (mount namespaces, pinned threads)
// and need root; they report "skipped: <reason>" where the host lacks it.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/**/*.slow.test.ts', 'test/**/*.priv.test.ts'], testTimeout: 120_000, sequence: { groupOrder: 0 } } },
      { test: { name: 'slow', include: ['test/**/*.slow.test.ts'], testTimeout: 900_000, sequence: { groupOrder: 0 } } },
      // After the other two (groupOrder 1): these measure the host, and the
      // unit and slow groups' load on the 2 cpus would fall on some
      // measurements and not others (a recording and its held-out runs).
      { test: { name: 'privileged', include: ['test/**/*.priv.test.ts'], testTimeout: 600_000, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
