// The in-app notice telling a partner's DPOs that another council asks them to search their records for
// a subject access request is shown only while they may still answer it, as its e-mail is sent only then
// (test/email/subject-access-mail). Until the attack review of 5 December it stayed on their home page
// whatever happened: the arrangement suspended or ended, or the request closed, it still named the
// requester, the reference and the date due to a council that could no longer see the request.
import { beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { openSubjectAccess, subjectAccessWorld } from '../support/subject-access.js';
import { DIALECTS } from '../support/vault.js';
import { FormClient, PASSWORD } from '../ui/support.js';

const clamd = useClamd();

describe.each(DIALECTS)('the subject access notice to a partner on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  let base: string;
  beforeAll(async () => {
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  const homeOf = async (email: string) => {
    const browser = new FormClient(base);
    return browser.signIn(email, PASSWORD);
  };

  it('is shown while the DPO may answer the request, and not once it is closed or the arrangement suspended', async () => {
    const w = await subjectAccessWorld(t);
    const closed = await openSubjectAccess(t, w);
    const suspended = await openSubjectAccess(t, w);
    const before = await homeOf(w.hostDpo.email);
    expect(before).toContain(`subject access request ${closed.reference}`);
    expect(before).toContain(`subject access request ${suspended.reference}`);

    const res = await api(t.app, w.dpo).post(`subject-access/${closed.id}/close`, { outcome: 'withdrawn', note: 'The person withdrew the request by letter.' });
    expect(res.statusCode, res.body).toBe(200);
    const afterClosing = await homeOf(w.hostDpo.email);
    expect(afterClosing).not.toContain(closed.reference);
    expect(afterClosing).toContain(`subject access request ${suspended.reference}`);

    await t.vault.arrangements.suspend(systemActor(), w.arrangement.id);
    expect(await homeOf(w.hostDpo.email)).not.toContain(suspended.reference);
  });
});
