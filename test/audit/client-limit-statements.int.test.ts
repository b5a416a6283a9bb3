// The audit API's `limit` is the one row count a client chooses (1-1000). SQLite's compiler writes a
// row count into the statement (src/db/sqlite-query-compiler.ts), so a count written there would make a
// statement text per value, and the server's statement cache (src/db/kysely.ts withStatementCache, 500
// statements, first in first out) is shared by every organisation: an auditor of one council paging with
// 500 different limits would push out every statement the others' uploads and downloads run, each then
// prepared afresh. The audit search binds its limit instead; this counts what a download prepares after.
// Only SQLite keeps prepared statements (PostgreSQL's are unnamed), so this runs on SQLite alone.
import Database from 'better-sqlite3-multiple-ciphers';
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { createOrganisation, upload } from '../support/vault.js';

/** The SQL of every statement prepared while `work` runs. */
async function statementsPrepared(work: () => Promise<void>): Promise<string[]> {
  const prepared: string[] = [];
  const prototype = Database.prototype as unknown as { prepare: (source: string) => unknown };
  const original = prototype.prepare;
  prototype.prepare = function (this: Database.Database, source: string) {
    prepared.push(source);
    return original.call(this, source);
  };
  try {
    await work();
  } finally {
    prototype.prepare = original;
  }
  return prepared;
}

const clamd = useClamd();

describe('an auditor choosing audit page sizes on SQLite', () => {
  const t = useTestVault('sqlite', clamd);

  it('does not push another council\'s download out of the statement cache', async () => {
    const council = await createOrganisation(t.vault);
    const member = await council.user({ teams: ['payroll'] });
    const id = (await upload(t.app, member, council.collections.payroll!, 'payslip.txt', 'November')).json().id as string;
    const download = async () => expect((await api(t.app, member).get(`documents/${id}/content`)).statusCode).toBe(200);
    await download();
    await download();
    expect(await statementsPrepared(download)).toEqual([]);

    const other = await createOrganisation(t.vault);
    const auditor = await other.user({ roles: ['auditor'] });
    for (let limit = 1; limit <= 520; limit++) {
      expect((await api(t.app, auditor).get(`audit/events?limit=${limit}`)).statusCode).toBe(200);
    }

    expect(await statementsPrepared(download)).toEqual([]);
  });
});
