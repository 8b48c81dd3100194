/**
 * Every workspace declares what it imports. npm hoists every package to the root
 * node_modules, so an undeclared import works on a development machine and breaks the day a
 * workspace is installed on its own (or a dependency that brought the package along drops it).
 *
 * - Code that runs in production (server, shared, question-bank, run from source by tsx)
 *   must list each package it imports in its own `dependencies`.
 * - Test code (tests/, *.test.ts, *.contract.ts, test fixtures, vitest configs) and the
 *   client (bundled by Vite) may use `dependencies` or `devDependencies` of its workspace;
 *   the root's devDependencies hold the shared toolchain (vitest, typescript, tsx).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/server-child.ts';

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  workspaces?: string[];
}

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Manifest;
const root = readJson(path.join(REPO_ROOT, 'package.json'));
const BUILTIN = new Set(builtinModules);

/** Bare package names a file imports: static and dynamic imports, re-exports, require.resolve. */
export function importedPackages(source: string): string[] {
  const specs = new Set<string>();
  const patterns = [
    /^\s*(?:import|export)\s[^'"]*?\sfrom\s+['"]([^'"]+)['"]/gm,
    /^\s*import\s+['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\.resolve\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) specs.add(m[1]!);
  const names = new Set<string>();
  for (const spec of specs) {
    if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:') || spec.startsWith('virtual:')) continue;
    const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
    if (!BUILTIN.has(name)) names.add(name);
  }
  return [...names];
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mts|js|mjs|svelte)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const isTestCode = (file: string) => /\.(test|contract)\.ts$|test-fixtures\.ts$|vitest\.config\.ts$/.test(file);

describe('workspace manifests', () => {
  it('the importer finds static, dynamic, side-effect and resolved imports, and skips built-ins and relative paths', () => {
    const src = [
      "import { a } from 'alpha';",
      "import type { B } from '@scope/beta/sub';",
      "export { c } from 'gamma';",
      "import 'delta/register';",
      "const e = await import('epsilon');",
      "const f = createRequire(import.meta.url).resolve('zeta/file.js');",
      "import { readFileSync } from 'node:fs';",
      "import path from 'path';",
      "import { x } from './local.ts';",
    ].join('\n');
    expect(importedPackages(src).sort()).toEqual(['@scope/beta', 'alpha', 'delta', 'epsilon', 'gamma', 'zeta']);
  });

  for (const workspace of root.workspaces ?? []) {
    it(`${workspace}/package.json declares every package ${workspace} imports`, () => {
      const dir = path.join(REPO_ROOT, workspace);
      const manifest = readJson(path.join(dir, 'package.json'));
      const runtime = new Set(Object.keys(manifest.dependencies ?? {}));
      const dev = new Set([...runtime, ...Object.keys(manifest.devDependencies ?? {}), ...Object.keys(root.devDependencies ?? {})]);
      const devOnlyWorkspace = workspace === 'tests' || workspace === 'client';
      const missing: string[] = [];
      for (const file of sourceFiles(dir)) {
        if (file === fileURLToPath(import.meta.url)) continue; // its examples above are not imports
        const declared = devOnlyWorkspace || isTestCode(file) ? dev : runtime;
        for (const name of importedPackages(readFileSync(file, 'utf8'))) {
          if (name === manifest.name) continue;
          if (!declared.has(name)) missing.push(`${path.relative(REPO_ROOT, file)} imports ${name}`);
        }
      }
      expect(missing).toEqual([]);
    });
  }
});
