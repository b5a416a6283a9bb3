// Strongroom's WebDAV beside other WebDAV servers (Apache mod_dav, rclone crypt), with the same
// client and workload for each: N × 4 KiB PUT then GET with keep-alive clients, one large PUT then
// GET. Rounds interleave the servers (every figure is taken from each server in turn, the order
// rotated each round), so on a shared machine each server sees the same load; the reported rate is
// the median over rounds and a ratio is the median of the per-round ratios. Every figure records
// the CPU seconds each process used, turned into CPU per file and per GiB.
import { GiB, randomBuffer, smallFiles } from './data.js';
import type { PoolResult } from './http.js';
import { costed, waitForIdle, type PhaseCost, type Sources } from './cpu.js';
import { round } from './rss.js';
import { davLargeGet, davLargePut, davSmallGets, davSmallPuts, type Endpoint } from './workloads.js';

export interface DavTarget {
  /** Key in the results: strongroom, apache, rclone. */
  name: string;
  /** Human name for tables. */
  label: string;
  endpoint: Endpoint;
  /** The folder every file goes into, ending in '/'. */
  folder: string;
  /** CPU-seconds readers; `client` must be one of them (the benchmark process). */
  sources: Sources;
  /** Which sources make up the server side (Strongroom: its node process and its clamd). */
  serverKeys: string[];
  /** For a server that makes a new file readable only later (Strongroom scans it): waits, returns seconds. */
  waitReadable?: (url: string) => Promise<number>;
}

export type Figure = 'smallPut' | 'smallGet' | 'largePut' | 'largeGet';
export const FIGURES: readonly Figure[] = ['smallPut', 'smallGet', 'largePut', 'largeGet'];
const SMALL: ReadonlySet<Figure> = new Set(['smallPut', 'smallGet']);
/** The longest wait for the servers to be idle before a phase; 2,000 small PUTs' queued work takes 15-30 s here. */
const IDLE_WAIT_MAX_S = 180;

export interface Measured {
  /** files/s for small figures, MB/s (10^6) for large ones. */
  rate: number;
  cost: PhaseCost;
}

export interface TargetRound {
  round: number;
  /** Position of this server in the round's order (0 = measured first). */
  order: number;
  figures: Record<Figure, Measured>;
  /** Seconds waited, before each figure, for every server to be idle (waitForIdle): what the phase before left queued. */
  waitedForIdle: Record<Figure, number>;
  /** Strongroom: from the large PUT's response until a HEAD answers 200 (its malware scan). */
  readableAfterLargePut?: { seconds: number; cost: PhaseCost };
}

export interface CpuPerUnit {
  /** ms per file (small) or CPU-seconds per GiB (large), summed over the server's processes. */
  server: number;
  /** The same per server process (Strongroom: server and clamd). */
  byProcess: Record<string, number>;
  /** The benchmark client's CPU for the same work. */
  client: number;
  unit: 'ms per file' | 's per GiB';
}

export interface TargetSummary {
  label: string;
  folder: string;
  smallPutFilesPerSec: number;
  smallGetFilesPerSec: number;
  largePutMBps: number;
  largeGetMBps: number;
  /** CPU per unit of work, from all rounds together. */
  cpu: Record<Figure, CpuPerUnit>;
  readableAfterLargePutSeconds?: number;
  rounds: TargetRound[];
}

export interface DavComparison {
  rounds: number;
  smallCount: number;
  smallBytes: number;
  largeBytes: number;
  clients: number;
  servers: Record<string, TargetSummary>;
  /** Median over rounds of a/b for each figure (e.g. strongroomVsRclone.smallPut = Strongroom's rate / rclone's). */
  ratios: Record<string, Record<Figure, number>>;
  note: string;
}

