/**
 * Unit tests of the client state classes (`src/lib/*.test.ts`). The classes use Svelte runes,
 * so `.svelte.ts` modules go through the Svelte plugin, compiled for the browser and run on
 * Svelte's client runtime (the `browser` export condition) in Node, with a fake socket.
 *
 *   cd /work/main && npx vitest run --config client/vitest.config.ts
 */
import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const root = decodeURIComponent(new URL('.', import.meta.url).pathname);

export default defineConfig({
  root,
  plugins: [svelte({ configFile: false, compilerOptions: { runes: true } })],
  resolve: { conditions: ['browser'] },
  test: {
    name: 'client',
    root,
    include: ['src/**/*.test.ts'],
    environment: './src/lib/testing/node-client-env.ts',
  },
});
