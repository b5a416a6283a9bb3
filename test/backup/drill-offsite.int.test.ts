// The restore drill checks the restored log against the offsite checkpoints; whoever can delete them
// (the offsite folder, the replica bucket's checkpoints/) must not turn that check into one against
// nothing. The backup holds the signer's own copy of its last checkpoint, which the signer wrote
// offsite before anywhere else: if no offsite copy of it is left, the drill fails and says why.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeBackup } from '../../src/backup.js';
import { restoreDrill } from '../../src/backup-restore-drill.js';
import { loadConfig } from '../../src/config/config.js';
import { openCheckpoint } from '../../src/domain/audit/signed-note.js';
import { auditLastCheckpointPath } from '../../src/compose/audit-keys.js';
import { openVault, type Vault } from '../../src/main.js';
import { createOrganisation } from '../support/vault.js';

const silent = pino({ level: 'silent' });

describe('the restore drill without the offsite checkpoints', () => {
  let work: string;
  let vault: Vault;
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'sr-drill-offsite-'));
    const config = loadConfig({ env: {
      STRONGROOM_CLAMD: path.join(work, 'no-clamd.sock'), STRONGROOM_LOG_LEVEL: 'silent', STRONGROOM_OFFSITE: path.join(work, 'offsite'),
      STRONGROOM_REPLICA: path.join(work, 'replica'), STRONGROOM_DATA: path.join(work, 'data'), STRONGROOM_BACKUP: 'off',
    } });
    vault = await openVault(config, { create: true, logger: silent, startClamd: false });
  });
  afterAll(async () => {
    await vault?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('passes with them, and fails naming the missing checkpoint once they are deleted', { timeout: 20_000 }, async () => {
    await createOrganisation(vault);
    await vault.audit.sequencer.flush();
    const from = path.join(work, 'backup');
    await takeBackup(vault, from);
    const signerNote = await readFile(auditLastCheckpointPath(vault.config.dataDir), 'utf8');
    const size = openCheckpoint(signerNote, vault.audit.proofs.verifierKey).treeSize;

    const before = await restoreDrill(vault, { from, sample: 1, logger: silent });
    expect(before.report.audit.ok).toBe(true);

    await rm(path.join(vault.config.offsiteDir, 'audit-checkpoints'), { recursive: true, force: true });
    await rm(path.join(vault.config.offsiteDir, 'audit-newest-checkpoint.note'), { force: true });
    const after = await restoreDrill(vault, { from, sample: 1, logger: silent });
    expect(after.report.passed).toBe(false);
    expect(after.report.audit).toMatchObject({
      ok: false,
      problem: `The backup's last signed checkpoint (${size} events, the signer's own copy in the backup) is in none of the offsite copies (${vault.config.offsiteDir}): they were deleted, or are not where this vault kept them, so the restored log was not checked against them.`,
    });
  });
});
