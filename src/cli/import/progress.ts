// What a person watching `strongroom import` sees: on a terminal, one line redrawn in place (a bar,
// files, bytes, rate and time left); otherwise (a log, a pipe, CI) a plain line every few seconds.
// Written to standard error, so standard output stays free for scripts.
import { formatBytes } from '../../services/ingest.js';

export interface Tally {
  imported: number;
  skipped: number;
  refused: number;
  held: number;
  failed: number;
  /** Bytes read from the source: sent, or hashed to prove a file is already there. */
  bytes: number;
}

export const emptyTally = (): Tally => ({ imported: 0, skipped: 0, refused: 0, held: 0, failed: 0, bytes: 0 });
export const filesDone = (t: Tally): number => t.imported + t.skipped + t.refused + t.held + t.failed;

export interface ProgressOptions {
  stream: NodeJS.WriteStream;
  /** Redraw in place; when false, print a line every `intervalMs`. */
  tty: boolean;
  intervalMs?: number;
  total: { files: number; bytes: number } | null;
  now?: () => number;
}

export class Progress {
  private readonly started: number;
  private timer: NodeJS.Timeout | null = null;
  private drawn = false;
  private readonly now: () => number;

  constructor(private readonly tally: Tally, private readonly o: ProgressOptions) {
    this.now = o.now ?? Date.now;
    this.started = this.now();
  }

  start(): void {
    this.timer = setInterval(() => this.draw(), this.o.intervalMs ?? (this.o.tty ? 200 : 5000));
    this.timer.unref();
  }

  /** A message (a refusal) printed above the bar, which is then drawn again below it. */
  say(message: string): void {
    if (this.o.tty && this.drawn) this.o.stream.write('\r\x1b[2K');
    this.o.stream.write(`${message}\n`);
    if (this.o.tty && this.drawn) this.draw();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.o.tty && this.drawn) {
      this.draw();
      this.o.stream.write('\n');
    }
  }

  line(): string {
    const t = this.tally;
    const done = filesDone(t);
    const seconds = Math.max((this.now() - this.started) / 1000, 0.001);
    const rate = done / seconds;
    const total = this.o.total;
    const parts = [
      total ? `${done}/${total.files} files` : `${done} files`,
      total ? `${formatBytes(t.bytes)}/${formatBytes(total.bytes)}` : formatBytes(t.bytes),
      `${rate.toFixed(rate < 10 ? 1 : 0)} files/s`,
      `${formatBytes(Math.round(t.bytes / seconds))}/s`,
    ];
    if (total && done > 0 && done < total.files) parts.push(`ETA ${duration(eta(done, t.bytes, total, seconds))}`);
    const trouble = t.refused + t.failed + t.held;
    if (trouble > 0) parts.push(`${t.refused + t.failed} refused or failed, ${t.held} held`);
    const bar = total && total.files > 0 ? `${drawBar(done / total.files, 24)} ` : '';
    return `${bar}${parts.join(' · ')}`;
  }

  private draw(): void {
    if (this.o.tty) {
      this.o.stream.write(`\r\x1b[2K${this.line()}`);
      this.drawn = true;
    } else {
      this.o.stream.write(`import: ${this.line()}\n`);
    }
  }
}

/**
 * Seconds left: by bytes when the files are large enough for bytes to dominate, else by files (small
 * files cost per file, not per byte); the larger of the two, so neither a few big files nor many
 * small ones make it lie low.
 */
export function eta(done: number, bytes: number, total: { files: number; bytes: number }, seconds: number): number {
  const byFiles = ((total.files - done) * seconds) / Math.max(done, 1);
  const byBytes = bytes > 0 ? ((total.bytes - bytes) * seconds) / bytes : byFiles;
  return Math.max(0, Math.max(byFiles, byBytes));
}

export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function drawBar(fraction: number, width: number): string {
  const filled = Math.min(width, Math.max(0, Math.round(fraction * width)));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`;
}
