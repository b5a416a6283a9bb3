// Samples a process's resident memory from /proc/<pid>/status: VmRSS (now) and VmHWM (peak so far,
// kept by the kernel, so short spikes between samples are not missed), per phase of the run.
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

  constructor(private readonly pid: number, private readonly intervalMs = 200) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
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
    this.maxRssBytes = Math.max(this.maxRssBytes, rss);
    this.hwmBytes = Math.max(this.hwmBytes, hwm);
    this.phaseMaxRss.set(this.phaseName, Math.max(this.phaseMaxRss.get(this.phaseName) ?? 0, rss));
  }

  byPhaseMB(): Record<string, number> {
    return Object.fromEntries([...this.phaseMaxRss].map(([k, v]) => [k, round(mb(v), 1)]));
  }
}

export const round = (n: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};
