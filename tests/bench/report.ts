/** The readable report of a bench run (and the one-line-per-run summary of a suite). */
import { pooled, type BenchResult, type Latency } from './runner.ts';
import { fmt, table, type Summary } from './stats.ts';

const row = (name: string, s: Summary, notes = '', hostAck: number | null = null): string[] => [
  name,
  String(s.count),
  fmt(s.min),
  fmt(s.p50),
  fmt(s.p95),
  fmt(s.p99),
  fmt(s.max),
  fmt(hostAck, 0),
  notes,
];

function latencyRows(name: string, l: Latency, notes = ''): string[][] {
  const rows = [row(name, l.raw, [notes, l.missing ? `${l.missing} MISSING` : ''].filter(Boolean).join('; '), l.hostAckMs)];
  if (l.probes.count) rows.push(row(`  ${name} (probes)`, l.probes));
  return rows;
}

export function formatReport(r: BenchResult): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`Quizroom bench — ${r.label} (${r.students} students in ${r.rooms} room${r.rooms > 1 ? 's' : ''}, ${r.options.questions} questions)`);
  out.push(`machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memTotalGiB} GiB, node ${m.node}, ${m.kernel}`);
  const raw = r.workers.filter((w) => w.kind === 'raw');
  const maxOff = Math.max(0, ...r.workers.map((w) => Math.abs(w.clockOffsetMs)));
  const maxRtt = Math.max(0, ...r.workers.map((w) => w.clockRttMs));
  out.push(
    `generator: ${raw.length} raw worker process${raw.length === 1 ? '' : 'es'} (${raw.map((w) => w.students).join(' + ')} students)` +
      `${r.workers.some((w) => w.kind === 'probe') ? ` + 1 probe process (${r.options.probes} socket.io-client students)` : ''}; ` +
      `shared clock CLOCK_MONOTONIC, measured offset ≤ ${fmt(maxOff, 3)} ms (IPC rtt ${fmt(maxRtt, 3)} ms)`,
  );
  const n = r.noise;
  out.push(
    `other jobs on the machine: ${fmt(n.otherCores, 2)} cores on average during the run (${fmt(n.otherCpuMs / 1000, 1)} s CPU)` +
      `${n.stealMs !== undefined ? `; the hypervisor took ${fmt(n.stealMs / 1000, 2)} s of the cores (steal)` : ''}` +
      `${n.busyCoresAtStart !== null ? `; waited ${fmt(n.waitedForQuietMs / 1000, 0)} s for quiet (busy ${n.busyCoresAtStart} cores)` : ''}; load average at start ${r.machine.loadAvgAtStart.join(' ')}` +
      `${n.otherCores > 0.2 ? '  *** the machine was busy: latencies are inflated ***' : ''}`,
  );
  // Older reports have no readPollMs (their students were woken per message).
  const reads = (r.options.readPollMs ?? 0) > 0 ? `raw students read every ${r.options.readPollMs} ms while a broadcast is measured` : 'raw students woken per message';
  // Older reports have no generatorPids (their generator processes started cold).
  const warmGen = (r.warmup ?? []).some((w) => w.generatorPids?.length) ? '; the generator\'s processes are the warm-up\'s (warm too)' : '';
  out.push(`method: join window ${r.options.joinWindow}, answers spread over ${r.options.answerSpreadMs} ms, ${r.options.thinkMs} ms pause before each phase (instructor think time; twice that before Start); ${reads}${warmGen}`);
  // Older reports have no warm-up.
  const warm = r.warmup ?? [];
  out.push(
    warm.length
      ? `warm-up: ${warm.map((w) => `${w.students} students`).join(' + ')} played one question on ${warm.length === 1 ? 'the server' : 'each server'} first (V8 optimises the hot paths); ` +
          `that cold join storm: all admitted in ${warm.map((w) => `${fmt(w.admittedMs, 0)} ms (server CPU ${fmt(w.serverCpuMs, 0)} ms, main thread ${fmt(w.serverMainThreadMs, 0)} ms)`).join(' / ')}` +
          `${warm.some((w) => w.problems.length) ? `; PROBLEMS: ${warm.flatMap((w) => w.problems).join('; ')}` : ''}`
      : `warm-up: none (${r.options.url ? 'a running server' : 'a cold server process: --warmup 0'})`,
  );
  if (r.error) out.push(`\n*** RUN FAILED: ${r.error} ***`);
  out.push('');

  const rows: string[][] = [];
  const j = r.join;
  const failed = Object.entries(j.failed).map(([k, v]) => `${k}×${v}`).join(', ');
  rows.push(row('join: connect (ws + Socket.IO CONNECT)', j.connect));
  rows.push(row('join: player:join ack', j.joinAck, `${j.admitted}/${j.attempted} admitted in ${fmt(j.timeToAllAdmittedMs, 0)} ms${failed ? `; failed ${failed}` : ''}`));
  rows.push(row('join: start → admitted', j.admit, `window ${r.options.joinWindow}`));
  if (j.probeJoinAck.count) rows.push(row('  join ack (probes)', j.probeJoinAck));
  for (const q of r.questions) {
    const a = q.answers;
    const refused = Object.entries(a.refused).map(([k, v]) => `${k}×${v}`).join(', ');
    rows.push(...latencyRows(`q${q.index} fan-out (${q.index === 1 ? 'start' : 'next'} → question)`, q.fanout));
    rows.push(row(`q${q.index} answer ack`, a.ack, `sent ${a.sent}, ok ${a.acked}${refused ? `, refused ${refused}` : ''}${a.unacked ? `, UNACKED ${a.unacked}` : ''}; burst ${fmt(a.burstMs, 0)} ms`));
    if (a.probeAck.count) rows.push(row(`  q${q.index} answer ack (probes)`, a.probeAck));
    if (q.index === 2 && r.reconnect) rows.push(...reconnectRows(r));
    rows.push(...latencyRows(`q${q.index} close → closed view`, q.close));
    const wrong = q.reveal.rankMissing + q.reveal.resultWrong + q.reveal.notOwnView;
    rows.push(...latencyRows(`q${q.index} reveal → own result + rank`, q.reveal, wrong ? `${q.reveal.rankMissing} no rank, ${q.reveal.resultWrong} wrong result, ${q.reveal.notOwnView} not own` : 'results and ranks ok'));
    const disp = q.leaderboard.displayMs.filter(Number.isFinite);
    const top = [...new Set(q.leaderboard.displayTop)].join('/');
    rows.push(...latencyRows(`q${q.index} leaderboard → students`, q.leaderboard, `display top ${top} in ≤ ${fmt(disp.length ? Math.max(...disp) : null, 0)} ms`));
  }
  if (r.questions.length < 2 && r.reconnect) rows.push(...reconnectRows(r));
  rows.push(...latencyRows('end → final view', r.end));
  out.push(table(['scenario (ms)', 'count', 'first', 'p50', 'p95', 'p99', 'max', 'host ack', 'notes'], rows));
  out.push('');

  const i = r.integrity;
  out.push(
    `answers: sent ${i.sent}, acked ${i.acked}, stored ${i.stored} (read back from the results export), LOST ${i.lost}, DOUBLE-COUNTED ${i.doubleCounted}, ` +
      `refused ${i.refused}, unacked ${i.unacked} (of which stored ${i.storedUnacked}); players admitted ${i.playersAdmitted}, exported ${i.playersExported}` +
      `${i.phantomPlayers ? `, PHANTOM ${i.phantomPlayers}` : ''}${i.missingPlayers ? `, MISSING ${i.missingPlayers}` : ''}; display answered-count mismatches ${i.displayAnsweredMismatch}`,
  );
  const d = r.disconnects;
  const byPhase = Object.entries(d.byPhase ?? {}).map(([k, v]) => `${v} in ${k}`).join(', ');
  out.push(`disconnects: ${d.total} (raw ${d.raw}, probes ${d.probes})${byPhase ? ` — ${byPhase}` : ''}${d.samples.length ? `; e.g. ${d.samples.join('; ')}` : ''}; not connected at the end: ${d.notConnectedAtEnd}; raw-view parse checks ${r.parseChecks.checked}, mismatches ${r.parseChecks.mismatches}`);
  out.push('');

  const res = r.resources;
  const phaseRows = res.phases.map((p) => [
    p.phase,
    fmt(p.wallMs, 0),
    p.servers.map((s) => fmt(s.cpuMs, 0)).join(' + ') || '–',
    // Older reports have no kernel share or system-call counts.
    p.servers.map((s) => (s.mainThreadMs == null ? '–' : fmt(s.mainThreadMs, 0))).join(' + ') || '–',
    p.servers.map((s) => (s.mainThreadWaitMs == null ? '–' : fmt(s.mainThreadWaitMs, 0))).join(' + ') || '–',
    p.servers.map((s) => (s.sysMs === undefined ? '–' : fmt(s.sysMs, 0))).join(' + ') || '–',
    p.servers.map((s) => (s.writeCalls == null ? '–' : `${s.writeCalls}/${s.readCalls}`)).join(' + ') || '–',
    p.servers.map((s) => fmt(s.rssKb / 1024, 0)).join(' + ') || '–',
    p.redis ? fmt(p.redis.cpuMs, 0) : '–',
    fmt(p.generatorCpuMs, 0),
    p.workers.map((w) => fmt(w.loopDelayP99Ms, 0)).join('/'),
    fmt(p.otherCpuMs, 0),
    // Older reports have no steal.
    p.stealMs === undefined ? '–' : fmt(p.stealMs, 0),
  ]);
  out.push(table(['phase', 'wall ms', 'server CPU ms', 'main thread', 'main thread waiting', 'kernel', 'server writes/reads', 'server RSS MB', 'redis CPU ms', 'generator CPU ms', 'worker loop-delay p99 ms', 'other jobs CPU ms', 'steal ms'], phaseRows));
  out.push(
    `server RSS per connected student: ${fmt(res.rssPerStudentKb)} KB after the join storm (no GC forced); at the end of the game, after full GCs: live heap ${fmt(res.heapPerStudentKb)} KB, RSS ${fmt(res.rssPerStudentAfterGameKb ?? null)} KB per student; peak RSS ${res.serverPeakRssKb.map((k) => fmt(k / 1024, 0)).join(' + ')} MB; ` +
      `CPU in the measured run (after start-up and warm-up): server ${res.serverCpuTotalMs.map((x) => fmt(x / 1000, 2)).join(' + ')} s, redis ${fmt(res.redisCpuTotalMs === null ? null : res.redisCpuTotalMs / 1000, 2)} s, generator ${fmt(res.generatorCpuTotalMs / 1000, 2)} s`,
  );
  if (r.broadcastCost) {
    const b = r.broadcastCost;
    out.push(
      `broadcast cost (K=${b.k}, ${b.payloadBytes}-byte message, median of ${b.rounds}): raw write() ${b.rawUsPerRecipient} µs/recipient (sync ${b.rawSyncUsPerRecipient}), ` +
        `Socket.IO room emit ${b.sioUsPerRecipient} µs/recipient (sync ${b.sioSyncUsPerRecipient}) → ${b.ratio}×; all delivered in ${b.rawDeliverMs} / ${b.sioDeliverMs} ms`,
    );
    // Older reports have no quizroom or personal round.
    if (b.directUsPerRecipient !== undefined)
      out.push(
        `Quizroom's question broadcast (framed once, written straight to each socket): ${b.directUsPerRecipient} µs/recipient (sync ${b.directSyncUsPerRecipient}) → ${b.directRatio}× a raw write; all delivered in ${b.directDeliverMs} ms`,
      );
    if (b.personalUsPerRecipient !== undefined)
      out.push(
        `personal views (one ${b.personalPayloadBytes}-byte view per socket, shared parts encoded once, written straight to each socket): ${b.personalUsPerRecipient} µs/recipient (sync ${b.personalSyncUsPerRecipient}); all delivered in ${b.personalDeliverMs} ms`,
      );
  }
  out.push('');
  out.push(table(['bar (2 cores, N=2,000, 1 process on Redis)', 'target', 'this run', 'pass'], r.bars.map((b) => [b.name, b.target, b.value, b.pass === null ? '–' : b.pass ? 'yes' : 'NO'])));
  out.push(`wall time ${fmt(r.wallMs / 1000, 1)} s`);
  return out.join('\n');
}

