// Runs our own clamd as a child process (not a system service): prepares its state directory
// (config from clamd.config.ts, signatures from clamd.signatures.ts), keeps its scratch space on
// tmpfs, waits until it answers PING, restarts it with backoff when it dies, and stops it with us.
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderClamdConfig } from './clamd.config.js';
import { CLAMD_MAX_FILE_BYTES, ClamdScanner, DEFAULT_MAX_STREAM_BYTES } from './clamd.scanner.js';
import { digestSignatures, syncSignatureDatabases } from './clamd.signatures.js';
import { startProgram, type ProgramExit, type RunningProgram } from './process.js';

/** Structured logger; pino's satisfies it. */
export interface ServiceLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const silentLogger: ServiceLogger = { info() {}, warn() {}, error() {} };

/** sun_path is 108 bytes on Linux, including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

export interface ClamdSupervisorOptions {
  /** Where config, socket, log, pid file and signature databases live, e.g. `<dataDir>/clamd`. */
  stateDir: string;
  clamdPath?: string;
  /** Our shipped signatures (default: the repository's assets/clamav). */
  signaturesDir?: string;
  /**
   * Where freshclam keeps the official databases (e.g. /var/lib/clamav). When set, its
   * *.cvd/*.cld/*.cud files are used as well as ours. Off by default: they take ~1 GB of memory
   * and 10–30 s to load, and an offline machine has none.
   */
  officialDatabaseDir?: string;
  /** StreamMaxLength, and the scanner's `maxStreamBytes` (default 2000 MiB; at most 2 GiB - 3). */
  maxStreamBytes?: number;
  /**
   * MaxScanSize and MaxFileSize: a stream plus everything unpacked from it. Default and ceiling
   * 2 GiB - 3 (clamd's own ceiling for MaxFileSize); at least maxStreamBytes. An archive whose
   * size plus contents exceed it is reported unavailable ("exceeds scanner limits").
   */
  maxScanBytes?: number;
  /** Concurrent scans (MaxThreads). Each may hold up to maxScanBytes (stream plus unpacked files) on tmpfs. */
  maxThreads?: number;
  /**
   * Most streams our clients hold open at once (the fair scanner's total). clamd spools every
   * open stream while it arrives, whatever MaxThreads, so the scratch tmpfs must have room for this
   * many times maxScanBytes: start() refuses a tmpfs with less free space. Unset: only a warning
   * when not even one maximum-size stream fits.
   */
  concurrentStreams?: number;
  /** MaxScanTime. A scan that runs out of time is reported as unavailable, never clean. */
  maxScanTimeMs?: number;
  /**
   * Reload signatures beside the running engine (clamd's default). Scans never wait, but memory
   * briefly doubles: ~1 GB more with the official databases. Turn off on small machines; scans
   * then pause for the reload (about IdleTimeout plus the load time).
   */
  concurrentDatabaseReload?: boolean;
  /** Where the private scratch directory is made; must be tmpfs so plaintext never reaches a disk. */
  tmpfsDir?: string;
  /** Run clamd as this user (only possible when we are root), so a parser bug in it cannot read our keys. */
  runAs?: { uid: number; gid: number };
  /** How long to wait for the first PING answer (official databases take a while to load). */
  startTimeoutMs?: number;
  restartDelayMs?: { initial: number; max: number };
  /** Time between SIGTERM and SIGKILL when stopping. */
  stopGraceMs?: number;
  logger?: ServiceLogger;
}

type ClamdState = 'stopped' | 'starting' | 'ready' | 'restarting';

export class ClamdSupervisor {
  readonly socketPath: string;
  readonly configPath: string;
  readonly logPath: string;
  readonly maxStreamBytes: number;
  private readonly opts: Required<Omit<ClamdSupervisorOptions, 'officialDatabaseDir' | 'runAs' | 'concurrentStreams'>> & Pick<ClamdSupervisorOptions, 'officialDatabaseDir' | 'runAs' | 'concurrentStreams'>;
  private readonly databaseDir: string;
  private readonly pidPath: string;
  private readonly tmpRecordPath: string;
  private temporaryDir: string | undefined;
  private child: RunningProgram | undefined;
  private state: ClamdState = 'stopped';
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelay: number;
  private startedAt = 0;
  private launching = false;
  /** Where this launch's lines start in clamd.log, so errors quote this run and not the last. */
  private logOffset = 0;
  private signatures = '';
  private readonly killOnExit = (): void => {
    // Last resort if our process exits without stop(): clamd is not to outlive us.
    const pid = this.child?.pid;
    if (pid !== undefined && this.child?.running) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };

