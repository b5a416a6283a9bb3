// End to end through REST with real clamd, the real extractor (parser processes, pdftocairo | tesseract)
// and the real index on both dialects: a canary word in a text PDF, a scanned PDF, a PNG, a DOCX and an
// e-mail's attachment is found with its snippet and page, the text status is on the document, and no
// file under the data directory holds the canary in clear.
import { describe, expect, it } from 'vitest';
import { CANARY, docx, emlWithAttachment, scannedPdf, textImage, textPdf } from '../fixtures/search/documents.js';
import { api, filesContaining } from '../support/http.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { createOrganisation, DIALECTS, upload } from '../support/vault.js';
import { drainJobs, highlighted, searchAs, type SearchHitBody } from './support.js';

const clamd = useClamd();

describe.each(DIALECTS)('text extraction and search on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it('finds the canary in a text PDF, a scanned PDF, a PNG, a DOCX and an e-mail attachment, with snippet and page', async () => {
    const org = await createOrganisation(t.vault);
    const member = await org.user({ teams: ['finance'] });
    const files: [name: string, body: Buffer, page: number | null][] = [
      ['minutes.pdf', await textPdf(), 2],
      ['scanned letter.pdf', await scannedPdf(), 2],
      ['whiteboard.png', await textImage(`Meeting with ${CANARY} at noon`, 'png'), 1],
      ['tenancy.docx', await docx(), null],
      ['papers.eml', await emlWithAttachment(), null],
    ];
    const ids = new Map<string, string>();
    for (const [name, body] of files) {
      const res = await upload(t.app, member, org.collections.finance!, name, body);
      expect(res.statusCode, res.body).toBe(201);
      ids.set(res.json().id as string, name);
      expect((await api(t.app, member).get(`documents/${res.json().id}`)).json().text).toEqual({ status: 'pending', reason: null });
    }
    await drainJobs(t.vault);

    const res = await searchAs(t.app, member, { q: CANARY.toLowerCase() });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as { total: number; hits: SearchHitBody[] };
    expect(body.total, JSON.stringify(body.hits.map((h) => ids.get(h.documentId)))).toBe(files.length);
    for (const [name, , page] of files) {
      const hit = body.hits.find((h) => ids.get(h.documentId) === name);
      expect(hit, `${name} was not found`).toBeDefined();
      expect(hit!.page, name).toBe(page);
      expect(hit!.snippet, name).not.toBeNull();
      expect(highlighted(hit!.snippet!).map((w) => w.toLowerCase()), name).toContain(CANARY.toLowerCase());
      expect(hit!.organisation).toEqual({ id: org.id, name: `Test ${org.slug}` });
      expect(hit!.collection).toEqual({ id: org.collections.finance!, name: 'finance' });
    }
    for (const id of ids.keys()) {
      const text = (await api(t.app, member).get(`documents/${id}`)).json().text;
      expect(text.status, ids.get(id)).toBe('done');
    }
    // Only streams and pipes: no plaintext of the documents or their text anywhere under the data directory.
    expect(await filesContaining(t.dataDir, Buffer.from(CANARY))).toEqual([]);
    expect(await filesContaining(t.dataDir, Buffer.from(CANARY.toLowerCase()))).toEqual([]);
  });
});
