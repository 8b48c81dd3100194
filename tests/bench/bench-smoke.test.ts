/**
 * CI smoke test of the load benchmark: the tool works end to end at N = 50 (in-memory
 * store) and loses nothing. Benchmarks are not timed tests: no timing is asserted here.
 */
import { describe, expect, it } from 'vitest';
import { smokeOptions } from './bench.ts';
import { runBench, smokeProblems } from './runner.ts';

describe('bench smoke (N = 50, memory store)', () => {
  it('admits everyone, loses and double-counts nothing, never disconnects', async () => {
    const r = await runBench({ ...smokeOptions });
    expect(r.error).toBeNull();
    expect(r.join.admitted).toBe(r.students);
    expect(r.students).toBe(50);
    expect(r.integrity.sent).toBe(50 * 3);
    expect(r.integrity.acked).toBe(r.integrity.sent);
    expect(r.integrity.stored).toBe(r.integrity.acked);
    expect(r.integrity.lost).toBe(0);
    expect(r.integrity.doubleCounted).toBe(0);
    expect(r.disconnects.total).toBe(0);
    expect(r.reconnect?.back).toBe(50);
    expect(r.reconnect?.samePlayer).toBe(50);
    expect(smokeProblems(r)).toEqual([]);
    expect(r.broadcastCost?.k).toBe(20);
    // The warm-up game ran first on the same server, whole, and its storm is on record as the cold one.
    expect(r.warmup).toHaveLength(1);
    expect(r.warmup[0]).toMatchObject({ students: 50, admitted: 50, problems: [] });
    expect(r.warmup[0]!.admittedMs).toBeGreaterThan(0);
    // …and its generator processes, warm too, are the measured run's (raw worker and probe worker).
    expect(r.workers.map((w) => w.pid).sort()).toEqual([...r.warmup[0]!.generatorPids].sort());
    expect(r.workers).toHaveLength(2);
    // Per-phase system calls and the main thread's share come from /proc (Linux, like CI).
    const join = r.resources.phases.find((p) => p.phase === 'join')!.servers[0]!;
    expect(join.writeCalls).toBeGreaterThanOrEqual(50);
    expect(join.mainThreadMs).not.toBeNull();
    // The main thread's CPU is counted in ns (schedstat), the process's in 10-ms ticks.
    expect(join.mainThreadMs!).toBeLessThanOrEqual(join.cpuMs + 10);
    expect(join.mainThreadWaitMs).not.toBeNull();
  }, 120_000);
});
