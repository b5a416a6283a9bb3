// Every way new content comes in (REST upload, REST new version, WebDAV PUT of a new file and over an
// existing one, REST copy) commits exactly twice on both dialects: the admission slot, then the write,
// which also gives the slot back. A release in a commit of its own (as before) fails here. And every
// way out, stored or refused, leaves no slot held. The jobs an upload queues commit once each, their
// completion with their result. Statements are recorded below Kysely (prepared
// statements on SQLite, client queries on PostgreSQL), per connection.
import Database from 'better-sqlite3-multiple-ciphers';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { eicar } from '../support/samples.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';
import { systemActor } from '../../src/services/identity.service.js';

const clamd = useClamd();

/** One statement, and the connection it ran on. */
interface Ran { source: string; connection: object }
let recording: Ran[] | null = null;

const sqlite = Database.prototype as unknown as { prepare(this: Database.Database, source: string): Record<string, unknown> };
const prepare = sqlite.prepare;
sqlite.prepare = function (this: Database.Database, source: string) {
  const statement = prepare.call(this, source);
  const connection = this;
  for (const method of ['run', 'get', 'all', 'iterate']) {
    const original = statement[method] as (...args: unknown[]) => unknown;
    statement[method] = function (this: unknown, ...args: unknown[]) {
      recording?.push({ source, connection });
      return original.apply(this, args);
    };
  }
  return statement;
};
const clientQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const first = args[0] as string | { text: string };
  recording?.push({ source: typeof first === 'string' ? first : first.text, connection: this });
  return clientQuery.apply(this, args);
} as typeof pg.Client.prototype.query;

/** The commits `work` made: each transaction that wrote, and each write outside one, as its statements. */
async function commitsOf(work: () => Promise<unknown>): Promise<string[][]> {
  recording = [];
  let ran: Ran[];
  try {
    await work();
  } finally {
    ran = recording;
    recording = null;
  }
  const open = new Map<object, string[]>();
  const commits: string[][] = [];
  const writes = (statements: string[]) => statements.some((s) => /^\s*(insert|update|delete)\b/i.test(s));
  for (const { source, connection } of ran) {
    const word = source.trim().toLowerCase();
    if (word === 'begin' || word.startsWith('begin ') || word.startsWith('start transaction')) open.set(connection, []);
    else if (word === 'commit') {
      const statements = open.get(connection) ?? [];
      open.delete(connection);
      if (writes(statements)) commits.push(statements);
    } else if (word === 'rollback') open.delete(connection);
    else if (open.has(connection)) open.get(connection)!.push(source);
    else if (writes([source])) commits.push([source]);
  }
  return commits;
}

const has = (statements: string[], pattern: RegExp) => statements.some((s) => pattern.test(s));

/** Drops the statements of each commit to what it wrote, shortened: what a failure shows. */
const shape = (commits: string[][]) => commits.map((c) => c.filter((s) => /^\s*(insert|update|delete)\b/i.test(s)).map((s) => s.replace(/\s+/g, ' ').slice(0, 32)));

