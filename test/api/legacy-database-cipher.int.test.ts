// A data directory written before 3 December 2026, when the embedded database was encrypted with
// ChaCha20-Poly1305, opens under this version: its database is converted to AEGIS-256 at the first
// open, and every document, its content and its audit trail are there afterwards
// (docs/architecture.md "The database's page cipher"). SQLite only: PostgreSQL is not encrypted by us.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { deriveKey, loadMasterKey } from '../../src/storage/keys.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { auth, createOrganisation, openTestVault, upload } from '../support/vault.js';

describe('a data directory whose database predates the AEGIS cipher', () => {
  let clamd: TestClamd;
  let dir: string;
  beforeAll(async () => {
    clamd = await startTestClamd();
    dir = await mkdtemp(path.join(tmpdir(), 'sr-legacy-cipher-'));
  });
  afterAll(async () => {
    await clamd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('is converted at the first open and keeps every document, its content and its audit events', async () => {
    const body = Buffer.from('Payslip, November 2026: J. Bloggs\n'.repeat(200));
    const first = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, dataDir: dir });
    let user;
    let documentId: string;
    let events: number;
    try {
      const org = await createOrganisation(first.vault);
      user = await org.user({ teams: ['payroll'] });
      const stored = await upload(first.app, user, org.collections.payroll!, 'payslip.txt', body);
      expect(stored.statusCode).toBe(201);
      documentId = stored.json().id as string;
      events = (await first.vault.store.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;
    } finally {
      await first.close();
    }

    // Rewrite the file as the earlier version kept it: ChaCha20-Poly1305, the key's hex as a passphrase.
    const file = path.join(dir, 'strongroom.db');
    const hex = deriveKey(await loadMasterKey({ dataDir: dir, create: false }), 'sqlite-database').toString('hex');
    const rewrite = new Database(file);
    rewrite.pragma(`cipher = 'aegis'`);
    rewrite.pragma(`algorithm = 'aegis-256'`);
    rewrite.pragma(`key = 'raw:${hex}'`);
    rewrite.pragma('journal_mode = DELETE');
    rewrite.pragma(`cipher = 'chacha20'`);
    rewrite.pragma(`hexrekey = '${hex}'`);
    rewrite.pragma('journal_mode = WAL');
    rewrite.close();
    const legacy = new Database(file);
    legacy.pragma(`cipher = 'chacha20'`);
    legacy.pragma(`hexkey = '${hex}'`);
    expect(legacy.prepare('select count(*) as n from documents').get()).toEqual({ n: 1 });
    legacy.close();

    const second = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, dataDir: dir });
    try {
      const content = await second.app.inject({ method: 'GET', url: `/api/v1/documents/${documentId}/content`, headers: auth(user) });
      expect(content.statusCode).toBe(200);
      expect(content.rawPayload.equals(body)).toBe(true);
      const after = (await second.vault.store.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;
      expect(after).toBeGreaterThan(events); // the download's event joined the ones from before
      expect((await second.vault.audit.verification.verify(systemActor())).ok).toBe(true);
    } finally {
      await second.close();
    }
    const converted = new Database(file);
    converted.pragma(`cipher = 'aegis'`);
    converted.pragma(`algorithm = 'aegis-256'`);
    converted.pragma(`key = 'raw:${hex}'`);
    expect(converted.prepare('select count(*) as n from documents').get()).toEqual({ n: 1 });
    converted.close();
  });
});