function reconnectRows(r: BenchResult): string[][] {
  const c = r.reconnect!;
  const failed = Object.entries(c.failed).map(([k, v]) => `${k}×${v}`).join(', ');
  const rows = [
    row('reconnect storm: drop → resynced', c.resync, `${c.back}/${c.dropped} back in ${fmt(c.timeToAllResyncedMs, 0)} ms, same player ${c.samePlayer}, answer kept ${c.answerKept}/${c.answerExpected}${failed ? `; failed ${failed}` : ''}`),
  ];
  if (c.probeResync.count) rows.push(row('  reconnect (probes)', c.probeResync));
  return rows;
}

/** One line per run (the docs' results table). */
export function formatSuite(results: BenchResult[]): string {
  const rows = results.map((r) => [
    r.label,
    `${r.join.admitted}/${r.students}`,
    fmt(r.join.timeToAllAdmittedMs, 0),
    fmt(r.join.joinAck.p99, 0),
    fmt(pooled(r, (q) => q.fanout.raw), 0),
    fmt(pooled(r, (q) => q.answers.ack), 0),
    fmt(pooled(r, (q) => q.reveal.raw), 0),
    fmt(r.reconnect?.timeToAllResyncedMs ?? null, 0),
    fmt(r.end.raw.p99, 0),
    `${r.integrity.lost}/${r.integrity.doubleCounted}`,
    String(r.disconnects.total),
    fmt(r.resources.rssPerStudentKb, 1),
    r.resources.serverCpuTotalMs.map((x) => fmt(x / 1000, 1)).join('+') || '–',
    fmt(r.resources.generatorCpuTotalMs / 1000, 1),
    r.error ? 'FAILED' : 'ok',
  ]);
  return table(
    ['run', 'admitted', 'all in ms', 'join p99', 'fan-out p99', 'ack p99', 'reveal p99', 'reconnect all ms', 'end p99', 'lost/double', 'disc.', 'KB/student', 'server CPU s', 'gen CPU s', ''],
    rows,
  );
}

