// The supervised clamd as the vault composes it: a thread for each scan job the worker runs at once
// (STRONGROOM_SCAN_JOBS_AT_ONCE) and one more, so the uploads' inline scans never queue behind large files' segments.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { PROJECT_ROOT } from '../main.js';
import { composeScanner } from './scanner.js';

describe('composeScanner', () => {
  it('gives our clamd one thread more than the scan jobs run at once', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'sr-compose-scanner-'));
    try {
      for (const [jobs, threads] of [['2', '3'], ['5', '6']] as const) {
        const config = loadConfig({ env: { STRONGROOM_DATA: dataDir, ...(jobs === '2' ? {} : { STRONGROOM_SCAN_JOBS_AT_ONCE: jobs }) } });
        const { supervisor } = await composeScanner({ config, logger: pino({ level: 'silent' }), signaturesDir: path.join(PROJECT_ROOT, 'assets', 'clamav'), startClamd: true });
        try {
          expect(/^MaxThreads (\d+)$/m.exec(await readFile(supervisor!.configPath, 'utf8'))?.[1]).toBe(threads);
        } finally {
          await supervisor?.stop();
        }
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