  constructor(options: ClamdSupervisorOptions) {
    const stateDir = path.resolve(options.stateDir);
    const maxStreamBytes = options.maxStreamBytes ?? DEFAULT_MAX_STREAM_BYTES;
    if (!Number.isInteger(maxStreamBytes) || maxStreamBytes < 1024 || maxStreamBytes > CLAMD_MAX_FILE_BYTES) {
      throw new RangeError(`maxStreamBytes must be between 1 KiB and ${CLAMD_MAX_FILE_BYTES} bytes (clamd cannot scan more)`);
    }
    const maxScanBytes = options.maxScanBytes ?? CLAMD_MAX_FILE_BYTES;
    if (!Number.isInteger(maxScanBytes) || maxScanBytes < maxStreamBytes || maxScanBytes > CLAMD_MAX_FILE_BYTES) {
      throw new RangeError(`maxScanBytes must be between maxStreamBytes (${maxStreamBytes}) and ${CLAMD_MAX_FILE_BYTES} bytes`);
    }
    this.opts = {
      stateDir,
      clamdPath: options.clamdPath ?? '/usr/sbin/clamd',
      signaturesDir: options.signaturesDir ?? fileURLToPath(new URL('../../assets/clamav/', import.meta.url)),
      officialDatabaseDir: options.officialDatabaseDir,
      maxStreamBytes,
      maxScanBytes,
      maxThreads: options.maxThreads ?? 2,
      concurrentStreams: options.concurrentStreams,
      maxScanTimeMs: options.maxScanTimeMs ?? 300_000,
      concurrentDatabaseReload: options.concurrentDatabaseReload ?? true,
      tmpfsDir: options.tmpfsDir ?? '/dev/shm',
      runAs: options.runAs,
      startTimeoutMs: options.startTimeoutMs ?? 120_000,
      restartDelayMs: options.restartDelayMs ?? { initial: 1000, max: 30_000 },
      stopGraceMs: options.stopGraceMs ?? 5000,
      logger: options.logger ?? silentLogger,
    };
    this.maxStreamBytes = maxStreamBytes;
    this.socketPath = path.join(stateDir, 'clamd.sock');
    if (Buffer.byteLength(this.socketPath) > MAX_SOCKET_PATH) {
      throw new RangeError(`clamd socket path is longer than ${MAX_SOCKET_PATH} bytes (${this.socketPath}); use a shorter data directory`);
    }
    this.configPath = path.join(stateDir, 'clamd.conf');
    this.logPath = path.join(stateDir, 'clamd.log');
    this.databaseDir = path.join(stateDir, 'db');
    this.pidPath = path.join(stateDir, 'clamd.pid');
    this.tmpRecordPath = path.join(stateDir, 'tmpdir');
    this.restartDelay = this.opts.restartDelayMs.initial;
  }

  /**
   * A digest of our own signature files, for ClamdScanner's `versionSuffix` (pass
   * `() => supervisor.signaturesVersion`): clamd's VERSION only reports the official databases,
   * so without it a change to strongroom.ndb would not trigger rescans.
   */
  get signaturesVersion(): string {
    // Computed on first use too, so it is right even when read before start().
    if (!this.signatures) {
      try {
        this.signatures = digestSignatures(this.opts.signaturesDir);
      } catch {
        return ''; // start() reports the missing directory properly
      }
    }
    return this.signatures;
  }

  /** Process id of the running clamd, if any (tests use it to kill clamd behind our back). */
  get pid(): number | undefined {
    return this.child?.running ? this.child.pid : undefined;
  }

