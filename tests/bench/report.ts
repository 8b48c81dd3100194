/** The readable report of a bench run (and the one-line-per-run summary of a suite). */
import { pooled, type BenchResult, type Latency } from './runner.ts';
import { fmt, table, type Summary } from './stats.ts';

const row = (name: string, s: Summary, notes = ''): string[] => [name, String(s.count), fmt(s.p50), fmt(s.p95), fmt(s.p99), fmt(s.max), notes];

function latencyRows(name: string, l: Latency, notes = ''): string[][] {
  const rows = [row(name, l.raw, [notes, l.missing ? `${l.missing} MISSING` : ''].filter(Boolean).join('; '))];
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
  out.push(table(['scenario (ms)', 'count', 'p50', 'p95', 'p99', 'max', 'notes'], rows));
  out.push('');

  const i = r.integrity;
  out.push(
    `answers: sent ${i.sent}, acked ${i.acked}, stored ${i.stored} (read back from the results export), LOST ${i.lost}, DOUBLE-COUNTED ${i.doubleCounted}, ` +
      `refused ${i.refused}, unacked ${i.unacked} (of which stored ${i.storedUnacked}); players admitted ${i.playersAdmitted}, exported ${i.playersExported}` +
      `${i.phantomPlayers ? `, PHANTOM ${i.phantomPlayers}` : ''}${i.missingPlayers ? `, MISSING ${i.missingPlayers}` : ''}; display answered-count mismatches ${i.displayAnsweredMismatch}`,
  );
  const d = r.disconnects;
  out.push(`disconnects: ${d.total} (raw ${d.raw}, probes ${d.probes})${d.samples.length ? ` e.g. ${d.samples.join('; ')}` : ''}; not connected at the end: ${d.notConnectedAtEnd}; raw-view parse checks ${r.parseChecks.checked}, mismatches ${r.parseChecks.mismatches}`);
  out.push('');

  const res = r.resources;
  const phaseRows = res.phases.map((p) => [
    p.phase,
    fmt(p.wallMs, 0),
    p.servers.map((s) => fmt(s.cpuMs, 0)).join(' + ') || '–',
    p.servers.map((s) => fmt(s.rssKb / 1024, 0)).join(' + ') || '–',
    p.redis ? fmt(p.redis.cpuMs, 0) : '–',
    fmt(p.generatorCpuMs, 0),
    p.workers.map((w) => fmt(w.loopDelayP99Ms, 0)).join('/'),
  ]);
  out.push(table(['phase', 'wall ms', 'server CPU ms', 'server RSS MB', 'redis CPU ms', 'generator CPU ms', 'worker loop-delay p99 ms'], phaseRows));
  out.push(
    `server RSS per connected student: ${fmt(res.rssPerStudentKb)} KB (heap ${fmt(res.heapPerStudentKb)} KB), after a full GC; peak RSS ${res.serverPeakRssKb.map((k) => fmt(k / 1024, 0)).join(' + ')} MB; ` +
      `CPU total: server ${res.serverCpuTotalMs.map((x) => fmt(x / 1000, 2)).join(' + ')} s, redis ${fmt(res.redisCpuTotalMs === null ? null : res.redisCpuTotalMs / 1000, 2)} s, generator ${fmt(res.generatorCpuTotalMs / 1000, 2)} s`,
  );
  if (r.broadcastCost) {
    const b = r.broadcastCost;
    out.push(
      `broadcast cost (K=${b.k}, ${b.payloadBytes}-byte message, median of ${b.rounds}): raw write() ${b.rawUsPerRecipient} µs/recipient (sync ${b.rawSyncUsPerRecipient}), ` +
        `Socket.IO room emit ${b.sioUsPerRecipient} µs/recipient (sync ${b.sioSyncUsPerRecipient}) → ${b.ratio}×; all delivered in ${b.rawDeliverMs} / ${b.sioDeliverMs} ms`,
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
