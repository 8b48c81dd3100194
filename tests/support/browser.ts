/**
 * End-to-end support: the built client, a headless Debian Chromium driven by playwright-core,
 * axe-core scans and screenshots. Never downloads a browser: it uses /usr/bin/chromium (or
 * CHROMIUM_PATH) and says how to install it when it is missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const CLIENT_DIST = path.join(root, 'client', 'dist');
export const ARTIFACTS = path.join(root, 'test-artifacts', 'e2e');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function newestMtime(p: string): number {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, entry)));
  return newest;
}

/**
 * The e2e tests run against client/dist. `npm test` builds it first; when it is missing or
 * older than its sources (a targeted `npx vitest run tests/e2e` after an edit), build it here.
 */
export function ensureClientBuilt(): string {
  const index = path.join(CLIENT_DIST, 'index.html');
  const sources = [path.join(root, 'client', 'src'), path.join(root, 'client', 'index.html'), path.join(root, 'shared', 'src')];
  const stale = !existsSync(index) || sources.some((s) => newestMtime(s) > statSync(index).mtimeMs);
  if (stale) {
    const build = spawnSync('npm', ['run', 'build', '-w', '@quizroom/client'], { cwd: root, encoding: 'utf8' });
    if (build.status !== 0 || !existsSync(index))
      throw new Error(`client/dist is missing or stale and \`npm run build -w @quizroom/client\` failed:\n${(build.stderr || build.stdout || String(build.error)).slice(-3000)}`);
  }
  return CLIENT_DIST;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH. The e2e tests never download a browser.`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

/** Saves a full-page screenshot to test-artifacts/e2e/<name>.png (gitignored). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  return file;
}

const AXE_SOURCE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export interface AxeFinding {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/** Runs axe-core in the page (WCAG 2.x A/AA + best practices); returns serious and critical findings. */
export async function seriousA11yViolations(page: Page): Promise<AxeFinding[]> {
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.addScriptTag({ path: AXE_SOURCE });
  // Runs in the page (the test tsconfig has no DOM types: the page's globals are reached through globalThis).
  const violations = await page.evaluate(async () => {
    type AxeResult = { violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] };
    const g = globalThis as unknown as { axe: { run: (context: unknown, options: object) => Promise<AxeResult> }; document: unknown };
    const result = await g.axe.run(g.document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target.map(String).join(' ')) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export function describeFindings(findings: AxeFinding[]): string {
  return findings.map((f) => `${f.impact} ${f.id}: ${f.help}\n    ${f.targets.join('\n    ')}`).join('\n');
}