  /** Prepares everything and resolves once clamd answers PING. */
  async start(): Promise<void> {
    if (this.state !== 'stopped') throw new Error(`clamd supervisor is already ${this.state}`);
    this.state = 'starting';
    try {
      await this.prepare();
      process.on('exit', this.killOnExit);
      await this.launch();
      this.state = 'ready';
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Stops clamd (SIGTERM, then SIGKILL) and removes its scratch directory. Safe to call twice. */
  async stop(): Promise<void> {
    this.state = 'stopped';
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.child;
    this.child = undefined;
    if (child) await child.stop(this.opts.stopGraceMs);
    process.removeListener('exit', this.killOnExit);
    if (this.temporaryDir) {
      await rm(this.temporaryDir, { recursive: true, force: true });
      this.temporaryDir = undefined;
      await rm(this.tmpRecordPath, { force: true });
    }
  }

  /** Resolves when clamd answers PING (e.g. after a restart), or rejects after `timeoutMs`. */
  async whenReady(timeoutMs = this.opts.startTimeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const probe = new ClamdScanner({ socketPath: this.socketPath, connectTimeoutMs: 1000, idleTimeoutMs: 2000 });
    for (;;) {
      if (this.state === 'stopped') throw new Error('clamd supervisor is stopped');
      if (await probe.ping()) return;
      if (Date.now() > deadline) throw new Error(`clamd did not answer PING within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  /** Re-copies the signature databases and asks clamd to reload them now rather than at SelfCheck. */
  async reloadDatabases(): Promise<void> {
    await this.syncDatabases();
    await new ClamdScanner({ socketPath: this.socketPath }).reload();
  }

  // -------------------------------------------------------------------------------------------

  private async prepare(): Promise<void> {
    await mkdir(this.opts.stateDir, { recursive: true, mode: 0o700 });
    await mkdir(this.databaseDir, { recursive: true, mode: 0o700 });
    await this.killOrphan();
    await this.syncDatabases();
    this.temporaryDir = await this.makeTemporaryDir();
    await writeFile(
      this.configPath,
      renderClamdConfig({
        socketPath: this.socketPath,
        databaseDir: this.databaseDir,
        temporaryDir: this.temporaryDir,
        logFile: this.logPath,
        pidFile: this.pidPath,
        maxStreamBytes: this.opts.maxStreamBytes,
        maxScanBytes: this.opts.maxScanBytes,
        maxThreads: this.opts.maxThreads,
        maxScanTimeMs: this.opts.maxScanTimeMs,
        concurrentDatabaseReload: this.opts.concurrentDatabaseReload,
      }),
      { mode: 0o600 },
    );
    const runAs = this.opts.runAs;
    if (runAs) {
      for (const p of [this.opts.stateDir, this.databaseDir, this.configPath, this.temporaryDir]) await chown(p, runAs.uid, runAs.gid);
      for (const name of await readdir(this.databaseDir)) await chown(path.join(this.databaseDir, name), runAs.uid, runAs.gid);
      for (const p of [this.logPath, this.pidPath]) if (existsSync(p)) await chown(p, runAs.uid, runAs.gid);
    }
    if (process.getuid?.() === 0 && !runAs) {
      this.opts.logger.warn({ stateDir: this.opts.stateDir }, 'clamd will run as root and parse untrusted files as root; set runAs to a dedicated user');
    }
  }

  /** A clamd left running by a previous process of ours that died without stopping it. */
  private async killOrphan(): Promise<void> {
    let pid: number;
    try {
      pid = Number.parseInt(await readFile(this.pidPath, 'utf8'), 10);
    } catch {
      return;
    }
    if (!Number.isInteger(pid) || pid <= 1) return;
    try {
      // Only a clamd started with our config file: a recycled pid must not be killed.
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!cmdline.includes(this.configPath)) return;
      this.opts.logger.warn({ pid }, 'stopping a clamd left over from a previous run');
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 50 && existsSync(`/proc/${pid}`); i++) await sleep(100);
      if (existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL');
    } catch {
      // not running, or not ours
    }
  }

  /** Makes the database directory hold exactly our signatures (plus the official ones, if enabled). */
  private async syncDatabases(): Promise<void> {
    this.signatures = await syncSignatureDatabases({
      signaturesDir: this.opts.signaturesDir,
      officialDatabaseDir: this.opts.officialDatabaseDir,
      databaseDir: this.databaseDir,
      warn: (obj, msg) => this.opts.logger.warn(obj, msg),
    });
  }

  /**
   * A fresh private directory on tmpfs for clamd's spool files (the plaintext of every scanned
   * stream). The previous run's, if its process died, is removed first.
   */
  private async makeTemporaryDir(): Promise<string> {
    try {
      const previous = (await readFile(this.tmpRecordPath, 'utf8')).trim();
      const info = await lstat(previous);
      if (info.isDirectory() && !info.isSymbolicLink() && info.uid === (this.opts.runAs?.uid ?? process.getuid?.())) {
        await rm(previous, { recursive: true, force: true });
      }
    } catch {
      // nothing left over
    }
    let base = this.opts.tmpfsDir;
    const tmpfs = await stat(base).then((s) => s.isDirectory()).catch(() => false);
    if (!tmpfs) {
      base = this.opts.stateDir;
      this.opts.logger.warn(
        { tmpfsDir: this.opts.tmpfsDir, fallback: base },
        'no tmpfs for clamd scratch files: scanned plaintext will be spooled to disk under the data directory',
      );
    }
    const dir = await mkdtemp(path.join(base, 'strongroom-clamd-'));
    await chmod(dir, 0o700);
    await writeFile(this.tmpRecordPath, dir, { mode: 0o600 });
    let free: number | undefined;
    try {
      const fs = await statfs(dir);
      free = fs.bavail * fs.bsize;
    } catch {
      // statfs failing is no reason not to start; clamd reports a full directory as an error (unavailable)
    }
    if (free !== undefined && this.opts.concurrentStreams !== undefined) {
      // Not even one maximum-size scan fits: large files could never be scanned, so refuse to start. Fewer
      // than the configured number fit: start (a small machine's /dev/shm is half its RAM, and the Quick
      // start must run there) and say so: a scan that finds the tmpfs full fails closed (unavailable, the
      // version stays pending_scan and is retried), it never passes unscanned.
      const none = tmpfsShortfall(dir, free, 1, this.opts.maxScanBytes);
      if (none) {
        await rm(dir, { recursive: true, force: true });
        await rm(this.tmpRecordPath, { force: true });
        throw new Error(none);
      }
      const some = tmpfsShortfall(dir, free, this.opts.concurrentStreams, this.opts.maxScanBytes);
      if (some) this.opts.logger.warn({ dir, freeBytes: free, concurrentStreams: this.opts.concurrentStreams, maxScanBytes: this.opts.maxScanBytes }, `${some}; until then, large scans beyond what fits fail and are retried`);
    } else if (free !== undefined && free < this.opts.maxStreamBytes) {
      this.opts.logger.warn(
        { dir, freeBytes: free, maxStreamBytes: this.opts.maxStreamBytes },
        'less free tmpfs space than one maximum-size stream: large scans will fail (unavailable) until it is enlarged',
      );
    }
    return dir;
  }

  /** Removes everything inside the scratch directory, keeping the directory (clamd.conf names it). */
  private async emptyTemporaryDir(): Promise<void> {
    const dir = this.temporaryDir;
    if (!dir) return;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      await rm(path.join(dir, name), { recursive: true, force: true });
    }
  }

  private async launch(): Promise<void> {
    this.launching = true;
    try {
      await this.launchOnce();
    } finally {
      this.launching = false;
    }
  }

  private async launchOnce(): Promise<void> {
    // A clamd killed mid-scan leaves that stream's plaintext spool file behind; nothing else would
    // delete it until we stop. The previous clamd is gone by now, so nothing in there is in use.
    await this.emptyTemporaryDir();
    const child = startProgram(this.opts.clamdPath, ['-c', this.configPath], {
      ...(this.opts.runAs ? { uid: this.opts.runAs.uid, gid: this.opts.runAs.gid } : {}),
      killGraceMs: this.opts.stopGraceMs,
      onLine: (line) => {
        if (/error|warning/i.test(line)) this.opts.logger.warn({ clamd: line }, 'clamd');
      },
    });
    this.child = child;
    this.startedAt = Date.now();
    this.logOffset = existsSync(this.logPath) ? (await stat(this.logPath)).size : 0;
    void child.exited.then((exit) => this.onExit(child, exit));

    const deadline = Date.now() + this.opts.startTimeoutMs;
    const probe = new ClamdScanner({ socketPath: this.socketPath, connectTimeoutMs: 1000, idleTimeoutMs: 2000 });
    for (;;) {
      if (!child.running) {
        const exit = await child.exited;
        throw new Error(
          `clamd exited during start-up (${exit.error ? exit.error.message : exit.signal ?? `code ${exit.code}`}): ${this.diagnostics(child)}`,
        );
      }
      if (await probe.ping()) break;
      if (Date.now() > deadline) throw new Error(`clamd did not answer PING within ${this.opts.startTimeoutMs} ms: ${this.diagnostics(child)}`);
      await sleep(100);
    }
    this.opts.logger.info({ pid: child.pid, ms: Date.now() - this.startedAt, socket: this.socketPath }, 'clamd ready');
  }

  private onExit(child: RunningProgram, exit: ProgramExit): void {
    if (this.child !== child || this.state === 'stopped') return; // stopped on purpose, or already replaced
    if (this.launching) return; // launch() reports it (and restart() schedules the next try)
    this.opts.logger.error({ code: exit.code, signal: exit.signal, output: this.diagnostics(child) }, 'clamd died; restarting');
    // Back off while it keeps dying; a run of a minute or more counts as healthy again.
    if (Date.now() - this.startedAt > 60_000) this.restartDelay = this.opts.restartDelayMs.initial;
    const delay = this.restartDelay;
    this.restartDelay = Math.min(this.opts.restartDelayMs.max, this.restartDelay * 2);
    this.state = 'restarting';
    this.restartTimer = setTimeout(() => void this.restart(), delay);
  }

  private async restart(): Promise<void> {
    this.restartTimer = undefined;
    if (this.state !== 'restarting') return;
    try {
      await this.launch();
      if (this.state === 'restarting') this.state = 'ready';
    } catch (error) {
      if (this.state !== 'restarting') return;
      this.opts.logger.error({ error: String(error) }, 'clamd restart failed');
      // Detach the failed child first so its exit handler does not schedule a second restart.
      const child = this.child;
      this.child = undefined;
      if (child?.running) await child.stop(this.opts.stopGraceMs);
      if (this.state !== 'restarting') return;
      const delay = this.restartDelay;
      this.restartDelay = Math.min(this.opts.restartDelayMs.max, this.restartDelay * 2);
      this.restartTimer = setTimeout(() => void this.restart(), delay);
    }
  }

  private diagnostics(child: RunningProgram): string {
    let log = '';
    try {
      log = readFileSync(this.logPath).subarray(this.logOffset).toString('utf8').split('\n').slice(-15).join('\n');
    } catch {
      // no log yet
    }
    return `${child.outputTail().slice(-2000)}\n--- ${this.logPath} ---\n${log}`.trim();
  }
}

/**
 * Why a scratch tmpfs with `freeBytes` free cannot hold `streams` scans of up to `perScanBytes`
 * each (null: it can). Exported for tests.
 */
export function tmpfsShortfall(dir: string, freeBytes: number, streams: number, perScanBytes: number): string | null {
  const needed = streams * perScanBytes;
  if (freeBytes >= needed) return null;
  const mib = (n: number): string => `${Math.floor(n / (1024 * 1024))} MiB`;
  return `clamd's scratch space ${dir} has ${mib(freeBytes)} free, but ${streams} scans at once may spool up to ${mib(perScanBytes)} each (${mib(needed)}): `
    + 'enlarge the tmpfs, or lower STRONGROOM_SCAN_STREAMS_TOTAL or STRONGROOM_SCAN_WHOLE_MAX_BYTES';
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
