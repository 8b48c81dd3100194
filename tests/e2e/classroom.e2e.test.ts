/**
 * End to end in real headless Chromium (issues 4 and 5): a real Quizroom server on a real
 * redis-server, the built client, and five browser pages — the instructor's console, the
 * classroom display it opens, and three phones (390×844).
 *
 * The instructor logs in and creates the session through the console UI from an uploaded bank
 * (a single choice with a justification, a true/false, a short answer and an ordering
 * question); the students join through the join link and play all four questions; Bob reloads
 * mid-question and comes back as the same player with the same score; the instructor scores
 * Ada's justification with the keyboard alone and her phone, the display's leaderboard and the
 * spotlight follow; the display shows the leaderboard and the podium; the CSV export holds all
 * three students. Each view gets an axe-core scan (no serious or critical violation) and a
 * screenshot in test-artifacts/e2e/.
 *
 * Every wait is on a selector or an event, never on a sleep. The steps share one session and
 * run in order; after a failing step the rest are skipped (their failure would only echo it).
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Download, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import type { RunningServer } from '../../server/src/server.ts';
import { ARTIFACTS, describeFindings, ensureClientBuilt, launchChromium, screenshot, seriousA11yViolations } from '../support/browser.ts';
import { PASSWORD, startServer } from '../support/quizroom.ts';
import { startRedisServer, type RunningRedis } from '../support/redis-server.ts';

/** Generous for a slow, shared 2-core CI machine; a normal run takes a fraction of this. */
const STEP_TIMEOUT_MS = 90_000;
const WAIT_MS = 30_000;

const source = { file: 'e2e', section: 'e2e' };
const BANK = {
  id: 'e2e-classroom',
  title: 'E2E classroom bank',
  description: 'One question of each kind the end-to-end test plays',
  language: 'en',
  questions: [
    {
      id: 'q-kernel',
      type: 'single',
      prompt: 'Which one shares the host kernel?',
      timeLimit: 600,
      explanation: 'Containers are processes on the host kernel; a VM boots its own.',
      source,
      choices: [{ text: 'A virtual machine' }, { text: 'A container', correct: true }, { text: 'An emulator' }],
      justify: {
        prompt: 'Why?',
        maxLength: 300,
        points: 500,
        rubric: [
          { id: 'kernel', label: 'Names the kernel', points: 2, description: 'Says that containers share the host kernel' },
          { id: 'example', label: 'Gives an example', points: 1, description: 'Names a container engine or a VM' },
        ],
      },
    },
    { id: 'q-hyper', type: 'truefalse', prompt: 'A hypervisor runs virtual machines.', timeLimit: 600, explanation: 'That is what a hypervisor is for.', source, answer: true },
    { id: 'q-engine', type: 'short', prompt: 'Name the most widely used container engine.', timeLimit: 600, explanation: 'Docker popularised containers.', source, accept: ['Docker'] },
    {
      id: 'q-stack',
      type: 'order',
      prompt: 'Order the layers from the bottom up.',
      timeLimit: 600,
      explanation: 'Hardware, hypervisor, guest OS, application.',
      source,
      items: ['Hardware', 'Hypervisor', 'Guest OS', 'Application'],
    },
  ],
};
const JUSTIFICATION = 'Containers share the host kernel, e.g. Docker; a VM boots its own.';
const COMMENT = 'Right: the shared kernel, with an example.';

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

interface Phone {
  name: string;
  context: BrowserContext;
  page: Page;
}

