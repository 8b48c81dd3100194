/** CPU time and memory of a process, read from /proc (Linux). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

export interface ProcSample {
  pid: number;
  /** user + system CPU time since the process started (ms; resolution 1/CLK_TCK s). */
  cpuMs: number;
  userMs: number;
  sysMs: number;
  rssKb: number;
  /** Peak RSS. */
  hwmKb: number;
  /** read- and write-family system calls since the process started (/proc/PID/io; null where it cannot be read). */
  readCalls: number | null;
  writeCalls: number | null;
  /** CPU of the main thread alone (the event loop; the rest is V8's GC and compiler threads and libuv's), ms. */
  mainThreadMs: number | null;
  /**
   * Time the main thread was ready to run but waiting for a core (the scheduler's run-queue
   * delay, /proc/PID/task/PID/schedstat), ms; null where the kernel does not keep it.
   */
  mainThreadWaitMs: number | null;
}

/** User and system CPU of a process or thread, ms, from its `/proc/…/stat` (10-ms ticks on most kernels). */
function statCpuMs(path: string): { userMs: number; sysMs: number } {
  const stat = readFileSync(path, 'utf8');
  // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const tick = 1000 / clockTicks();
  return { userMs: Number(rest[11]) * tick, sysMs: Number(rest[12]) * tick };
}

export function sampleProc(pid: number): ProcSample | null {
  try {
    const { userMs, sysMs } = statCpuMs(`/proc/${pid}/stat`);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    const io = readIoCalls(pid);
    return {
      pid,
      cpuMs: userMs + sysMs,
      userMs,
      sysMs,
      rssKb: kb('VmRSS'),
      hwmKb: kb('VmHWM'),
      readCalls: io?.syscr ?? null,
      writeCalls: io?.syscw ?? null,
      ...mainThreadTimes(pid),
    };
  } catch {
    return null;
  }
}

/**
 * The thread whose id is the process id: Node's main thread, the event loop. schedstat gives
 * its CPU and its run-queue wait in ns; stat (10-ms ticks) where schedstat is missing.
 */
function mainThreadTimes(pid: number): { mainThreadMs: number | null; mainThreadWaitMs: number | null } {
  try {
    const [runNs, waitNs] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isFinite(runNs) && Number.isFinite(waitNs)) return { mainThreadMs: runNs! / 1e6, mainThreadWaitMs: waitNs! / 1e6 };
  } catch {
    // No schedstat (kernel without CONFIG_SCHED_INFO): the tick count below.
  }
  try {
    const { userMs, sysMs } = statCpuMs(`/proc/${pid}/task/${pid}/stat`);
    return { mainThreadMs: userMs + sysMs, mainThreadWaitMs: null };
  } catch {
    return { mainThreadMs: null, mainThreadWaitMs: null };
  }
}

function readIoCalls(pid: number): { syscr: number; syscw: number } | null {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const n = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(io)?.[1] ?? NaN);
    const syscr = n('syscr');
    const syscw = n('syscw');
    return Number.isFinite(syscr) && Number.isFinite(syscw) ? { syscr, syscw } : null;
  } catch {
    return null;
  }
}

/**
 * CPU time of the whole machine (all cores) since boot, ms: busy (user+nice+system+irq+softirq+steal)
 * and, of it, steal — time the hypervisor gave this VM's cores to other guests (a slow spell
 * of a shared host shows here, not in any process's figures).
 */
export function machineTimes(): { busyMs: number; stealMs: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    const ms = 1000 / clockTicks();
    return { busyMs: (user + nice + system + irq + softirq + steal) * ms, stealMs: steal * ms };
  } catch {
    return { busyMs: NaN, stealMs: NaN };
  }
}

/**
 * Waits (bounded) until the machine is quiet: under `maxBusyCores` of CPU in use over each
 * of 3 consecutive seconds. Returns the busy cores seen last (other jobs on a shared
 * machine spoil latency figures; the report says how busy it was).
 */
export async function waitQuiet(maxMs: number, maxBusyCores = 0.2): Promise<{ waitedMs: number; busyCores: number }> {
  const start = Date.now();
  let quiet = 0;
  let busy = 0;
  for (;;) {
    const a = machineTimes().busyMs;
    await new Promise((r) => setTimeout(r, 1000));
    busy = (machineTimes().busyMs - a) / 1000;
    quiet = busy < maxBusyCores ? quiet + 1 : 0;
    if (quiet >= 3 || Date.now() - start > maxMs) return { waitedMs: Date.now() - start, busyCores: Math.round(busy * 100) / 100 };
  }
}
