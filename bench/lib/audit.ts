// The audit log's sequencing rate, measured in-process on a fresh SQLite vault: insert N pending
// events (as the services do, in batches), then time AuditSequencerService.integrate(), which hashes each
// event into the Merkle tree, stores the tree nodes and signs a checkpoint.
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/config.js';
import type { PendingAuditEvent } from '../../src/db/repos/audit.repo.js';
import { openVault } from '../../src/main.js';

export interface AuditRun {
  events: number;
  treeSizeBefore: number;
  insertSeconds: number;
  integrateSeconds: number;
  eventsPerSec: number;
}

export async function auditRates(dataDir: string, rounds: number[]): Promise<AuditRun[]> {
  const config = loadConfig({ env: { STRONGROOM_LOG_LEVEL: 'silent' }, flags: { data: dataDir } });
  const vault = await openVault(config, { create: true, startClamd: false, logger: pino({ level: 'silent' }) });
  const runs: AuditRun[] = [];
  try {
    const org = randomUUID();
    const user = randomUUID();
    // Opening a fresh vault records events of its own (its keys, its start): sequence those first,
    // so each round times exactly the events it inserted.
    let treeSize = 0;
    for (let got = await vault.audit.sequencer.integrate(); got > 0; got = await vault.audit.sequencer.integrate()) treeSize += got;
    for (const n of rounds) {
      const events: PendingAuditEvent[] = Array.from({ length: n }, (_, i) => ({
        time: new Date().toISOString(), actorUserId: user, actorOrganisationId: org, action: i % 2 ? 'document.download' : 'document.upload',
        targetOrganisationId: org, targetIds: { documentId: randomUUID(), versionId: randomUUID() }, decision: 'allow', reason: 'member',
        arrangementId: null, channel: 'api', clientAddress: '127.0.0.1', requestId: `req-${i}`,
      }));
      let started = process.hrtime.bigint();
      for (let i = 0; i < events.length; i += 500) await vault.store.repos.audit.insert(events.slice(i, i + 500));
      const insertSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      started = process.hrtime.bigint();
      let integrated = 0;
      while (integrated < n) {
        const got = await vault.audit.sequencer.integrate();
        if (got === 0) break;
        integrated += got;
      }
      const integrateSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (integrated !== n) throw new Error(`audit integrate sequenced ${integrated} of ${n} events`);
      runs.push({ events: n, treeSizeBefore: treeSize, insertSeconds, integrateSeconds, eventsPerSec: n / integrateSeconds });
      treeSize += n;
    }
  } finally {
    await vault.close();
  }
  return runs;
}
