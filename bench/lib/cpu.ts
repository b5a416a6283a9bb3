// CPU time actually spent by each process during a phase (utime + stime from /proc/<pid>/stat),
// and the load average around it. On a shared machine the wall-clock rates depend on what else
// runs; CPU-seconds per GiB or per thousand files do not, so both are recorded.
import { readdirSync, readFileSync } from 'node:fs';
import os, { loadavg } from 'node:os';

const TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux

interface Stat {
  pid: number;
  ppid: number;
  ticks: number;
  minorFaults: number;
}

function stat(pid: number, file = `/proc/${pid}/stat`): Stat | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); ppid is field 4, minflt 10, utime 14, stime 15.
    return { pid, ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]), minorFaults: Number(fields[7]) };
  } catch {
    return undefined;
  }
}

/** CPU seconds of one process. */
export function cpuOf(pid: number | undefined): number {
  if (!pid) return 0;
  return (stat(pid)?.ticks ?? 0) / TICKS_PER_SECOND;
}

/**
 * CPU seconds of a process's main thread alone (its JavaScript, for Node): the rest of
 * cpuOf(pid) is the libuv pool (file reads, writes, fsync) and other helper threads.
 */
export function mainThreadCpuOf(pid: number | undefined): number {
  if (!pid) return 0;
  return (stat(pid, `/proc/${pid}/task/${pid}/stat`)?.ticks ?? 0) / TICKS_PER_SECOND;
}

/**
 * CPU seconds of each of a process's threads, keyed "main" for the main thread and by thread id
 * otherwise (Node 20's helper threads are all named "node": the libuv pool doing file reads,
 * writes and fsyncs, V8's garbage-collection helpers, the inspector); a thread that ended before
 * the reading is not counted.
 */
export function cpuByThreadOf(pid: number | undefined): Map<string, number> {
  const byThread = new Map<string, number>();
  if (!pid) return byThread;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byThread;
  }
  for (const tid of tids) {
    const s = stat(pid, `/proc/${pid}/task/${tid}/stat`);
    if (s) byThread.set(Number(tid) === pid ? 'main' : `thread ${tid}`, s.ticks / TICKS_PER_SECOND);
  }
  return byThread;
}

/** What each thread spent between two cpuByThreadOf readings, largest first, as "main 1.23, thread 4567 0.40". */
export function threadCpuDifference(before: Map<string, number>, after: Map<string, number>, per = 1): string {
  return [...after]
    .map(([name, seconds]) => [name, (seconds - (before.get(name) ?? 0)) / per] as const)
    .filter(([, seconds]) => seconds >= 0.005)
    .sort((a, b) => b[1] - a[1])
    .map(([name, seconds]) => `${name} ${seconds.toFixed(2)}`)
    .join(', ');
}

/**
 * Minor page faults of a process (every thread): pages it touched for the first time, which the
 * kernel had to zero and map. Many per GiB moved mean its allocator gave memory back and took fresh
 * pages again (docs/performance.md "Results, 3 December 2026, evening").
 */
export function minorFaultsOf(pid: number | undefined): number {
  if (!pid) return 0;
  return stat(pid)?.minorFaults ?? 0;
}

/** CPU seconds of a process and its direct children (Apache's master and its workers). */
export function cpuOfTree(rootPid: number | undefined): number {
  if (!rootPid) return 0;
  let ticks = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (s && (s.pid === rootPid || s.ppid === rootPid)) ticks += s.ticks;
  }
  return ticks / TICKS_PER_SECOND;
}

export type Sources = Record<string, () => number>;

export interface PhaseCost {
  wallSeconds: number;
  /** CPU seconds per process over the phase. */
  cpuSeconds: Record<string, number>;
  loadavg1: { start: number; end: number };
}

/** Measures wall time, CPU seconds of each source and the 1-minute load average around `work`. */
export async function costed<T>(sources: Sources, work: () => Promise<T>): Promise<{ value: T; cost: PhaseCost }> {
  const before = Object.fromEntries(Object.entries(sources).map(([k, f]) => [k, f()]));
  const load = loadavg()[0] ?? 0;
  const started = process.hrtime.bigint();
  const value = await work();
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuSeconds = Object.fromEntries(Object.entries(sources).map(([k, f]) => [k, Math.round((f() - (before[k] ?? 0)) * 100) / 100]));
  return { value, cost: { wallSeconds: Math.round(wallSeconds * 1000) / 1000, cpuSeconds, loadavg1: { start: round2(load), end: round2(loadavg()[0] ?? 0) } } };
}

/** What clientCpu adds to this process's own CPU: large transfers' curl processes, less preparing their bodies. */
let clientCpuAdjustment = 0;

/** Counts the CPU seconds of a large transfer's client processes (curl: large-transfer.ts). */
export function addClientChildCpu(seconds: number): void {
  clientCpuAdjustment += seconds;
}

/** Leaves out CPU seconds this process spent on something that is not the client's work (writing an upload's body beforehand). */
export function excludeFromClientCpu(seconds: number): void {
  clientCpuAdjustment -= seconds;
}

/** The benchmark client's CPU seconds: this process's own, and its large transfers' (curl) once they ended. */
export const clientCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6 + clientCpuAdjustment;
};

const round2 = (n: number): number => Math.round(n * 100) / 100;

/**
 * Waits (up to `maxSeconds`) until the processes `cpu` reads have used under 5 % of a core over a
 * whole second: a server still busy with what an earlier phase queued (Strongroom copies a new
 * version offsite and extracts its text once it is readable) would otherwise share the two cores
 * with the transfer measured next. Returns the seconds waited, and whether it settled in time.
 */
export async function waitForIdle(cpu: () => number, maxSeconds: number): Promise<{ waitedSeconds: number; settled: boolean }> {
  const started = Date.now();
  let last = cpu();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = cpu();
    const waitedSeconds = Math.round((Date.now() - started) / 100) / 10;
    if (now - last < 0.05) return { waitedSeconds, settled: true };
    if (waitedSeconds >= maxSeconds) return { waitedSeconds, settled: false };
    last = now;
  }
}

/** Waits (up to `maxSeconds`) for the 1-minute load average to fall below `below`; returns what it saw. */
export async function waitForQuiet(below: number, maxSeconds: number, log: (line: string) => void): Promise<{ waitedSeconds: number; loadavg1: number }> {
  const started = Date.now();
  for (;;) {
    const load = loadavg()[0] ?? 0;
    const waited = (Date.now() - started) / 1000;
    if (load < below || waited >= maxSeconds) return { waitedSeconds: Math.round(waited), loadavg1: round2(load) };
    if (Math.round(waited) % 30 === 0) log(`machine busy (load ${load.toFixed(1)} on ${os.cpus().length} cores); waiting up to ${maxSeconds - Math.round(waited)} s more for it to settle`);
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
}

/**
 * Waits until a process's CPU stops rising (under `quietSeconds`, 20 ms by default, in each of three
 * half-second looks): a server has finished its queued jobs and audit sequencing. Returns 1.5 s
 * after the work ended. A server under `--cpu-prof` spends 20-80 ms of each half second sampling
 * itself even when idle, so it needs a higher mark.
 */
export async function settled(pid: number, quietSeconds = 0.02): Promise<void> {
  let last = cpuOf(pid);
  for (let quiet = 0; quiet < 3;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = cpuOf(pid);
    quiet = now - last < quietSeconds ? quiet + 1 : 0;
    last = now;
  }
}
