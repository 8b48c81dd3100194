/** The bench's /proc readings (Linux, like CI): what the per-phase columns of the report are made of. */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleProc } from './procstat.ts';

describe('sampleProc', () => {
  it('counts this process\'s write system calls and splits out the main thread\'s CPU', () => {
    const file = path.join(tmpdir(), `qr-procstat-${process.pid}`);
    const before = sampleProc(process.pid)!;
    const fd = openSync(file, 'w');
    try {
      for (let i = 0; i < 10; i++) writeSync(fd, 'x');
    } finally {
      closeSync(fd);
      rmSync(file, { force: true });
    }
    const after = sampleProc(process.pid)!;
    expect(after.writeCalls! - before.writeCalls!).toBeGreaterThanOrEqual(10);
    expect(after.readCalls).not.toBeNull();
    expect(after.mainThreadMs).not.toBeNull();
    // schedstat counts in ns, stat in 10-ms ticks: one tick apart at most.
    expect(after.mainThreadMs!).toBeLessThanOrEqual(after.cpuMs + 10);
    expect(after.mainThreadWaitMs).not.toBeNull();
    expect(after.mainThreadWaitMs!).toBeGreaterThanOrEqual(before.mainThreadWaitMs!);
    expect(after.userMs + after.sysMs).toBe(after.cpuMs);
  });

  it('returns null for a process that does not exist', () => {
    expect(sampleProc(2 ** 22 + 1)).toBeNull();
  });
});