/** The suite as a Markdown table (docs/performance.md). */
export function formatSuiteMarkdown(results: BenchResult[]): string {
  const ms = (x: number | null | undefined) => fmt(x ?? null, 0);
  const head = [
    'run', 'admitted (all in, ms)', 'join ack p99', 'fan-out p50 / p99', 'answer ack p50 / p99', 'reveal p50 / p99', 'leaderboard p99',
    'reconnect: all back (ms)', 'end p99', 'lost / double', 'disconnects', 'RSS KB/student', 'server CPU s', 'generator CPU s', 'other jobs (cores)',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of results) {
    const worst = (pick: (q: BenchResult['questions'][number]) => number | null) => {
      const xs = r.questions.map(pick).filter((x): x is number => x !== null);
      return xs.length ? Math.max(...xs) : null;
    };
    lines.push(
      `| ${[
        r.label + (r.error ? ` (FAILED: ${r.error.slice(0, 80)})` : ''),
        `${r.join.admitted}/${r.students} (${ms(r.join.timeToAllAdmittedMs)})`,
        ms(r.join.joinAck.p99),
        `${ms(worst((q) => q.fanout.raw.p50))} / ${ms(pooled(r, (q) => q.fanout.raw))}`,
        `${ms(worst((q) => q.answers.ack.p50))} / ${ms(pooled(r, (q) => q.answers.ack))}`,
        `${ms(worst((q) => q.reveal.raw.p50))} / ${ms(pooled(r, (q) => q.reveal.raw))}`,
        ms(pooled(r, (q) => q.leaderboard.raw)),
        r.reconnect ? `${r.reconnect.back}/${r.reconnect.dropped} (${ms(r.reconnect.timeToAllResyncedMs)})` : '–',
        ms(r.end.raw.p99),
        `${r.integrity.lost} / ${r.integrity.doubleCounted}`,
        String(r.disconnects.total),
        fmt(r.resources.rssPerStudentKb, 1),
        r.resources.serverCpuTotalMs.map((x) => fmt(x / 1000, 1)).join(' + ') || '–',
        fmt(r.resources.generatorCpuTotalMs / 1000, 1),
        fmt(r.noise.otherCores, 2),
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

/**
 * How the server's cost grows with N: server CPU per student (µs) in each kind of phase,
 * summed over the server processes and averaged over the questions. Flat = O(1) per
 * student (O(N) per phase); growing linearly with N = O(N) per student (O(N²) per phase).
 */
export function formatScalingMarkdown(results: BenchResult[]): string {
  const kinds: [string, RegExp][] = [
    ['join storm', /^join$/],
    ['question fan-out', /fan-out$/],
    ['answer burst', /answers$/],
    ['close', /close$/],
    ['reveal', /reveal$/],
    ['leaderboard', /leaderboard$/],
    ['reconnect storm', /^reconnect storm$/],
    ['end', /^end$/],
  ];
  const head = ['run', ...kinds.map(([k]) => k)];
  const lines = [`| server CPU per student (µs) | ${head.slice(1).join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of results) {
    const cells = kinds.map(([, re]) => {
      const phases = r.resources.phases.filter((p) => re.test(p.phase));
      if (!phases.length || !r.students) return '–';
      const cpu = phases.reduce((s, p) => s + p.servers.reduce((t, x) => t + x.cpuMs, 0), 0) / phases.length;
      return fmt((cpu * 1000) / r.students, 0);
    });
    lines.push(`| ${r.label} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}
