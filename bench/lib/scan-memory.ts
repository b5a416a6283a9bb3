// The RAM a malware scan holds (issue #16: "bounded, < 300 MB per scan"): clamd spools each INSTREAM
// stream into its TemporaryDirectory, a tmpfs, so the spool is RAM; and clamd's own resident memory
// grows while it scans. Sampled together while a scan runs: the spool's bytes (every file under the
// folder clamd's config names) and clamd's resident memory above what it held before the scan.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const rssBytes = (pid: number): number | undefined => {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
};

/** Bytes of every file under `folder` (clamd makes a folder of its own per scan inside it); files gone meanwhile count as nothing. */
function bytesUnder(folder: string): number {
  let total = 0;
  let entries;
  try {
    entries = readdirSync(folder, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const at = path.join(folder, entry.name);
    if (entry.isDirectory()) total += bytesUnder(at);
    else if (entry.isFile()) {
      try {
        total += statSync(at).size;
      } catch {
        // removed between the listing and the stat: clamd finished with it
      }
    }
  }
  return total;
}

/** clamd's TemporaryDirectory, read from the config a Strongroom server wrote into its data directory. */
export function clamdSpoolFolder(dataDir: string): string | undefined {
  try {
    return /^TemporaryDirectory (.+)$/m.exec(readFileSync(path.join(dataDir, 'clamd', 'clamd.conf'), 'utf8'))?.[1]?.trim();
  } catch {
    return undefined;
  }
}

export interface ScanMemory {
  /** The most the spool held at one sample. */
  spoolPeakBytes: number;
  /** clamd's resident memory at its highest above what it was when sampling began. */
  clamdGrowthPeakBytes: number;
  /** The most the two held together at one sample: the figure the aim bounds. */
  heldPeakBytes: number;
  samples: number;
}

export class ScanMemorySampler {
  #timer: NodeJS.Timeout | undefined;
  readonly #clamdBase: number;
  #result: ScanMemory = { spoolPeakBytes: 0, clamdGrowthPeakBytes: 0, heldPeakBytes: 0, samples: 0 };

  constructor(private readonly spool: string, private readonly clamdPid: number, private readonly intervalMs = 50) {
    this.#clamdBase = rssBytes(clamdPid) ?? 0;
  }

  start(): this {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), this.intervalMs);
    this.#timer.unref();
    return this;
  }

  stop(): ScanMemory {
    this.#sample();
    clearInterval(this.#timer);
    return { ...this.#result };
  }

  #sample(): void {
    const spool = bytesUnder(this.spool);
    const growth = Math.max(0, (rssBytes(this.clamdPid) ?? this.#clamdBase) - this.#clamdBase);
    const r = this.#result;
    this.#result = {
      spoolPeakBytes: Math.max(r.spoolPeakBytes, spool),
      clamdGrowthPeakBytes: Math.max(r.clamdGrowthPeakBytes, growth),
      heldPeakBytes: Math.max(r.heldPeakBytes, spool + growth),
      samples: r.samples + 1,
    };
  }
}
