// Starts a real clamd (through ClamdSupervisor, in a throwaway directory) for integration tests,
// and lets a test stop, restart or kill it to see how callers cope.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ClamdScanner, type ClamdScannerOptions } from '../../src/integrations/clamd.scanner.js';
import { ClamdSupervisor, type ClamdSupervisorOptions } from '../../src/integrations/clamd.supervisor.js';

export const CLAMD_PATH = '/usr/sbin/clamd';

export interface TestClamd {
  socketPath: string;
  stateDir: string;
  supervisor: ClamdSupervisor;
  /** A scanner for this clamd; its maxStreamBytes defaults to the daemon's StreamMaxLength. */
  scanner(options?: Omit<ClamdScannerOptions, 'socketPath'>): ClamdScanner;
  /** Stops clamd and deletes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts clamd with our shipped signatures in a fresh temporary directory. Works in a test
 * file's beforeAll and in a vitest globalSetup (return `stop` as the teardown).
 */
export async function startTestClamd(options: Partial<Omit<ClamdSupervisorOptions, 'stateDir'>> = {}): Promise<TestClamd> {
  // Short path: a Unix socket path must fit in 107 bytes.
  const stateDir = await mkdtemp(path.join(tmpdir(), 'sr-clamd-'));
  const supervisor = new ClamdSupervisor({
    stateDir,
    clamdPath: CLAMD_PATH,
    startTimeoutMs: 60_000,
    restartDelayMs: { initial: 200, max: 2000 },
    stopGraceMs: 2000,
    ...options,
  });
  try {
    await supervisor.start();
  } catch (error) {
    await rm(stateDir, { recursive: true, force: true });
    throw error;
  }
  return {
    socketPath: supervisor.socketPath,
    stateDir,
    supervisor,
    scanner: (scannerOptions = {}) =>
      new ClamdScanner({ socketPath: supervisor.socketPath, maxStreamBytes: supervisor.maxStreamBytes, versionSuffix: () => supervisor.signaturesVersion, ...scannerOptions }),
    async stop() {
      await supervisor.stop();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** Stops the daemon but keeps the directory, so startClamd() can bring it back. */
export async function stopClamd(clamd: TestClamd): Promise<void> {
  await clamd.supervisor.stop();
}

export async function startClamd(clamd: TestClamd): Promise<void> {
  await clamd.supervisor.start();
}

/** Kills clamd behind the supervisor's back (as a crash would); the supervisor should restart it. */
export function killClamd(clamd: TestClamd, signal: NodeJS.Signals = 'SIGKILL'): number {
  const pid = clamd.supervisor.pid;
  if (pid === undefined) throw new Error('clamd is not running');
  process.kill(pid, signal);
  return pid;
}
