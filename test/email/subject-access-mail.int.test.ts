// A partner's DPOs are e-mailed that another council asks them to search their records for a subject
// access request. The mail is queued when they are asked and sent later by the job: it goes only to a
// DPO who may still answer that request when it is sent, as an arrangement proposal goes only to an org
// admin who may still read it. Before the attack review of 5 December it went whatever happened between:
// the arrangement suspended, or the request closed, the partner's DPOs were still told of it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { TestSmtp } from '../support/smtp.js';
import { openSubjectAccess, subjectAccessWorld } from '../support/subject-access.js';
import { api } from '../support/http.js';
import { DIALECTS, openTestVault, type TestVault } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('the subject access e-mail to a partner on %s', (dialect) => {
  let smtp: TestSmtp;
  let t: TestVault;
  beforeAll(async () => {
    smtp = await TestSmtp.started();
    t = await openTestVault({
      dialect, clamdSocket: clamd.socketPath,
      env: { STRONGROOM_SMTP_URL: smtp.url, STRONGROOM_MAIL_FROM: 'Records vault <no-reply@vault.test>', STRONGROOM_PUBLIC_URL: 'https://vault.test' },
    });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.stop();
  });

  const mailsAbout = (email: string, reference: string) => smtp.to(email).filter((m) => String(m.text).includes(reference));

  it('goes to the partner\'s DPO while they may answer the request, and not once the arrangement is suspended', async () => {
    const w = await subjectAccessWorld(t);
    const answered = await openSubjectAccess(t, w);
    await t.vault.worker.runDue();
    expect(mailsAbout(w.hostDpo.email, answered.reference)).toHaveLength(1);

    const meanwhile = await openSubjectAccess(t, w);
    await t.vault.arrangements.suspend(systemActor(), w.arrangement.id);
    await t.vault.worker.runDue();
    expect(mailsAbout(w.hostDpo.email, meanwhile.reference)).toHaveLength(0);
  });

  it('is queued as the asking council\'s work, not the asked council\'s: asking again and again spends the asker\'s turns', async () => {
    // The mail lane takes turns between organisations (db/repos/jobs.repo.ts). Queued as the asked
    // council's, a council asking it many times put the asked council's own sign-in links and security
    // notices behind every one of its requests, while its own line stayed empty.
    const w = await subjectAccessWorld(t);
    const references: string[] = [];
    for (let i = 0; i < 3; i += 1) references.push((await openSubjectAccess(t, w)).reference);
    const queued = (await t.vault.store.db.selectFrom('jobs').select(['payload', 'organisation_id']).where('kind', '=', 'send-email').execute())
      .filter((j) => references.some((r) => j.payload.includes(r)));
    expect(queued.map((j) => j.organisation_id)).toEqual([w.partner.id, w.partner.id, w.partner.id]);
    await t.vault.worker.runDue();
  });

  it('does not go once the request is closed', async () => {
    const w = await subjectAccessWorld(t);
    const closed = await openSubjectAccess(t, w);
    const res = await api(t.app, w.dpo).post(`subject-access/${closed.id}/close`, { outcome: 'withdrawn', note: 'The person withdrew the request by letter.' });
    expect(res.statusCode, res.body).toBe(200);
    await t.vault.worker.runDue();
    expect(mailsAbout(w.hostDpo.email, closed.reference)).toHaveLength(0);
  });
});
