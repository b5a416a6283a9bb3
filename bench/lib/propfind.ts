// PROPFIND Depth 1 over a collection of 10,000 documents, timed from a separate client (curl),
// in-process on a fresh SQLite vault. The rows are written straight into the database: uploading
// 10,000 files would measure clamd, not PROPFIND.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/config.js';
import { buildApp } from '../../src/http/app.js';
import { serverExtensions } from '../../src/server.js';
import type { Insertable } from 'kysely';
import type { DocumentsTable, VersionsTable } from '../../src/db/schema.js';
import { openVault } from '../../src/main.js';
import { systemActor } from '../../src/services/identity.service.js';

const run = promisify(execFile);

export interface PropfindRun {
  documents: number;
  namedPropsMs: number[];
  allpropMs: number[];
}

export async function propfindTimes(dataDir: string, count = 10_000, repeats = 5): Promise<PropfindRun> {
  const config = loadConfig({ env: { STRONGROOM_LOG_LEVEL: 'silent', STRONGROOM_CLAMD: '/nonexistent/clamd.sock' }, flags: { data: dataDir } });
  const vault = await openVault(config, { create: true, logger: pino({ level: 'silent' }) });
  const app = await buildApp(vault, { extensions: serverExtensions });
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as { port: number }).port;
    const system = systemActor();
    const org = await vault.organisations.addOrganisation(system, { slug: 'propfind', name: 'PROPFIND Council' });
    const collection = await vault.collectionCreation.create(system, { organisationId: org.id, name: 'finance', serviceArea: 'finance', classification: 'OFFICIAL' });
    const { user } = await vault.userCreation.addUser(system, { organisationSlug: 'propfind', email: 'f@propfind.test', name: 'F', roles: ['member'], teams: ['finance'], clearance: 'OFFICIAL', password: 'a-long-bench-passphrase' });
    const { secret } = await vault.credentials.createCredential(system, user.id, 'app_password', 'bench');
    const now = new Date().toISOString();
    for (let start = 0; start < count; start += 500) {
      const docs: Insertable<DocumentsTable>[] = [];
      const versions: Insertable<VersionsTable>[] = [];
      for (let i = start; i < Math.min(start + 500, count); i++) {
        const id = randomUUID();
        const versionId = randomUUID();
        docs.push({ id, organisation_id: org.id, collection_id: collection.id, name: `file-${String(i).padStart(5, '0')}.txt`, name_key: `file-${String(i).padStart(5, '0')}.txt`, classification: 'OFFICIAL', service_area: 'finance', status: 'available', current_version: 1, current_version_id: versionId, legal_hold: 0, arrangement_id: null, created_at: now, updated_at: now, deleted_at: null });
        versions.push({ id: versionId, document_id: id, organisation_id: org.id, number: 1, size: 1234, sha256: 'ab'.repeat(32), media_type: 'text/plain', blob_id: '0'.repeat(32), wrapped_key: null, key_id: 'k', scan_status: 'clean', scan_detail: null, scan_engine: null, scanned_at: now, author_id: user.id, created_at: now });
      }
      await vault.store.db.transaction().execute(async (trx) => {
        await trx.insertInto('documents').values(docs).execute();
        await trx.insertInto('versions').values(versions).execute();
      });
    }
    const named = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontentlength/><D:getlastmodified/><D:getetag/><D:getcontenttype/></D:prop></D:propfind>';
    const time = async (body: string): Promise<number[]> => {
      const times: number[] = [];
      for (let i = 0; i <= repeats; i++) {
        const { stdout } = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{time_total}', '-X', 'PROPFIND', '-H', 'Depth: 1', '-u', `f@propfind.test:${secret}`,
          ...(body ? ['--data-binary', body, '-H', 'Content-Type: application/xml'] : []), `http://127.0.0.1:${port}/dav/propfind/finance/`]);
        const [status, seconds] = stdout.trim().split(' ');
        if (status !== '207') throw new Error(`PROPFIND answered ${status}`);
        if (i > 0) times.push(Math.round(Number(seconds) * 1000)); // the first run warms caches
      }
      return times;
    };
    return { documents: count, namedPropsMs: await time(named), allpropMs: await time('') };
  } finally {
    await app.close();
    await vault.close();
  }
}
