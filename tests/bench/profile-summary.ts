/**
 * Summarises a V8 CPU profile (`--profile` writes one per server process into /tmp/qr-prof):
 * the functions with the most self time and the most inclusive time, optionally only
 * within one phase of a bench run (profile timestamps and the bench's phase windows are
 * both CLOCK_MONOTONIC).
 *
 *   npx tsx tests/bench/profile-summary.ts /tmp/qr-prof/CPU.….cpuprofile [--bench out.json --phase "join"] [--top 25]
 *     [--tree viewFor --depth 3]   the call tree below the frames whose name starts with "viewFor"
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionCost {
  fn: string;
  selfMs: number;
  totalMs: number;
}

export function summariseProfile(file: string, window?: { startMs: number; endMs: number }): { sampledMs: number; top: FunctionCost[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (n: ProfileNode) => {
    const { functionName, url, lineNumber } = n.callFrame;
    const where = url ? `${url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, '~/').replace(/.*\/work\/main\//, '')}:${lineNumber + 1}` : '';
    return `${functionName || '(anonymous)'} ${where}`.trim();
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let t = profile.startTime;
  let sampled = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000; // the time until the next sample is spent here
    const ms = t / 1000;
    if (window && (ms < window.startMs || ms > window.endMs)) continue;
    const node = byId.get(profile.samples[i]!);
    if (!node) continue;
    const k = keyOf(node);
    if (k.startsWith('(idle)')) continue;
    sampled += dt;
    self.set(k, (self.get(k) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const key = keyOf(byId.get(id)!);
      if (seen.has(key)) continue;
      seen.add(key);
      total.set(key, (total.get(key) ?? 0) + dt);
    }
  }
  const top = [...self.keys(), ...total.keys()]
    .filter((k, i, a) => a.indexOf(k) === i)
    .map((fn) => ({ fn, selfMs: Math.round(self.get(fn) ?? 0), totalMs: Math.round(total.get(fn) ?? 0) }));
  return { sampledMs: Math.round(sampled), top };
}

/** The call tree (inclusive ms) below every outermost frame whose "name file:line" starts with `focus`. */
export function profileTree(file: string, focus: string, depth: number, window?: { startMs: number; endMs: number }): string[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/.*\/(node_modules|work\/main)\//, '')}:${n.callFrame.lineNumber + 1}`;
  const self = new Map<number, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (window && (t / 1000 < window.startMs || t / 1000 > window.endMs)) continue;
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0) / 1000);
  }
  const incl = new Map<number, number>();
  const inclusive = (id: number): number => {
    let sum = self.get(id) ?? 0;
    for (const c of byId.get(id)!.children ?? []) sum += inclusive(c);
    incl.set(id, sum);
    return sum;
  };
  inclusive(profile.nodes[0]!.id);
  const agg = new Map<string, number>();
  const walk = (id: number, path: string[], d: number) => {
    const here = [...path, name(byId.get(id)!)];
    const key = here.join('\u0000');
    agg.set(key, (agg.get(key) ?? 0) + incl.get(id)!);
    if (d < depth) for (const c of byId.get(id)!.children ?? []) walk(c, here, d + 1);
  };
  for (const n of profile.nodes) {
    if (!name(n).startsWith(focus) || !incl.get(n.id)) continue;
    let nested = false;
    for (let a = parent.get(n.id); a !== undefined; a = parent.get(a)) if (name(byId.get(a)!).startsWith(focus)) nested = true;
    if (!nested) walk(n.id, [], 0);
  }
  return [...agg]
    .filter(([, ms]) => ms >= 5)
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([key, ms]) => {
      const parts = key.split('\u0000');
      return `${String(Math.round(ms)).padStart(7)}  ${'  '.repeat(parts.length - 1)}${parts[parts.length - 1]}`;
    });
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1]);
if (isMain) {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const file = args.find((a) => a.endsWith('.cpuprofile'));
  if (!file) {
    console.error('usage: profile-summary.ts FILE.cpuprofile [--bench out.json --phase NAME] [--top N]');
    process.exit(2);
  }
  let window: { startMs: number; endMs: number } | undefined;
  const benchFile = flag('--bench');
  const phaseName = flag('--phase');
  if (benchFile && phaseName) {
    const bench = JSON.parse(readFileSync(benchFile, 'utf8')) as { resources: { phases: { phase: string; startMs: number; endMs: number }[] } };
    const p = bench.resources.phases.find((x) => x.phase === phaseName);
    if (!p) throw new Error(`no phase "${phaseName}" in ${benchFile}: ${bench.resources.phases.map((x) => x.phase).join(', ')}`);
    window = p;
  }
  const tree = flag('--tree');
  if (tree) {
    for (const line of profileTree(file, tree, Number(flag('--depth') ?? 3), window)) console.log(line);
    process.exit(0);
  }
  const n = Number(flag('--top') ?? 25);
  const { sampledMs, top } = summariseProfile(file, window);
  console.log(`${phaseName ? `phase "${phaseName}": ` : ''}${sampledMs} ms of non-idle samples`);
  console.log('\nself time (ms)');
  for (const f of [...top].sort((a, b) => b.selfMs - a.selfMs).slice(0, n)) console.log(`${String(f.selfMs).padStart(7)}  ${f.fn}`);
  console.log('\ninclusive time (ms)');
  for (const f of [...top].sort((a, b) => b.totalMs - a.totalMs).slice(0, n)) console.log(`${String(f.totalMs).padStart(7)}  ${f.fn}`);
}
