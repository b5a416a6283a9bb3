// A caller that needs a folder and its sub-folders but none of its documents (the web page that places a
// folder on hold, a REST change of a folder's series, the CLI importer finding its way) reads none of its
// documents. Until 6 December (evening) each asked for the whole listing and threw the documents away; since
// listings count only what the reader may read, that read every document of a folder whose documents the
// reader may mostly not read, on every such request.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DirectTarget } from '../../src/cli/import/direct-target.js';
import { DocumentsRepo } from '../../src/db/repos/documents.repo.js';
import { actorFor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, auth, createOrganisation, upload, type TestOrganisation, type TestUser } from '../support/vault.js';
import { FormClient, addPerson, enrolTotp } from '../ui/support.js';

const clamd = useClamd();

describe.each(DIALECTS)('a folder read without its documents on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  let base: string;
  let org: TestOrganisation;
  let records: TestUser;
  let folder: string;
  beforeAll(async () => {
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    org = await createOrganisation(t.vault, { areas: { finance: 'OFFICIAL' } });
    records = await org.user({ roles: ['records_manager'] });
    const staff = await org.user({ teams: ['finance'] });
    folder = org.collections.finance!;
    for (const name of ['a.txt', 'b.txt']) expect((await upload(t.app, staff, folder, name, `${name}\n`)).statusCode).toBe(201);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const documentsRead = () => vi.spyOn(DocumentsRepo.prototype, 'inCollection');

  it('web: the page that places a folder on hold', async () => {
    const manager = await addPerson(t.vault, org.slug, { roles: ['records_manager'] });
    const secret = await enrolTotp(t.vault, manager.id);
    const client = new FormClient(base);
    await client.signIn(manager.email, undefined, secret);
    const read = documentsRead();
    const page = await client.get(`/holds/place?collection=${folder}`);
    expect(page.status).toBe(200);
    expect(read).not.toHaveBeenCalled();
  });

  it('REST: a change of a folder\'s series alone', async () => {
    const read = documentsRead();
    const res = await t.app.inject({
      method: 'PATCH', url: `/api/v1/collections/${folder}`, headers: { ...auth(records), 'content-type': 'application/json' }, payload: JSON.stringify({ series: 'FIN-01' }),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id: folder, series: 'FIN-01' });
    expect(read).not.toHaveBeenCalled();
  });

  it('CLI import: opening the folder and finding a sub-folder in it', async () => {
    const person = await org.user({ teams: ['finance'] });
    const actor = actorFor((await t.vault.identity.userById(person.id))!, { channel: 'cli', clientAddress: null, requestId: null });
    const target = new DirectTarget(t.vault, actor, person.email);
    const read = documentsRead();
    await target.open(folder);
    expect(await target.childCollection(folder, 'Invoices', false)).toBeNull();
    expect(read).not.toHaveBeenCalled();
  });
});
