// Group commit and the audit signer (docs/architecture.md "Durability"): a checkpoint is copied outside
// the database (the offsite folder, the signer's own file) only once the events it signs are on disk.
// Sequencing commits a batch and then waits for its sync; a checkpoint signed meanwhile (flush() racing
// the sequencing timer) must wait too, or a crash would leave the database behind a published checkpoint
// and the next start would raise the integrity alarm over a log nobody touched.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { syncGate } from '../support/sync-gate.js';
import { DIALECTS, createOrganisation, openTestVault, type TestOrganisation, type TestVault } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('audit checkpoints wait for durability on %s', (dialect) => {
  const gate = syncGate();
  let t: TestVault;
  let org: TestOrganisation;
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, syncDatabaseLog: gate.sync });
    org = await createOrganisation(t.vault);
    await t.vault.audit.sequencer.flush();
  });
  afterAll(async () => {
    gate.release();
    await t?.close();
  });

  /** The tree sizes signed in the offsite folder, largest last. */
  async function offsiteSizes(): Promise<number[]> {
    const folder = path.join(`${t.dataDir}-offsite`, 'audit-checkpoints');
    return (await readdir(folder)).filter((n) => n.endsWith('.note')).map((n) => Number(n.slice(0, 12))).sort((a, b) => a - b);
  }
  const treeSize = () => t.vault.store.repos.audit.treeSize();

  it('copies no checkpoint offsite over sequenced events whose sync is still under way', async () => {
    const signedBefore = (await offsiteSizes()).at(-1)!;
    expect(signedBefore).toBe(await treeSize());
    await org.user({}); // audited: user.create and a credential, not yet sequenced
    const askedBefore = gate.asked;
    gate.hold();
    const sequencing = t.vault.audit.sequencer.integrate();
    await expect.poll(treeSize, { timeout: 10_000, interval: 20 }).toBeGreaterThan(signedBefore);
    const sequenced = await treeSize();
    const signing = t.vault.audit.sequencer.checkpointIfDue(true);
    if (dialect === 'postgres') {
      // Each commit already waited for PostgreSQL's own WAL flush: nothing to wait for, no sync asked.
      expect(await signing).not.toBeNull();
      expect((await offsiteSizes()).at(-1)).toBe(sequenced);
      expect(gate.asked).toBe(askedBefore);
    } else {
      await expect.poll(() => gate.held, { timeout: 10_000, interval: 20 }).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await offsiteSizes(), 'a checkpoint left the database before the events it signs were on disk').not.toContain(sequenced);
      expect((await offsiteSizes()).at(-1)).toBe(signedBefore);
      gate.release();
      expect(await signing).not.toBeNull();
      expect((await offsiteSizes()).at(-1)).toBe(sequenced);
    }
    gate.release();
    expect(await sequencing).toBe(sequenced - signedBefore);
  });
});
