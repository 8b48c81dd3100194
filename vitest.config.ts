import { defineConfig } from 'vitest/config';

// One `vitest run` covers everything: the Node suites (engine, store, server, bank tools,
// integration, hardening, bench smoke, end-to-end) and the client's state classes, which
// need the Svelte plugin and so live in their own project (client/vitest.config.ts).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['shared/**/*.test.ts', 'server/**/*.test.ts', 'question-bank/**/*.test.ts', 'tests/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      './client/vitest.config.ts',
    ],
  },
});
