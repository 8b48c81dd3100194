/**
 * One clock for every process of the bench: CLOCK_MONOTONIC (process.hrtime), which is
 * system-wide on Linux, so a timestamp taken in a worker and one taken in the orchestrator
 * are directly comparable. The orchestrator still measures each worker's offset over IPC
 * (see `measureOffset` in runner.ts) and reports it, so a reader can check that claim.
 */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects after `ms` with a message naming what was being waited for. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${Math.round(ms)} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
