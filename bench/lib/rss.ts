// Samples a process's resident memory from /proc/<pid>/status: VmRSS (now) and VmHWM (peak so far,
// kept by the kernel, so short spikes between samples are not missed), per phase of the run. At each
// new highest sample it also reads /proc/<pid>/smaps_rollup, so the results say what the peak was
// made of: anonymous memory (V8's heap, buffers, SQLite's page cache, the allocator's free lists)
// against pages mapped from files (node's binary, the bundle, shared libraries).
import { readFileSync } from 'node:fs';

const kib = (status: string, field: string): number | undefined => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) : undefined;
};

/** Bytes → MB (10^6), the unit the aims use. */
export const mb = (bytes: number): number => bytes / 1e6;

export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private phaseName = 'start';
  private readonly phaseMaxRss = new Map<string, number>();
  maxRssBytes = 0;
  hwmBytes = 0;
  samples = 0;
  /** What the highest sample was made of, from smaps_rollup (undefined if it could not be read). */
  atMax: { anonymousBytes: number; fileBackedBytes: number; phase: string } | undefined;

  constructor(private readonly pid: number, private readonly intervalMs = 200) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  get currentPhase(): string {
    return this.phaseName;
  }

  phase(name: string): void {
    this.sample();
    this.phaseName = name;
  }

  /** Takes a last sample (call before the process is stopped) and stops sampling. */
  stop(): void {
    this.sample();
    clearInterval(this.timer);
    this.timer = undefined;
  }

  sample(): void {
    let status: string;
    try {
      status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    } catch {
      return; // exited
    }
    const rss = (kib(status, 'VmRSS') ?? 0) * 1024;
    const hwm = (kib(status, 'VmHWM') ?? 0) * 1024;
    this.samples++;
    if (rss > this.maxRssBytes) this.noteComposition();
    this.maxRssBytes = Math.max(this.maxRssBytes, rss);
    this.hwmBytes = Math.max(this.hwmBytes, hwm);
    this.phaseMaxRss.set(this.phaseName, Math.max(this.phaseMaxRss.get(this.phaseName) ?? 0, rss));
  }

  private noteComposition(): void {
    try {
      const rollup = readFileSync(`/proc/${this.pid}/smaps_rollup`, 'utf8');
      const rss = (kib(rollup, 'Rss') ?? 0) * 1024;
      const anonymousBytes = (kib(rollup, 'Anonymous') ?? 0) * 1024;
      this.atMax = { anonymousBytes, fileBackedBytes: rss - anonymousBytes, phase: this.phaseName };
    } catch {
      // exited, or a kernel without smaps_rollup: the peak is still reported, only not split
    }
  }

  byPhaseMB(): Record<string, number> {
    return Object.fromEntries([...this.phaseMaxRss].map(([k, v]) => [k, round(mb(v), 1)]));
  }
}

export const round = (n: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

export interface V8Heap {
  heapTotalMB: number;
  heapUsedMB: number;
  externalMB: number;
}

/**
 * The server's V8 heap as its /metrics endpoint reports it (answered on loopback without a token):
 * the heap V8 has committed, what is in use, and memory outside it held by JavaScript objects
 * (Buffers). Undefined when the endpoint does not answer.
 */
export async function v8HeapOf(baseUrl: URL): Promise<V8Heap | undefined> {
  try {
    const response = await fetch(new URL('/metrics', baseUrl));
    if (!response.ok) return undefined;
    const text = await response.text();
    const gauge = (name: string): number => round(mb(Number(new RegExp(`^strongroom_${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN)), 1);
    return { heapTotalMB: gauge('nodejs_heap_size_total_bytes'), heapUsedMB: gauge('nodejs_heap_size_used_bytes'), externalMB: gauge('nodejs_external_memory_bytes') };
  } catch {
    return undefined;
  }
}
