/**
 * Where the server's time goes in one phase of a bench run, from a Linux perf recording
 * (`npm run bench -- --players 2000 --perf /tmp/qr.perf --json out.json`): kernel frames
 * (system calls, the loopback's receive path) and V8's helper threads (GC, optimising
 * compiler), which a V8 CPU profile does not show.
 *
 *   npx tsx tests/bench/perf-summary.ts /tmp/qr.perf --bench out.json --phase "q1 reveal" [--phase …]
 *
 * perf samples on CLOCK_MONOTONIC (`-k mono`), like the bench's phase windows. Each sample is
 * put in the first bucket whose frame appears anywhere in its call chain; the main thread is
 * the thread whose id is the process id (the event loop).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PERF_HZ } from './infra.ts';
import type { BenchResult } from './runner.ts';

/** First match wins: the order is from the most specific to the most general. */
const BUCKETS: [name: string, frame: RegExp][] = [
  ['loopback receive (the students\' side of the TCP stack, run in the sender\'s system call)', /\bnet_rx_action\b/],
  ['write system calls (the rest)', /\b(ksys_write|do_writev|__x64_sys_writev)\b/],
  ['read system calls', /\b(ksys_read|__x64_sys_readv?)\b/],
  ['epoll', /\bep_poll|do_epoll_wait\b/],
  ['other kernel', /\[kernel\.kallsyms\]/],
  ['garbage collector', /Scaveng|Marking|MarkCompact|Sweeper|GCTracer|Heap::Collect/],
  ['optimising compiler', /compiler::|Maglev|OptimizedCompilationJob|Compiler::/],
  ['JSON', /JsonStringifier|JsonParser/],
];

export interface PerfSummary {
  samples: { main: number; helpers: number };
  main: Record<string, number>;
  helpers: Record<string, number>;
}

export function summarisePerf(perfFile: string, windows: { startMs: number; endMs: number }[]): PerfSummary {
  const text = execFileSync('perf', ['script', '-i', perfFile, '-F', 'pid,tid,time,ip,sym,dso'], { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
  const out: PerfSummary = { samples: { main: 0, helpers: 0 }, main: {}, helpers: {} };
  const inWindow = (tSec: number) => windows.some((w) => tSec * 1000 >= w.startMs && tSec * 1000 <= w.endMs);
  for (const block of text.split('\n\n')) {
    const nl = block.indexOf('\n');
    const head = (nl < 0 ? block : block.slice(0, nl)).trim().split(/\s+/);
    // "PID/TID TIME:"
    const [pid, tid] = (head[0] ?? '').split('/');
    const t = Number((head[1] ?? '').replace(/:$/, ''));
    if (!tid || !Number.isFinite(t) || !inWindow(t)) continue;
    const chain = nl < 0 ? '' : block.slice(nl);
    const bucket = BUCKETS.find(([, re]) => re.test(chain))?.[0] ?? 'JavaScript and Node (user space)';
    const side = tid === pid ? 'main' : 'helpers';
    out.samples[side]++;
    out[side][bucket] = (out[side][bucket] ?? 0) + 1;
  }
  return out;
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args[0];
  const bench = args[args.indexOf('--bench') + 1];
  const phases = args.flatMap((a, i) => (a === '--phase' && args[i + 1] ? [args[i + 1]!] : []));
  if (!file || !args.includes('--bench') || !bench || phases.length === 0) {
    console.error('usage: npx tsx tests/bench/perf-summary.ts PERF_FILE --bench out.json --phase NAME [--phase NAME…]');
    process.exit(2);
  }
  const result = JSON.parse(readFileSync(bench, 'utf8')) as BenchResult;
  const windows = result.resources.phases.filter((p) => phases.includes(p.phase));
  if (windows.length === 0) throw new Error(`no such phase; the run has: ${result.resources.phases.map((p) => p.phase).join(', ')}`);
  const s = summarisePerf(file, windows);
  const ms = (n: number) => `${Math.round((n / PERF_HZ) * 1000)} ms`.padStart(8);
  for (const side of ['main', 'helpers'] as const) {
    const total = s.samples[side];
    console.log(`${side === 'main' ? 'main thread (event loop)' : 'helper threads (V8 GC and compiler, libuv)'}: ${ms(total).trim()} in ${windows.length} window(s)`);
    for (const [name, n] of Object.entries(s[side]).sort((a, b) => b[1] - a[1])) console.log(`  ${ms(n)}  ${((100 * n) / total).toFixed(0).padStart(3)}%  ${name}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