describe.each(DIALECTS)('upload commits on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  async function setUp() {
    const org = await createOrganisation(t.vault, { areas: { payroll: 'OFFICIAL' } });
    const user = await org.user({ teams: ['payroll'] });
    const { secret } = await t.vault.credentials.createCredential(systemActor(), user.id, 'app_password', 'webdav test');
    const dav = (method: 'PUT', name: string, body: string | Buffer) => t.app.inject({
      method, url: `/dav/${org.slug}/payroll/${name}`, payload: body,
      headers: { authorization: `Basic ${Buffer.from(`${user.email}:${secret}`).toString('base64')}` },
    });
    // The organisation's first upload also creates its data key (a commit of its own): done here, unrecorded.
    expect((await upload(t.app, user, org.collections.payroll!, 'first.txt', 'first')).statusCode).toBe(201);
    return { org, user, collection: org.collections.payroll!, dav, as: api(t.app, user) };
  }

  const liveSlots = async () => (await t.vault.store.repos.uploadSlots.live(new Date().toISOString())).length;

  /** One stored upload's commits: the slot taken, then the write, which gives the slot back. */
  function expectSlotThenWrite(commits: string[][]) {
    expect(commits, JSON.stringify(shape(commits))).toHaveLength(2);
    expect(has(commits[0]!, /^insert into "upload_slots"/)).toBe(true);
    expect(has(commits[0]!, /^insert into "versions"/)).toBe(false);
    expect(has(commits[1]!, /^insert into "versions"/)).toBe(true);
    expect(has(commits[1]!, /^delete from "upload_slots" where "id" = /)).toBe(true);
  }

  it('a REST upload, a new version and a copy each commit twice: the slot, then the write that gives it back', async () => {
    const { user, collection, as } = await setUp();
    let id = '';
    expectSlotThenWrite(await commitsOf(async () => {
      const res = await upload(t.app, user, collection, 'minutes.txt', 'first draft');
      expect(res.statusCode, res.body).toBe(201);
      id = res.json().id;
    }));
    expectSlotThenWrite(await commitsOf(async () => {
      expect((await as.put(`documents/${id}/content`, 'second draft')).statusCode).toBe(200);
    }));
    expectSlotThenWrite(await commitsOf(async () => {
      expect((await as.post(`documents/${id}/copy`, { collectionId: collection, name: 'minutes copy.txt' })).statusCode).toBe(201);
    }));
    expect(await liveSlots()).toBe(0);
  });

  it('a WebDAV PUT of a new file and over an existing one each commit twice the same way', async () => {
    const { dav } = await setUp();
    expectSlotThenWrite(await commitsOf(async () => {
      expect((await dav('PUT', 'agenda.txt', 'items')).statusCode).toBe(201);
    }));
    expectSlotThenWrite(await commitsOf(async () => {
      expect((await dav('PUT', 'agenda.txt', 'more items')).statusCode).toBe(204);
    }));
    expect(await liveSlots()).toBe(0);
  });

  it('the jobs an upload queues each commit once: text extraction and replication each mark their job done with their result', async () => {
    const { user, collection } = await setUp();
    await t.vault.worker.runDue();
    expect((await upload(t.app, user, collection, 'notes.txt', 'quarterly payroll notes')).statusCode).toBe(201);
    let ran = 0;
    const commits = await commitsOf(async () => {
      ran = await t.vault.worker.runDue();
    });
    expect(ran).toBe(2);
    // Besides the lease (one statement for both jobs, not counted here): one commit per job, holding
    // its result and its completion. A completion in a commit of its own, as before, fails here.
    expect(commits, JSON.stringify(shape(commits))).toHaveLength(2);
    const done = /^update "jobs" set "status" = \$?\d*\??/;
    const extracted = commits.find((c) => has(c, /^insert into "?search_documents"?/));
    const replicated = commits.find((c) => has(c, /^insert into "blob_replicas"/));
    expect(extracted && has(extracted, done), JSON.stringify(shape(commits))).toBe(true);
    expect(replicated && has(replicated, done), JSON.stringify(shape(commits))).toBe(true);
    expect((await t.vault.store.db.selectFrom('jobs').select('status').where('status', 'in', ['queued', 'running']).execute())).toEqual([]);
  });

  it('gives the slot back on every other way out: a refused file type, malware kept in quarantine', async () => {
    const { user, collection } = await setUp();
    const blocked = await upload(t.app, user, collection, 'run.cmd', 'echo hi\r\n');
    expect(blocked.statusCode).toBe(422);
    expect(blocked.json()).toMatchObject({ type: 'https://strongroom.local/problems/blocked_file_type' });
    expect(await liveSlots()).toBe(0);
    expectSlotThenWrite(await commitsOf(async () => {
      expect((await upload(t.app, user, collection, 'invoice.txt', eicar())).statusCode).toBe(422);
    }));
    expect(await liveSlots()).toBe(0);
  });
});

describe.each(DIALECTS)('the scan job\'s commits on %s', (dialect) => {
  // Past 100 bytes a file is stored pending and scanned by the scan-version job.
  const t = useTestVault(dialect, clamd, { env: { STRONGROOM_INLINE_SCAN_MAX_BYTES: '100' } });

  it('records the verdict and marks the job done in one commit, as does the extraction the verdict queues', async () => {
    const org = await createOrganisation(t.vault, { areas: { payroll: 'OFFICIAL' } });
    const user = await org.user({ teams: ['payroll'] });
    const stored = await upload(t.app, user, org.collections.payroll!, 'ledger.txt', 'a ledger line, past the inline scan limit\n'.repeat(4));
    expect(stored.statusCode, stored.body).toBe(201);
    const versionId = (await t.vault.store.repos.documents.byId(stored.json().id))!.currentVersionId;
    // Only the scan is due: the replication queued beside it is run first, unrecorded.
    await t.vault.store.db.updateTable('jobs').set({ run_at: new Date(Date.now() + 3_600_000).toISOString() }).where('kind', '=', 'scan-version').execute();
    await t.vault.worker.runDue();
    await t.vault.store.db.updateTable('jobs').set({ run_at: new Date(Date.now() - 1000).toISOString() }).where('kind', '=', 'scan-version').where('status', '=', 'queued').execute();
    // The scan, then the text extraction its clean verdict queues: one commit each.
    const commits = await commitsOf(async () => {
      expect(await t.vault.worker.runDue()).toBe(2);
    });
    expect(commits, JSON.stringify(shape(commits))).toHaveLength(2);
    const [scanned, extracted] = commits;
    expect(has(scanned!, /^update "versions" set "scan_status"/)).toBe(true);
    expect(has(scanned!, /^insert into "jobs"/)).toBe(true);
    expect(has(scanned!, /^update "jobs" set "status"/)).toBe(true);
    expect(has(extracted!, /^update "jobs" set "status"/)).toBe(true);
    expect((await t.vault.store.repos.documents.versionById(versionId))?.scanStatus).toBe('clean');
  });
});