export interface DavCompareOptions {
  rounds: number;
  smallCount: number;
  smallBytes: number;
  largeBytes: number;
  clients: number;
  /**
   * Random data the first round's large bodies are cut from (see data.ts largeFile); later rounds make
   * their own. Never data a scanned file was cut from before on the same clamd: its cache would answer.
   */
  base: Buffer;
  log: (line: string) => void;
}

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

function checkPool(what: string, p: PoolResult, expected: number): void {
  if (p.errors.length > 0 || p.done !== expected) {
    throw new Error(`${what}: ${p.done}/${expected} succeeded; first errors: ${p.errors.slice(0, 3).join(' | ')}`);
  }
}

/** Runs the interleaved rounds against every target and summarises them. */
export async function compareDav(targets: DavTarget[], o: DavCompareOptions): Promise<DavComparison> {
  const rounds = new Map<string, TargetRound[]>(targets.map((t) => [t.name, []]));
  const mbps = (seconds: number): number => round(o.largeBytes / seconds / 1e6, 1);
  for (let r = 0; r < o.rounds; r++) {
    // Rotate the order each round so no server is always measured first (or right after Strongroom's scan).
    const order = targets.map((_, i) => targets[(i + r) % targets.length] as DavTarget);
    const current = new Map<string, Partial<Record<Figure, Measured>>>(order.map((t) => [t.name, {}]));
    const set = (t: DavTarget, f: Figure, m: Measured): void => void ((current.get(t.name) as Partial<Record<Figure, Measured>>)[f] = m);
    const waited = new Map<string, Partial<Record<Figure, number>>>(order.map((t) => [t.name, {}]));
    // Every server's processes, so that none is measured while another (Strongroom working through the
    // offsite copies and text extraction its PUTs queued) takes CPU from the two cores.
    const allServersCpu = (): number => targets.reduce((sum, t) => sum + t.serverKeys.reduce((s2, k) => s2 + (t.sources[k]?.() ?? 0), 0), 0);
    const idle = async (t: DavTarget, f: Figure): Promise<void> => {
      const w = await waitForIdle(allServersCpu, IDLE_WAIT_MAX_S);
      (waited.get(t.name) as Partial<Record<Figure, number>>)[f] = w.waitedSeconds;
      if (w.waitedSeconds >= 2) o.log(`${t.label} ${f}: waited ${w.waitedSeconds} s for the servers to finish earlier work${w.settled ? '' : ' (still busy; measured anyway)'}`);
    };
    const files = smallFiles(o.smallCount, o.smallBytes);
    // Fresh large content each round too: clamd caches verdicts by content, so a repeated body would scan for free.
    const base = r === 0 ? o.base : randomBuffer(o.base.length);
    const prefix = `dav-r${r + 1}`;
    const large = (t: DavTarget): string => `${t.folder}${prefix}-large.bin`;
    o.log(`WebDAV round ${r + 1}/${o.rounds}: ${order.map((t) => t.label).join(', ')}`);

    for (const t of order) {
      await idle(t, 'smallPut');
      const run = await costed(t.sources, () => davSmallPuts(t.endpoint, t.folder, files, o.clients, prefix));
      checkPool(`${t.label} WebDAV PUTs`, run.value, o.smallCount);
      set(t, 'smallPut', { rate: round(run.value.done / run.value.seconds, 1), cost: run.cost });
    }
    for (const t of order) {
      await idle(t, 'smallGet');
      const run = await costed(t.sources, () => davSmallGets(t.endpoint, t.folder, files, o.clients, prefix));
      checkPool(`${t.label} WebDAV GETs`, run.value, o.smallCount);
      set(t, 'smallGet', { rate: round(run.value.done / run.value.seconds, 1), cost: run.cost });
    }
    const readable = new Map<string, { seconds: number; cost: PhaseCost }>();
    for (const t of order) {
      await idle(t, 'largePut');
      const run = await costed(t.sources, () => davLargePut(t.endpoint, large(t), o.largeBytes, base));
      set(t, 'largePut', { rate: mbps(run.value), cost: run.cost });
      // At once, before the next server's idle wait would let the scan finish unobserved.
      if (!t.waitReadable) continue;
      const wait = t.waitReadable;
      const waitRun = await costed(t.sources, () => wait(large(t)));
      readable.set(t.name, { seconds: round(waitRun.value, 2), cost: waitRun.cost });
      o.log(`${t.label}: the large PUT became readable ${waitRun.value.toFixed(1)} s after its response`);
    }
    // Each server reads back the file it was just sent: written, and in the page cache, on all three.
    for (const t of order) {
      await idle(t, 'largeGet');
      const run = await costed(t.sources, () => davLargeGet(t.endpoint, large(t), o.largeBytes));
      set(t, 'largeGet', { rate: mbps(run.value), cost: run.cost });
    }
    for (const [position, t] of order.entries()) {
      const figures = current.get(t.name) as Record<Figure, Measured>;
      const wait = readable.get(t.name);
      (rounds.get(t.name) as TargetRound[]).push({ round: r + 1, order: position, figures, waitedForIdle: waited.get(t.name) as Record<Figure, number>, ...(wait ? { readableAfterLargePut: wait } : {}) });
      o.log(`${t.label}: small PUT ${figures.smallPut.rate.toFixed(0)}/s, GET ${figures.smallGet.rate.toFixed(0)}/s; large PUT ${figures.largePut.rate.toFixed(0)} MB/s, GET ${figures.largeGet.rate.toFixed(0)} MB/s`);
    }
  }

  const servers: Record<string, TargetSummary> = {};
  for (const t of targets) {
    const rs = rounds.get(t.name) as TargetRound[];
    const rate = (f: Figure): number => round(median(rs.map((x) => x.figures[f].rate)), 1);
    const cpu = Object.fromEntries(FIGURES.map((f) => [f, cpuPerUnit(t, f, rs, o)])) as Record<Figure, CpuPerUnit>;
    const waits = rs.flatMap((x) => (x.readableAfterLargePut ? [x.readableAfterLargePut.seconds] : []));
    servers[t.name] = {
      label: t.label, folder: t.folder,
      smallPutFilesPerSec: rate('smallPut'), smallGetFilesPerSec: rate('smallGet'), largePutMBps: rate('largePut'), largeGetMBps: rate('largeGet'),
      cpu, ...(waits.length > 0 ? { readableAfterLargePutSeconds: round(median(waits), 2) } : {}), rounds: rs,
    };
  }

  const ratios: Record<string, Record<Figure, number>> = {};
  const pairs: [string, string][] = [['strongroom', 'rclone'], ['strongroom', 'apache'], ['rclone', 'apache']];
  for (const [a, b] of pairs) {
    const ra = rounds.get(a);
    const rb = rounds.get(b);
    if (!ra || !rb) continue;
    ratios[`${a}Vs${b[0]?.toUpperCase()}${b.slice(1)}`] = Object.fromEntries(
      FIGURES.map((f) => [f, round(median(ra.map((x, i) => x.figures[f].rate / (rb[i] as TargetRound).figures[f].rate)), 3)]),
    ) as Record<Figure, number>;
  }

  return {
    rounds: o.rounds, smallCount: o.smallCount, smallBytes: o.smallBytes, largeBytes: o.largeBytes, clients: o.clients, servers, ratios,
    note: 'the same clients and workload for every server (node:http for the small files, curl for the large ones); rounds interleave the servers (order rotated each round); rates are medians over rounds, ratios medians of per-round ratios; CPU per unit sums every round. Before each phase every server is left until its processes use under 5 % of a core (waitedForIdle), so no phase shares the cores with work an earlier one queued. Strongroom encrypts, scans (inline for small files), audits and fsyncs every file; rclone crypt encrypts only; Apache mod_dav_fs does none of these',
  };
}

