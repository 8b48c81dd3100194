/**
 * `npm run bench` — Quizroom's load benchmark. See docs/performance.md.
 *
 *   npm run bench -- --players 2000                      one room, Redis, one server process
 *   npm run bench -- --players 2000 --store memory       the in-memory store
 *   npm run bench -- --rooms 60 --per-room 30            many rooms at once
 *   npm run bench -- --players 2000 --processes 2        two server processes on one Redis
 *   npm run bench -- --url http://127.0.0.1:3000 --password …   a running server
 *   npm run bench -- --smoke                             N=50, memory; exits 1 on any loss/disconnect (CI)
 *   npm run bench -- --suite --json suite.json           every run of docs/performance.md
 *
 * Other flags: --questions Q (3), --bank course|bench (course: the session also holds the bundled review
 * bank's 77 questions after the Q played, the size of a session made from it; bench: only the Q), --workers W (auto), --probes P (5), --join-window W (256),
 * --spread MS (1000), --think MS (pause between phases, 1000), --no-reconnect, --read-poll MS (while a broadcast is
 * measured, raw students read every MS ms, 1; 0 = woken per message; see worker.ts), --profile (server --cpu-prof into /tmp/qr-prof),
 * --perf FILE (record the server with Linux perf, kernel frames included; needs `perf` and perf_event access),
 * --keep-join-limit (keep the server's per-IP join limit, which the bench lifts: every student is 127.0.0.1),
 * --phase-timeout S (longest wait of any phase; default 30 s + 20 ms per student),
 * --wait-quiet S (first wait up to S seconds for the machine to be idle; the suite waits 300 s),
 * --warmup W (students of a one-question game played first on each server the bench starts, so that V8 has
 * optimised the hot paths, in the server and in the generator processes the measured run then reuses;
 * default min(N, 1000); 0 = measure a cold process),
 * --broadcast-k K (min(N, 2000); 0 = skip), --broadcast-rounds R (30), --server-pid PID (with --url),
 * --json FILE, --print FILE (re-print a saved --json report), --quiet.
 *
 * Environment, for looking inside the server the bench starts: BENCH_SERVER_NODE_ARGS (extra
 * Node/V8 flags, e.g. "--trace-opt --trace-deopt") and BENCH_SERVER_STDOUT (a file that gets
 * the server's stdout, where V8 writes those traces; otherwise it is discarded); BENCH_WORKER_PROF
 * (a directory: CPU profiles of the generator's processes, for profile-summary.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { killAllNow } from './infra.ts';
import { formatReport, formatScalingMarkdown, formatSuite, formatSuiteMarkdown } from './report.ts';
import { defaultOptions, describeRun, runBench, smokeProblems, type BenchOptions, type BenchResult } from './runner.ts';

export { runBench, smokeProblems } from './runner.ts';

interface Cli {
  /** Print the report of a saved --json file instead of running. */
  print: string | null;
  options: Partial<BenchOptions>;
  json: string | null;
  smoke: boolean;
  suite: number[] | null;
  quiet: boolean;
}

