/**
 * A vitest environment for the state-class tests: plain Node globals (no DOM is needed), but
 * modules are transformed for the browser ("client" Vite environment), so `.svelte.ts` files
 * compile to Svelte's client runtime and `$state` / `$derived` behave as they do in the app.
 */
import type { Environment } from 'vitest/environments';

export default {
  name: 'node-client',
  viteEnvironment: 'client',
  setup() {
    return { teardown() {} };
  },
} satisfies Environment;
