// The document page shows when the file was last modified at its source (a migrated share), in UK time, and
// shows no such row for a document nobody gave that time for.
import { beforeAll, describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';
import { FormClient, addPerson } from './support.js';

const clamd = useClamd();

describe.each(DIALECTS)('source modification time on the document page on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  let base: string;
  beforeAll(async () => {
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  it('shows "Modified at source" with the time given at upload, and nothing when none was given', async () => {
    const org = await createOrganisation(t.vault);
    const member = await addPerson(t.vault, org.slug, { teams: ['payroll'] });
    const staff = await org.user({ teams: ['payroll'] });
    const dated = await t.app.inject({
      method: 'POST', url: `/api/v1/collections/${org.collections.payroll!}/documents?name=migrated.txt&sourceModifiedAt=2021-09-14T17:05:00%2B01:00`,
      headers: { authorization: `Bearer ${staff.token}`, 'content-type': 'application/octet-stream' }, payload: 'From the old share.\n',
    });
    expect(dated.statusCode, dated.body).toBe(201);
    const plain = await upload(t.app, staff, org.collections.payroll!, 'new.txt', 'Written here.\n');
    const client = new FormClient(base);
    await client.signIn(member.email);
    const page = (await client.get(`/documents/${dated.json().id}`)).text;
    expect(page).toMatch(/Modified at source\s*<\/dt>\s*<dd class="govuk-summary-list__value sr-source-modified">\s*14 September 2021 at 17:05\s*<\/dd>/);
    expect((await client.get(`/documents/${plain.json().id}`)).text).not.toContain('Modified at source');
  });
});