describe('classroom end to end (headless Chromium, real server on real Redis)', () => {
  let redis: RunningRedis;
  let server: RunningServer;
  let browser: Browser;
  let consoleContext: BrowserContext;
  let displayContext: BrowserContext;
  let host: Page;
  let display: Page;
  let joinUrl = '';
  let code = '';
  const phones: Record<'Ada' | 'Bob' | 'Cy', Phone> = {} as never;
  const pageErrors: string[] = [];
  /** Views that passed their axe-core scan. */
  const scanned = new Set<string>();
  let failed: string | null = null;

  /** One step of the shared scenario: skipped once an earlier step failed. */
  function step(name: string, body: () => Promise<void>) {
    it(name, { timeout: STEP_TIMEOUT_MS }, async (ctx: TestContext) => {
      if (failed) ctx.skip(`an earlier step failed: ${failed}`);
      try {
        await body();
      } catch (err) {
        failed = name;
        throw err;
      }
    });
  }

  function watch(page: Page, who: string, cspEnforced: boolean) {
    page.setDefaultTimeout(WAIT_MS);
    page.on('pageerror', (err) => pageErrors.push(`${who}: ${err.message}`));
    if (cspEnforced)
      page.on('console', (msg) => {
        if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) pageErrors.push(`${who}: ${msg.text()}`);
      });
  }

  /** axe-core scan + screenshot of one view. */
  async function check(page: Page, view: string) {
    await screenshot(page, view);
    const findings = await seriousA11yViolations(page);
    expect(findings, `${view}: serious or critical axe violations\n${describeFindings(findings)}`).toEqual([]);
    scanned.add(view.replace(/^\d+-/, ''));
  }

  const text = async (page: Page, selector: string) => ((await page.locator(selector).first().textContent()) ?? '').trim();
  const digits = (s: string) => Number(s.replace(/[^\d]/g, ''));
  /** The student's own score in the phone's header. */
  const headerScore = async (p: Phone) => digits(await text(p.page, '.top .score'));
  /** A display leaderboard row's score. */
  async function boardScore(page: Page, nickname: string): Promise<number> {
    const row = page.locator('ol.board li', { has: page.locator('.name', { hasText: new RegExp(`^${nickname}`) }) });
    return digits((await row.locator('.score').textContent()) ?? '');
  }
  async function waitFor(page: Page, selector: string, hasText?: string | RegExp) {
    await page.locator(selector, hasText === undefined ? {} : { hasText }).first().waitFor({ state: 'visible' });
  }
  async function answeredOnConsole(n: number) {
    await waitFor(host, '.progress .big', new RegExp(`^${n}$`));
  }
  /** What each host shortcut leads to, as the console's status line says it. */
  const AFTER_KEY: Record<string, RegExp> = { n: /Open|Finished/, c: /Closed/, r: /Answer revealed/, l: /Leaderboard/ };
  /**
   * A host shortcut key, pressed on the page (not in a form field). A run key works only when
   * its button is enabled — not while the previous command waits for its ack, which may arrive
   * just after the view it caused — so wait for that first; then for the console to show the
   * key's effect.
   */
  async function hostKey(key: string) {
    const after = AFTER_KEY[key];
    if (after) await host.locator(`.controls button[aria-keyshortcuts="${key.toUpperCase()}"]:enabled`).waitFor();
    await host.keyboard.press(key);
    if (after) await host.locator('.controls .status', { hasText: after }).waitFor();
  }
  async function everyPhone(fn: (p: Phone) => Promise<void>) {
    await Promise.all(Object.values(phones).map(fn));
  }

  beforeAll(async () => {
    rmSync(ARTIFACTS, { recursive: true, force: true });
    const clientDist = ensureClientBuilt();
    redis = await startRedisServer();
    server = await startServer({ redisUrl: redis.url, clientDist });
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await redis?.stop();
  }, 60_000);

  step('the instructor logs in, uploads a bank and creates a session through the console UI', async () => {
    // bypassCSP lets axe-core be injected; the phones of Bob and Cy run under the real CSP.
    consoleContext = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
    host = await consoleContext.newPage();
    watch(host, 'console', false);
    await host.goto(`${server.url}/host`);
    await host.getByLabel('Password').fill('not the password');
    await host.getByRole('button', { name: 'Log in' }).click();
    await waitFor(host, '[role="alert"]', /./);
    await check(host, '01-console-login');
    await host.getByLabel('Password').fill(PASSWORD);
    await host.getByRole('button', { name: 'Log in' }).click();
    await host.getByRole('heading', { name: 'New session' }).waitFor();

    await host.getByLabel('Upload a file').check();
    await host.locator('#bank-file').setInputFiles({ name: 'e2e-classroom.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(BANK, null, 2)) });
    await waitFor(host, '[role="status"]', 'E2E classroom bank');
    await check(host, '02-console-new-session');
    await host.getByRole('button', { name: 'Create session' }).click();
    await host.waitForURL(/\/host\/\d{6}$/);
    code = /\/host\/(\d{6})$/.exec(host.url())![1]!;
    await waitFor(host, '.join .full');
    joinUrl = await text(host, '.join .full');
    expect(joinUrl).toBe(`${server.url}/join/${code}`);
    await host.locator('.qr img, .qr svg, img[alt^="QR code"]').first().waitFor();
  });

  step('the console opens the classroom display (1280×720): code, QR code and URL', async () => {
    // The console's link opens the display in a new tab…
    const [popup] = await Promise.all([consoleContext.waitForEvent('page'), host.getByRole('link', { name: /Open display/ }).click()]);
    await popup.waitForURL(`${server.url}/display/${code}`);
    await waitFor(popup, '.scene-lobby .code', `${code.slice(0, 3)} ${code.slice(3)}`);
    await popup.close();
    // …which in a classroom is a window of its own on the projector: a tab hidden behind the
    // console would get no animation frames (and so would the console behind it).
    displayContext = await browser.newContext({ viewport: { width: 1280, height: 720 }, bypassCSP: true });
    display = await displayContext.newPage();
    watch(display, 'display', false);
    await display.goto(`${server.url}/display/${code}`);
    await waitFor(display, '.scene-lobby .code', `${code.slice(0, 3)} ${code.slice(3)}`);
    await waitFor(display, '.scene-lobby', 'Waiting for players');
    await waitFor(display, '.scene-lobby', joinUrl);
  });

  step('J1: three students join on 390×844 phones through the join link', async () => {
    for (const name of ['Ada', 'Bob', 'Cy'] as const) {
      // Ada's phone is scanned by axe (needs bypassCSP); Bob and Cy run under the real CSP.
      const context = await browser.newContext({ ...PHONE, bypassCSP: name === 'Ada' });
      const page = await context.newPage();
      watch(page, name, name !== 'Ada');
      phones[name] = { name, context, page };
      await page.goto(joinUrl);
      await expect.poll(() => page.locator('#code').inputValue(), { timeout: WAIT_MS }).toBe(code);
      if (name === 'Ada') await check(page, '03-student-join');
      await page.getByLabel('Nickname').fill(name);
      await page.getByRole('button', { name: 'Join', exact: true }).click();
      await page.getByRole('heading', { name: `You're in, ${name}!` }).waitFor();
      await waitFor(display, '.scene-lobby .names li', new RegExp(`^${name}$`));
    }
    await everyPhone((p) => waitFor(p.page, '.lobby .count', '3 players'));
    await waitFor(host, '.players .count', /^3$/);
    // Ada lets the instructor show her name with a spotlighted answer (P4).
    await phones.Ada.page.getByLabel(/Show my name/).check();
    await check(phones.Ada.page, '04-student-lobby');
    await check(display, '05-display-lobby');
    await check(host, '06-console-lobby');
  });

  step('question 1 (single choice + justification): answers are acknowledged, the reveal shows right and wrong', async () => {
    await host.getByRole('button', { name: /^Start/ }).click();
    await everyPhone((p) => p.page.getByRole('heading', { name: 'Which one shares the host kernel?' }).waitFor());
    await waitFor(display, '.scene-question', 'Which one shares the host kernel?');
    await check(phones.Ada.page, '07-student-question-choice');
    await check(display, '08-display-question');

    // Ada writes her justification first: it goes with her answer.
    await phones.Ada.page.getByLabel(/Why\?/).fill(JUSTIFICATION);
    await waitFor(phones.Ada.page, '#text-justify-status', 'Will be sent with your answer');
    await phones.Ada.page.locator('button.choice', { hasText: 'A container' }).click();
    await phones.Bob.page.locator('button.choice', { hasText: 'A container' }).click();
    await phones.Cy.page.locator('button.choice', { hasText: 'A virtual machine' }).click();
    await everyPhone((p) => waitFor(p.page, '.received', 'Answer received'));
    await waitFor(phones.Ada.page, '#text-justify-status', 'Justification received');
    await screenshot(phones.Ada.page, '09-student-answer-received');
    await answeredOnConsole(3);
    await check(host, '10-console-question');

    await hostKey('c');
    await everyPhone((p) => p.page.getByRole('heading', { name: "Time's up!" }).waitFor());
    await waitFor(display, '.scene-results', "Time's up");
    await hostKey('r');
    await phones.Ada.page.getByRole('heading', { name: 'Correct!' }).waitFor();
    await phones.Bob.page.getByRole('heading', { name: 'Correct!' }).waitFor();
    await phones.Cy.page.getByRole('heading', { name: 'Not quite' }).waitFor();
    await waitFor(phones.Ada.page, '.grade.pending', "Awaiting the instructor's score");
    await waitFor(display, '.scene-results .bar-row.correct', 'A container');
    await check(phones.Ada.page, '11-student-reveal');
    await screenshot(phones.Cy.page, '11-student-reveal-wrong');
    await check(display, '12-display-reveal');
    expect(await headerScore(phones.Cy)).toBe(0);
    expect(await headerScore(phones.Ada)).toBeGreaterThan(500);
  });

  step('CL2 R1 R3 P4: the instructor scores the justification by keyboard alone; the phone, the leaderboard and the spotlight follow', async () => {
    await hostKey('l');
    await waitFor(display, '.scene-leaderboard ol.board li', 'Ada');
    const before = await boardScore(display, 'Ada');
    await expect.poll(() => headerScore(phones.Ada), { timeout: WAIT_MS }).toBe(before);

    // G opens the grading queue with the first criterion focused; digits, C, comment, Enter.
    await hostKey('g');
    await waitFor(host, '.response', JUSTIFICATION);
    await waitFor(host, '.criterion', 'Names the kernel');
    await expect.poll(() => host.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id), { timeout: WAIT_MS }).toBe('crit-kernel');
    await check(host, '13-console-grading');
    await host.keyboard.press('2');
    await host.keyboard.press('1');
    await host.keyboard.press('c');
    await host.keyboard.type(COMMENT);
    await host.keyboard.press('Enter');
    await waitFor(host, '.grading .empty', 'Every response to this question is graded');

    // The student's phone: the score and the comment, and the total in the header.
    await waitFor(phones.Ada.page, '.grades .grade', '3/3 marks');
    await waitFor(phones.Ada.page, '.grades .grade .comment', COMMENT);
    await expect.poll(() => headerScore(phones.Ada), { timeout: WAIT_MS }).toBe(before + 500);
    await check(phones.Ada.page, '14-student-graded');
    // The live leaderboard on the display (gradedPointsLive is on by default: R3).
    await expect.poll(() => boardScore(display, 'Ada'), { timeout: WAIT_MS }).toBe(before + 500);

    // Spotlight the graded response: the display shows it with its score and, as Ada allowed it, her name.
    await host.getByRole('radio', { name: /^Graded/ }).check();
    await host.getByRole('button', { name: 'Spotlight' }).click();
    await waitFor(display, '.scene-spotlight .spot-text', JUSTIFICATION);
    await waitFor(display, '.spot-grade', '3/3 marks · +500 points');
    await waitFor(display, '.spot-author', '— Ada');
    await waitFor(host, '.members button[aria-pressed="true"]', 'On display');
    await check(display, '15-display-spotlight');
    // One key takes it off.
    await hostKey('x');
    await waitFor(display, '.scene-leaderboard ol.board li', 'Ada');
    await host.getByRole('tab', { name: /Live/ }).click();
  });

  step('question 2 (true/false)', async () => {
    await hostKey('n');
    await everyPhone((p) => p.page.getByRole('heading', { name: 'A hypervisor runs virtual machines.' }).waitFor());
    await check(phones.Ada.page, '16-student-question-truefalse');
    await phones.Ada.page.getByRole('button', { name: 'True' }).click();
    await phones.Bob.page.getByRole('button', { name: 'False' }).click();
    await phones.Cy.page.getByRole('button', { name: 'False' }).click();
    await everyPhone((p) => waitFor(p.page, '.received', 'Answer received'));
    await answeredOnConsole(3);
    await hostKey('c');
    await hostKey('r');
    await phones.Ada.page.getByRole('heading', { name: 'Correct!' }).waitFor();
    await phones.Bob.page.getByRole('heading', { name: 'Not quite' }).waitFor();
    await waitFor(display, '.scene-results .bar-row.correct', 'True');
  });

  step('CL1: question 3 (short answer) — Bob reloads mid-question and keeps his player and his score', async () => {
    await hostKey('n');
    const prompt = 'Name the most widely used container engine.';
    await everyPhone((p) => p.page.getByRole('heading', { name: prompt }).waitFor());
    const bob = phones.Bob.page;
    const scoreBefore = await headerScore(phones.Bob);
    expect(scoreBefore).toBeGreaterThan(0);
    const identity = () => bob.evaluate((key) => (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem(key), `quizroom:player:${code}`);
    const stored = await identity();
    expect(stored).toContain('"nickname":"Bob"');

    await bob.locator('#typed-answer').fill('dock');
    await bob.reload();
    await bob.getByRole('heading', { name: prompt }).waitFor();
    await waitFor(bob, '.top .name', /^Bob$/);
    expect(await headerScore(phones.Bob)).toBe(scoreBefore);
    expect(await identity()).toBe(stored);
    await screenshot(bob, '17-student-after-reload');
    // Still three players on the console (the reload did not create a new one).
    await waitFor(host, '.players .count', /^3$/);

    await check(phones.Ada.page, '18-student-question-short');
    for (const [name, answer] of [['Ada', 'Docker'], ['Bob', 'docker'], ['Cy', 'Podman']] as const) {
      await phones[name].page.locator('#typed-answer').fill(answer);
      await phones[name].page.getByRole('button', { name: 'Send answer' }).click();
    }
    await everyPhone((p) => waitFor(p.page, '.received', 'Answer received'));
    await answeredOnConsole(3);
    await hostKey('c');
    await hostKey('r');
    await phones.Bob.page.getByRole('heading', { name: 'Correct!' }).waitFor();
    await phones.Cy.page.getByRole('heading', { name: 'Not quite' }).waitFor();
    expect(await headerScore(phones.Bob)).toBeGreaterThan(scoreBefore);
  });

  step('question 4 (ordering, tap to order), then the leaderboard on the display', async () => {
    await hostKey('n');
    await everyPhone((p) => p.page.getByRole('heading', { name: 'Order the layers from the bottom up.' }).waitFor());
    await check(phones.Ada.page, '19-student-question-order');
    const order = ['Hardware', 'Hypervisor', 'Guest OS', 'Application'];
    for (const [name, items] of [['Ada', order], ['Bob', order], ['Cy', [...order].reverse()]] as const) {
      const page = phones[name].page;
      for (const item of items) await page.locator('.pool button.item', { hasText: item }).click();
      await page.getByRole('button', { name: 'Send order' }).click();
    }
    await everyPhone((p) => waitFor(p.page, '.received', 'Answer received'));
    await answeredOnConsole(3);
    await hostKey('c');
    await hostKey('r');
    await phones.Ada.page.getByRole('heading', { name: 'Correct!' }).waitFor();
    await phones.Cy.page.getByRole('heading', { name: 'Not quite' }).waitFor();
    await waitFor(display, '.scene-results', 'Correct answer');
    await hostKey('l');
    await waitFor(display, '.scene-leaderboard ol.board li', 'Cy');
    const names = await display.locator('ol.board li .name').allTextContents();
    expect(names.map((n) => n.trim())).toEqual(['Ada', 'Bob', 'Cy']);
    for (const p of Object.values(phones)) {
      const onBoard = await boardScore(display, p.name);
      await expect.poll(() => headerScore(p), { timeout: WAIT_MS }).toBe(onBoard);
    }
    await check(display, '20-display-leaderboard');
    await check(phones.Ada.page, '21-student-leaderboard');
  });

  step('P5: the game ends — podium on the display, final ranks on the phones, CSV export with all three students', async () => {
    await hostKey('n'); // "Finish" after the last question
    await waitFor(display, '.scene-podium .pname', 'Cy');
    const podium = Object.fromEntries(
      await Promise.all(
        (await display.locator('.podium .step').all()).map(async (s) => [((await s.locator('.pname').first().textContent()) ?? '').trim(), await s.locator('.pnum').textContent()] as const),
      ),
    );
    expect(podium).toEqual({ Ada: '1', Bob: '2', Cy: '3' });
    await check(display, '22-display-podium');
    await waitFor(phones.Ada.page, '.final', 'You finished 1st of 3');
    await waitFor(phones.Cy.page, '.final', 'You finished 3rd of 3');
    await check(phones.Ada.page, '23-student-final');

    await waitFor(host, '.stage', 'Final results');
    await check(host, '24-console-final');
    const [download] = await Promise.all([host.waitForEvent('download'), host.getByRole('link', { name: 'Download CSV' }).click()]);
    const file = path.join(ARTIFACTS, (download as Download).suggestedFilename());
    await download.saveAs(file);
    expect(download.suggestedFilename()).toBe(`quizroom-${code}-e2e-classroom.csv`);
    const rows = parseCsv(readFileSync(file, 'utf8').replace(/^\ufeff/, ''));
    const header = rows[0]!;
    const records = rows.slice(1).map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
    expect(new Set(records.map((r) => r.nickname))).toEqual(new Set(['Ada', 'Bob', 'Cy']));
    expect(records).toHaveLength(3 * BANK.questions.length);
    const adaKernel = records.find((r) => r.nickname === 'Ada' && r.questionId === 'q-kernel')!;
    expect(adaKernel).toMatchObject({ justification: JUSTIFICATION, rubricMarks: 'kernel=2;example=1', rubricPoints: '500', comment: COMMENT, correct: 'true' });
    // The export's totals are the podium's.
    for (const p of Object.values(phones)) await expect.poll(() => headerScore(p), { timeout: WAIT_MS }).toBe(Number(records.find((r) => r.nickname === p.name)!.total));
  });

  step('CL3: every view passed its axe scan; no page threw, nothing broke the Content Security Policy', async () => {
    for (const view of ['student-join', 'student-question-choice', 'student-reveal', 'console-login', 'console-lobby', 'console-grading', 'display-lobby', 'display-question', 'display-leaderboard', 'display-podium'])
      expect(scanned, view).toContain(view);
    expect(pageErrors).toEqual([]);
  });
});

/** RFC 4180: quoted cells with "" escapes and embedded commas and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || (ch === '\r' && text[i + 1] === '\n')) {
      if (ch === '\r') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}
