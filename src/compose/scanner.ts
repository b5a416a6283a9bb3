// The malware scanner: an existing clamd (STRONGROOM_CLAMD), or our own clamd under a supervisor in
// the data directory, started here unless another process on this data directory already runs one.
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { ClamdScanner } from '../integrations/clamd.scanner.js';
import { ClamdSupervisor } from '../integrations/clamd.supervisor.js';

export interface ScannerParts {
  config: Config;
  logger: Logger;
  /** Where our clamd's own signatures are (assets/clamav). */
  signaturesDir: string;
  /** main.ts OpenVaultOptions.startClamd. */
  startClamd: boolean | 'unless-running' | undefined;
}

/** The scanner every scan goes through, and the supervisor of our own clamd (null when STRONGROOM_CLAMD names one). */
export async function composeScanner({ config, logger, signaturesDir, startClamd }: ScannerParts): Promise<{ scanner: ClamdScanner; supervisor: ClamdSupervisor | null }> {
  let supervisor: ClamdSupervisor | null = null;
  let scanner: ClamdScanner;
  // No stream to clamd is longer than the whole-scan limit (larger versions go in segments), so
  // clamd's tmpfs holds at most that per stream, plus what it unpacks (MaxScanSize, twice it).
  // Small files (up to a megabyte) go over kept clamd sessions: no connection per upload.
  const keptSessions = {};
  if (config.clamd) {
    scanner = new ClamdScanner({ ...parseClamdAddress(config.clamd), maxStreamBytes: config.scanWholeMaxBytes, keptSessions });
  } else {
    const own = new ClamdSupervisor({
      stateDir: path.join(config.dataDir, 'clamd'), signaturesDir, logger,
      ...(config.clamavDatabaseDir ? { officialDatabaseDir: config.clamavDatabaseDir } : {}),
      maxStreamBytes: config.scanWholeMaxBytes, maxScanBytes: 2 * config.scanWholeMaxBytes, concurrentStreams: config.scanStreamsTotal,
      // A thread for each scan job the worker runs at once, and one more, so uploads scanned before they are
      // answered do not wait for a large file's segment to finish.
      maxThreads: config.scanJobsAtOnce + 1,
    });
    supervisor = own;
    scanner = new ClamdScanner({ socketPath: own.socketPath, maxStreamBytes: own.maxStreamBytes, versionSuffix: () => own.signaturesVersion, keptSessions });
    // A one-shot command (import) beside a running server uses that server's clamd rather than
    // starting a second one in the same directory (which would replace the server's).
    const reuse = startClamd === 'unless-running' && (await scanner.ping());
    if (startClamd && !reuse) await own.start();
  }
  return { scanner, supervisor };
}

export function parseClamdAddress(value: string): { socketPath: string } | { host: string; port: number } {
  const tcp = /^([^:/]+):(\d+)$/.exec(value);
  return tcp ? { host: tcp[1]!, port: Number(tcp[2]) } : { socketPath: value };
}