function cpuPerUnit(t: DavTarget, f: Figure, rs: TargetRound[], o: DavCompareOptions): CpuPerUnit {
  const small = SMALL.has(f);
  // Units of work over all rounds: thousandths of files (so CPU-seconds become ms per file), or GiB.
  const units = small ? (o.smallCount * rs.length) / 1000 : (o.largeBytes * rs.length) / GiB;
  const total = (key: string): number => rs.reduce((sum, x) => sum + (x.figures[f].cost.cpuSeconds[key] ?? 0), 0);
  const byProcess = Object.fromEntries(t.serverKeys.map((k) => [k, round(total(k) / units, small ? 3 : 2)]));
  const server = t.serverKeys.reduce((sum, k) => sum + total(k), 0);
  return { server: round(server / units, small ? 3 : 2), byProcess, client: round(total('bench') / units, small ? 3 : 2), unit: small ? 'ms per file' : 's per GiB' };
}

const n = (v: number | undefined, digits = 0): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toLocaleString('en-GB', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const x = (v: number | undefined): string => (v === undefined ? '—' : `${n(v, v >= 10 ? 1 : 2)} ×`);

/** The comparison as rows (header first) for a text or markdown table. */
export function davComparisonRows(c: DavComparison): string[][] {
  const names = Object.keys(c.servers);
  const s = (name: string): TargetSummary => c.servers[name] as TargetSummary;
  const vsR = c.ratios.strongroomVsRclone;
  const vsA = c.ratios.strongroomVsApache;
  const size = `${c.largeBytes / 2 ** 20} MiB`;
  const rows: string[][] = [['Figure', ...names.map((k) => s(k).label), ...(vsR ? ['Strongroom / rclone'] : []), ...(vsA ? ['Strongroom / Apache'] : [])]];
  const ratioCells = (f: Figure): string[] => [...(vsR ? [x(vsR[f])] : []), ...(vsA ? [x(vsA[f])] : [])];
  const blank = [...(vsR ? [''] : []), ...(vsA ? [''] : [])];
  const describeCpu = (cpu: CpuPerUnit, digits: number): string => {
    const parts = Object.entries(cpu.byProcess);
    const detail = parts.length > 1 ? ` (${parts.map(([k, v]) => `${k} ${n(v, digits)}`).join(' + ')})` : '';
    return `${n(cpu.server, digits)}${detail}`;
  };
  const figure = (f: Figure, title: string, rate: (t: TargetSummary) => number, unit: string): void => {
    const small = SMALL.has(f);
    const digits = small ? 2 : 1;
    rows.push([title, ...names.map((k) => `${n(rate(s(k)))} ${unit}`), ...ratioCells(f)]);
    rows.push([`  server CPU, ${small ? 'ms per file' : 's per GiB'}`, ...names.map((k) => describeCpu(s(k).cpu[f], digits)), ...blank]);
    rows.push([`  client CPU, ${small ? 'ms per file' : 's per GiB'}`, ...names.map((k) => n(s(k).cpu[f].client, digits)), ...blank]);
  };
  figure('smallPut', `${c.smallCount} × ${c.smallBytes / 1024} KiB PUT`, (t) => t.smallPutFilesPerSec, 'files/s');
  figure('smallGet', `${c.smallCount} × ${c.smallBytes / 1024} KiB GET`, (t) => t.smallGetFilesPerSec, 'files/s');
  figure('largePut', `${size} PUT`, (t) => t.largePutMBps, 'MB/s');
  figure('largeGet', `${size} GET (warm)`, (t) => t.largeGetMBps, 'MB/s');
  if (names.some((k) => s(k).readableAfterLargePutSeconds !== undefined)) {
    rows.push([`${size} PUT → readable (scan)`, ...names.map((k) => (s(k).readableAfterLargePutSeconds === undefined ? 'at once' : `${n(s(k).readableAfterLargePutSeconds, 1)} s`)), ...blank]);
  }
  return rows;
}
