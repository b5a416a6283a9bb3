// Whatever carries a council's data leaves no copy in a browser's or a shared proxy's cache: every
// answer that does not say otherwise is `Cache-Control: no-store`. The disposal transfer package (the
// records' plaintext and metadata, on REST and the web page) was sent without any Cache-Control, unlike
// every download, and so were other answers nobody had thought to mark.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { api } from '../support/http.js';
import { HR_03, fileCollectionUnder, recordEvent, yearsAgo } from '../support/records.js';
import { openTestVault, createOrganisation, upload, type TestVault } from '../support/vault.js';
import { FormClient, addPerson, enrolTotp } from '../ui/support.js';

const clamd = useClamd();

describe.each(['sqlite', 'postgres'] as const)('cache headers on %s', (dialect) => {
  let t: TestVault;
  let base: string;
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, listen: true });
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('sends the transfer package, on REST and the web page, and other unmarked answers as no-store', async () => {
    const org = await createOrganisation(t.vault);
    await fileCollectionUnder(t.vault, org.id, org.collections.hr!, HR_03);
    const manager = await org.user({ roles: ['records_manager'], teams: ['hr'] });
    const member = await org.user({ teams: ['hr'] });
    const doc = (await upload(t.app, member, org.collections.hr!, 'applicant.txt', 'application form\n')).json();
    await recordEvent(t.vault, org.id, doc.id, 'process_complete', yearsAgo(2));
    const batch = (await api(t.app, manager).post('disposal/batches', {})).json();
    expect((await api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: doc.id, decision: 'transfer' }] })).statusCode).toBe(200);

    const zip = await api(t.app, manager).get(`disposal/batches/${batch.id}/transfer`);
    expect(zip.statusCode).toBe(200);
    expect(zip.headers['cache-control']).toContain('no-store');

    const person = await addPerson(t.vault, org.slug, { roles: ['member', 'records_manager'], teams: ['hr'] });
    const secret = await enrolTotp(t.vault, person.id);
    const client = new FormClient(base);
    await client.signIn(person.email, undefined, secret);
    const batchPage = await client.get(`/disposal/${batch.id}`);
    const page = await client.post(`/disposal/${batch.id}/transfer`, { _csrf: FormClient.csrf(batchPage.text) });
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toContain('no-store');

    // Answers no route marked: JSON metadata (names, retention) and the checkpoints file.
    const metadata = await api(t.app, member).get(`documents/${doc.id}`);
    expect(metadata.statusCode).toBe(200);
    expect(metadata.headers['cache-control']).toContain('no-store');
    const auditor = await addPerson(t.vault, org.slug, { roles: ['member', 'auditor'] });
    const auditorClient = new FormClient(base);
    await auditorClient.signIn(auditor.email);
    await t.vault.audit.sequencer.integrate();
    const notes = await auditorClient.get('/audit/checkpoints.txt');
    expect(notes.headers.get('cache-control')).toContain('no-store');
    // What a route marks itself keeps its own header (the service's stylesheet is public and long-lived).
    const css = await client.get('/assets/app/app.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('cache-control')).not.toBe('no-store');
  });
});
