// Certificates of destruction on both dialects: a batch carried out (its items, stubs and destruction
// events written as the disposal job writes them) gets one certificate, idempotently; the organisation's
// records manager and auditor fetch it as JSON and PDF, a partner's records manager and a member are
// answered 404; `strongroom audit check` verifies the JSON with only the public key and no data
// directory, and fails it when one byte changes.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CERTIFICATE_FORMAT, checkCertificate } from '../../src/domain/records/certificate.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { runCli } from '../support/cli.js';
import { pdfText } from '../support/pdf.js';
import { executedBatch } from '../support/disposal-batch.js';
import { DIALECTS, createPartnership, type TestOrganisation, type TestUser } from '../support/vault.js';

const clamd = useClamd();
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

describe.each(DIALECTS)('certificates of destruction on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  let host: TestOrganisation;
  let manager: TestUser;
  let auditor: TestUser;
  let member: TestUser;
  let partnerManager: TestUser;
  let partnerAdmin: TestUser;
  let partner: TestOrganisation;
  let hostHrManager: TestUser;
  let work: string;
  beforeAll(async () => {
    // A partner at the highest access level: its records manager still never reaches the host's records.
    const world = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE', serviceArea: 'hr' });
    host = world.host;
    manager = await host.user({ roles: ['records_manager'] });
    auditor = await host.user({ roles: ['auditor'] });
    member = await host.user({ teams: ['hr'] });
    partnerManager = await world.partner.user({ roles: ['records_manager'], teams: ['hr'] });
    partnerAdmin = await world.partner.user({ roles: ['org_admin'], teams: ['hr'] });
    partner = world.partner;
    // The host's hr team serves the partner with `manage` access; a records manager in it is still not the partner's.
    hostHrManager = await host.user({ roles: ['records_manager'], teams: ['hr'] });
    work = await mkdtemp(path.join(tmpdir(), 'sr-cert-'));
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('issues one signed certificate per executed batch, idempotently, with the proofs of its destruction and its authorisation', async () => {
    const { batch, ids, nameHashes } = await executedBatch(t.vault, host.id, manager);
    const issued = await t.vault.certificates.issue(batch.id);
    const again = await Promise.all([t.vault.certificates.issue(batch.id), t.vault.certificates.issue(batch.id)]);
    expect(again.map((c) => c.id)).toEqual([issued.id, issued.id]);
    expect(again[0]!.json).toBe(issued.json);
    expect((await t.vault.store.repos.disposal.batch(batch.id))?.certificateId).toBe(issued.id);

    const cert = JSON.parse(issued.json) as Record<string, any>;
    // The rule as the file plan holds it (new organisations are seeded from the shared schedule).
    const hr03 = (await t.vault.store.repos.retention.series(host.id, 'HR-03'))!;
    expect(cert).toMatchObject({
      format: CERTIFICATE_FORMAT, id: issued.id, batchId: batch.id, organisation: { id: host.id, name: `Test ${host.slug}` },
      series: [{ code: 'HR-03', title: hr03.title, trigger: hr03.trigger, retainYears: hr03.retainYears, action: hr03.action, authority: hr03.authority, revision: hr03.revision }],
      counts: { proposed: 5, destroyed: 2, transferred: 1, extended: 1, heldAtExecution: 1, excluded: 1, gone: 0 },
      authorisedBy: { userId: manager.id, name: 'Test User', at: batch.approvedAt }, executedAt: batch.executedAt,
      method: "crypto-shredding: every version's data key destroyed; every stored copy deleted",
    });
    expect(cert.documents.map((d: { documentId: string }) => d.documentId).sort()).toEqual([ids.destroyed, ids.transferred].sort());
    expect(cert.documents.map((d: { nameSha256: string }) => d.nameSha256).sort()).toEqual([...nameHashes].sort());
    expect(cert.holdCheck.heldAtExecution.map((h: { documentId: string }) => h.documentId)).toEqual([ids.held]);
    expect(cert.holdCheck.excludedWhenProposed).toEqual([{ documentId: ids.excluded, holds: [{ id: expect.any(String), name: 'Smith v Council' }] }]);
    // The destruction events, and the approver's decisions (four items decided) and approval that authorised it.
    expect(cert.proof.events.map((e: { event: { action: string } }) => e.event.action).sort()).toEqual([
      'disposal.approve', 'disposal.decide', 'disposal.decide', 'disposal.decide', 'disposal.decide', 'disposal.execute', 'document.dispose', 'document.dispose',
    ]);
    expect(checkCertificate(cert, t.vault.audit.proofs.verifierKey)).toMatchObject({ ok: true, id: issued.id, destroyed: 2, unproven: [] });

    // The key signs certificates, never a checkpoint passed off as a statement.
    expect(() => t.vault.audit.proofs.signStatement(`strongroom.local/audit\n5\n${Buffer.alloc(32).toString('base64')}\n`)).toThrow('Refused to sign a statement that reads as a checkpoint.');

    // Issuing is itself recorded, once.
    await t.vault.audit.sequencer.flush();
    const events = await t.vault.store.repos.audit.query({ organisationId: host.id, action: 'disposal.certificate', limit: 100 });
    expect(events.filter((e) => e.targetIds.batchId === batch.id).map((e) => e.targetIds)).toEqual([{ batchId: batch.id, certificateId: issued.id, sha256: issued.jsonSha256 }]);
  });

  it('serves JSON and PDF to the organisation\'s records manager and auditor only', { timeout: 60_000 }, async () => {
    const { batch } = await executedBatch(t.vault, host.id, manager);
    const url = `disposal/batches/${batch.id}/certificate`;
    // Fetching before the job issued it issues it (the job may have been refused a checkpoint).
    const json = await api(t.app, manager).get(url);
    expect(json.statusCode, json.body).toBe(200);
    expect(json.headers['content-type']).toBe('application/json; charset=utf-8');
    const cert = JSON.parse(json.body) as { id: string };
    expect(json.headers['x-certificate-sha256']).toBe(sha256(json.body));
    expect(json.headers['content-disposition']).toBe(`attachment; filename="certificate-of-destruction-${cert.id}.json"`);
    expect((await api(t.app, auditor).get(url)).body).toBe(json.body);

    const pdf = await api(t.app, auditor).get(`${url}?format=pdf`);
    expect(pdf.statusCode).toBe(200);
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(pdf.rawPayload.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.rawPayload.subarray(-6).toString('latin1')).toMatch(/%%EOF/);
    const text = pdfText(pdf.rawPayload);
    expect(text).toContain('Certificate of destruction');
    expect(text).toContain(cert.id);
    expect(text).toContain(sha256(json.body));
    expect(text).toContain('strongroom audit check CERT.json --key PUB');
    expect(text).toMatch(/Documents destroyed\n2 \(of which 1 transferred to an archive first\)/);
    expect(text).toMatch(/Proposed for disposal\n5/);
    expect(text).toContain('Smith v Council');

    const list = await api(t.app, auditor).get('disposal/certificates');
    expect(list.statusCode).toBe(200);
    expect(list.json().certificates).toContainEqual(expect.objectContaining({ id: cert.id, batchId: batch.id, destroyed: 2, proposed: 5, links: { json: `/api/v1/${url}`, pdf: `/api/v1/${url}?format=pdf` } }));

    // Nobody else learns the batch exists: the same 404 as for a batch that does not.
    const unknown = expectProblem(await api(t.app, manager).get(`disposal/batches/${randomUUID()}/certificate`), 404);
    for (const who of [partnerManager, partnerAdmin, member]) {
      for (const u of [url, `${url}?format=pdf`]) expect(expectProblem(await api(t.app, who).get(u), 404).detail).toBe(unknown.detail);
    }
    expectProblem(await api(t.app, member).get('disposal/certificates'), 404);
    expect((await api(t.app, partnerManager).get('disposal/certificates')).json().certificates).not.toContainEqual(expect.objectContaining({ id: cert.id }));
    // Each refusal was audited.
    await t.vault.audit.sequencer.flush();
    const denials = await t.vault.store.repos.audit.query({ organisationId: host.id, action: 'records.read', limit: 1000 });
    expect(denials.filter((e) => e.decision === 'deny' && e.targetIds.batchId === batch.id && e.actorUserId === partnerManager.id)).toHaveLength(2);
    expectProblem(await api(t.app, manager).get(`${url}?format=docx`), 400);
    // Hostile ids: too long is refused by the router (414); anything else is just not a batch.
    expect((await api(t.app, manager).get(`disposal/batches/${'x'.repeat(101)}/certificate`)).statusCode).toBe(414);
    expect(expectProblem(await api(t.app, manager).get(`disposal/batches/${encodeURIComponent("' OR '1'='1")}/certificate`), 404).detail).toBe(unknown.detail);
    expectProblem(await t.app.inject({ method: 'GET', url: `/api/v1/${url}` }), 401);

    // The other way round: the partner's own batch is its records manager's, never the host team's that serves it.
    const theirs = await executedBatch(t.vault, partner.id, partnerManager);
    expect((await api(t.app, partnerManager).get(`disposal/batches/${theirs.batch.id}/certificate`)).statusCode).toBe(200);
    expect(expectProblem(await api(t.app, hostHrManager).get(`disposal/batches/${theirs.batch.id}/certificate?format=pdf`), 404).detail).toBe(unknown.detail);
  });

  it('answers 409 for a batch not yet carried out', async () => {
    const { batch } = await executedBatch(t.vault, host.id, manager, { status: 'approved' });
    const problem = expectProblem(await api(t.app, manager).get(`disposal/batches/${batch.id}/certificate`), 409);
    expect(problem.detail).toBe(`Disposal batch ${batch.id} has not been carried out yet: its certificate of destruction is issued once it has been.`);
    await expect(t.vault.certificates.issue(batch.id)).rejects.toThrow('has not been carried out yet');
  });

  it('`audit check` verifies the certificate with only the public key and no data directory, and fails on one changed byte', { timeout: 120_000 }, async () => {
    const { batch } = await executedBatch(t.vault, host.id, manager);
    const { json, id } = await t.vault.certificates.issue(batch.id);
    const key = (await t.app.inject({ method: 'GET', url: '/.well-known/strongroom-audit-key' })).body.trim();
    const empty = await mkdtemp(path.join(work, 'cwd-'));
    const offline = { STRONGROOM_DATA: path.join(empty, 'does-not-exist'), STRONGROOM_CLAMD: undefined };
    const check = (file: string) => runCli(['audit', 'check', file, '--key', key], { cwd: empty, env: offline });
    const file = path.join(work, `${id}.json`);
    await writeFile(file, json);
    const good = await check(file);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stderr.trim()).toMatch(new RegExp(`^Certificate ${id} is valid: 2 documents destroyed for Test ${host.slug} on ${batch.executedAt!.slice(0, 10)}, checkpoint tree size \\d+\\.$`));
    expect(await readdir(empty)).toEqual([]);

    // One changed digit in a name hash (the JSON stays valid).
    const cert = JSON.parse(json) as { documents: { nameSha256: string }[] };
    const hash = cert.documents[0]!.nameSha256;
    const at = json.indexOf(hash) + 10;
    const edited = json.slice(0, at) + (json[at] === '0' ? '1' : '0') + json.slice(at + 1);
    await writeFile(file, edited);
    const bad = await check(file);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe('Certificate FAILED: The certificate was changed after it was signed: its signature is over different contents.');
  });
});