function parseArgs(argv: string[]): Cli {
  const cli: Cli = { print: null, options: {}, json: null, smoke: false, suite: null, quiet: false };
  const o = cli.options;
  const int = (flag: string, v: string | undefined, min = 0): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag} needs a whole number ≥ ${min} (got ${v})`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--players': o.players = int(flag, value(), 1); break;
      case '--rooms': o.rooms = int(flag, value(), 1); break;
      case '--per-room': o.perRoom = int(flag, value(), 1); break;
      case '--store': {
        const v = value();
        if (v !== 'redis' && v !== 'memory') throw new Error('--store is redis or memory');
        o.store = v;
        break;
      }
      case '--processes': o.processes = int(flag, value(), 1); break;
      case '--questions': o.questions = int(flag, value(), 1); break;
      case '--bank': {
        const v = value();
        if (v !== 'course' && v !== 'bench') throw new Error('--bank is course or bench');
        o.bank = v;
        break;
      }
      case '--url': o.url = value(); break;
      case '--password': o.password = value(); break;
      case '--server-pid': o.serverPid = int(flag, value(), 1); break;
      case '--workers': o.workers = int(flag, value(), 1); break;
      case '--probes': o.probes = int(flag, value(), 0); break;
      case '--join-window': o.joinWindow = int(flag, value(), 1); break;
      case '--spread': o.answerSpreadMs = int(flag, value(), 0); break;
      case '--think': o.thinkMs = int(flag, value(), 0); break;
      case '--no-reconnect': o.reconnect = false; break;
      case '--read-poll': o.readPollMs = int(flag, value(), 0); break;
      case '--profile': o.profile = true; break;
      case '--keep-join-limit': o.keepJoinLimit = true; break;
      case '--wait-quiet': o.waitQuietMs = int(flag, value(), 0) * 1000; break;
      case '--phase-timeout': o.phaseTimeoutMs = int(flag, value(), 1) * 1000; break;
      case '--broadcast-k': o.broadcastK = int(flag, value(), 0); break;
      case '--warmup': o.warmup = int(flag, value(), 0); break;
      case '--perf': o.perf = value(); break;
      case '--broadcast-rounds': o.broadcastRounds = int(flag, value(), 1); break;
      case '--json': cli.json = value(); break;
      case '--smoke': cli.smoke = true; break;
      case '--suite': cli.suite = [100, 500, 1000, 2000, 5000]; break;
      case '--suite-players': cli.suite = value().split(',').map((x) => int(flag, x, 1)); break;
      case '--quiet': cli.quiet = true; break;
      case '--print': cli.print = value(); break;
      case '--help':
      case '-h':
        console.log(readUsage());
        process.exit(0);
      // falls through (exit)
      default:
        throw new Error(`unknown flag ${flag} (try --help)`);
    }
  }
  if (o.url && !o.password && process.env.QUIZROOM_HOST_PASSWORD) o.password = process.env.QUIZROOM_HOST_PASSWORD;
  return cli;
}

function readUsage(): string {
  return 'usage: npm run bench -- [--players N] [--store redis|memory] [--rooms R --per-room M] [--processes 2] [--questions 3] [--bank course|bench] [--url http://127.0.0.1:PORT --password P] [--json out.json] [--smoke] [--suite] [--profile] [--perf FILE] [--warmup W] [--read-poll MS]\n(see tests/bench/bench.ts and docs/performance.md)';
}

/** The smoke run of CI: small, in-memory, a tiny broadcast-cost check; no timing assertions. */
export const smokeOptions: Partial<BenchOptions> = { players: 50, store: 'memory', processes: 1, questions: 3, thinkMs: 200, broadcastK: 20, broadcastRounds: 3 };

/** The runs of docs/performance.md. */
function suiteRuns(players: number[]): Partial<BenchOptions>[] {
  return [
    ...players.map((n) => ({ players: n, store: 'redis' as const })),
    { rooms: 60, perRoom: 30, store: 'redis' as const },
    { players: 2000, store: 'redis' as const, processes: 2 },
    { rooms: 60, perRoom: 30, store: 'redis' as const, processes: 2 },
    { players: 2000, store: 'memory' as const },
    { rooms: 60, perRoom: 30, store: 'memory' as const },
  ];
}

async function main(): Promise<number> {
  const cli = parseArgs(process.argv.slice(2));
  const log = cli.quiet ? () => undefined : (line: string) => process.stderr.write(`[bench] ${line}\n`);
  if (cli.print) {
    const saved = JSON.parse(readFileSync(cli.print, 'utf8')) as BenchResult | BenchResult[];
    const list = Array.isArray(saved) ? saved : [saved];
    for (const r of list) console.log(formatReport(r) + '\n');
    if (list.length > 1) console.log(formatSuite(list));
    console.log('\n' + formatSuiteMarkdown(list));
    console.log('\n' + formatScalingMarkdown(list));
    return 0;
  }
  if (cli.suite) {
    const results: BenchResult[] = [];
    const runs = suiteRuns(cli.suite);
    for (const [i, run] of runs.entries()) {
      const opts = { waitQuietMs: 300_000, ...cli.options, ...run, broadcastK: i === runs.length - 1 ? (cli.options.broadcastK ?? 2000) : 0, log };
      log(`=== run ${i + 1}/${runs.length}: ${describeRun({ ...defaultOptions, ...opts })}`);
      const r = await runBench(opts);
      results.push(r);
      console.log(formatReport(r) + '\n');
      if (cli.json) writeFileSync(cli.json, JSON.stringify(results, null, 2));
    }
    console.log(formatSuite(results));
    console.log('\n' + formatSuiteMarkdown(results));
    console.log('\n' + formatScalingMarkdown(results));
    return results.some((r) => r.error) ? 1 : 0;
  }
  const opts: Partial<BenchOptions> = cli.smoke ? { ...smokeOptions, ...cli.options } : { ...cli.options };
  if (opts.broadcastK === undefined) {
    const n = (opts.rooms ?? 1) > 1 ? (opts.rooms ?? 1) * (opts.perRoom ?? defaultOptions.perRoom) : (opts.players ?? defaultOptions.players);
    opts.broadcastK = Math.min(n, 2000);
  }
  const r = await runBench({ ...opts, log });
  console.log(formatReport(r));
  if (cli.json) {
    writeFileSync(cli.json, JSON.stringify(r, null, 2));
    log(`JSON written to ${cli.json}`);
  }
  if (cli.smoke) {
    const problems = smokeProblems(r);
    if (problems.length) {
      console.error(`SMOKE FAILED:\n  ${problems.join('\n  ')}`);
      return 1;
    }
    console.log('smoke: ok (everyone admitted, nothing lost or double-counted, no disconnects)');
  }
  return r.error ? 1 : 0;
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const bail = (code: number) => {
    killAllNow();
    process.exit(code);
  };
  process.once('SIGINT', () => bail(130));
  process.once('SIGTERM', () => bail(143));
  process.on('uncaughtException', (err) => {
    console.error(err);
    bail(1);
  });
  main().then(
    (code) => bail(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      bail(2);
    },
  );
}
