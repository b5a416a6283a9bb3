// The certificates pages: a records manager finds the organisation's certificates, reads one in words and
// downloads its PDF and JSON (the JSON is byte for byte what the API serves); a partner's records manager
// and a member are shown "Page not found" for it.
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { executedBatch } from '../support/disposal-batch.js';
import { DIALECTS, createPartnership } from '../support/vault.js';
import { FormClient, addPerson, enrolTotp } from './support.js';

const clamd = useClamd();

describe.each(DIALECTS)('certificates of destruction in the web interface on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  let base: string;
  beforeAll(async () => {
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  it('lists, shows and downloads a certificate for the organisation\'s records manager only', { timeout: 60_000 }, async () => {
    const { host, partner } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE', serviceArea: 'hr' });
    const manager = await addPerson(t.vault, host.slug, { roles: ['records_manager'], name: 'Rita Manager' });
    const { batch } = await executedBatch(t.vault, host.id, manager);
    const issued = await t.vault.certificates.issue(batch.id);

    const client = new FormClient(base);
    await client.signIn(manager.email, undefined, await enrolTotp(t.vault, manager.id));
    const list = await client.get('/disposal/certificates');
    expect(list.status).toBe(200);
    expect(list.text).toContain(`href="/disposal/${batch.id}/certificate"`);
    expect(list.text).toContain(`href="/disposal/${batch.id}/certificate.pdf"`);

    const page = await client.get(`/disposal/${batch.id}/certificate`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Certificate of destruction');
    expect(page.text).toContain(issued.id);
    expect(page.text).toContain(`<code id="json-sha256">${issued.jsonSha256}</code>`);
    expect(page.text).toContain('Smith v Council');
    expect(page.text).toContain('strongroom audit check CERT.json --key PUB');

    const json = await client.get(`/disposal/${batch.id}/certificate.json`);
    expect(json.status).toBe(200);
    expect(json.text).toBe(issued.json);
    expect(createHash('sha256').update(json.text).digest('hex')).toBe(issued.jsonSha256);
    const pdf = await client.request('GET', `/disposal/${batch.id}/certificate.pdf`);
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(pdf.text.startsWith('%PDF-')).toBe(true);

    for (const spec of [{ slug: partner.slug, roles: ['records_manager'], teams: ['hr'] }, { slug: host.slug, roles: ['member'], teams: ['hr'] }]) {
      const person = await addPerson(t.vault, spec.slug, spec);
      const other = new FormClient(base);
      await other.signIn(person.email, undefined, spec.roles.includes('records_manager') ? await enrolTotp(t.vault, person.id) : undefined);
      for (const url of [`/disposal/${batch.id}/certificate`, `/disposal/${batch.id}/certificate.pdf`, `/disposal/${batch.id}/certificate.json`]) {
        const res = await other.request('GET', url, { headers: { accept: 'text/html' } });
        expect(res.status, url).toBe(404);
        expect(res.text).not.toContain(issued.id);
      }
    }
  });
});
