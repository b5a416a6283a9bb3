// Rotating an organisation's key: new versions are wrapped under the new key, old ones stay
// readable, and the rotation is an audit event.
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { systemActor } from '../../src/services/identity.service.js';
import { DIALECTS, auth, createOrganisation, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('key rotation on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it('wraps new versions under the new key and keeps old ones readable', async () => {
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['finance'] });
    const before = (await upload(t.app, user, org.collections.finance!, 'before.csv', 'a,b\n1,2\n')).json();
    const keyId = await t.vault.keys.rotate(systemActor(), org.id);
    const after = (await upload(t.app, user, org.collections.finance!, 'after.csv', 'a,b\n3,4\n')).json();

    const oldVersion = (await t.vault.store.repos.documents.versions(before.id))[0]!;
    const newVersion = (await t.vault.store.repos.documents.versions(after.id))[0]!;
    expect(newVersion.keyId).toBe(keyId);
    expect(oldVersion.keyId).not.toBe(keyId);
    for (const [id, body] of [[before.id, 'a,b\n1,2\n'], [after.id, 'a,b\n3,4\n']]) {
      const res = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${id}/content`, headers: auth(user) });
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe(body);
    }
    await t.vault.audit.sequencer.flush();
    const events = await t.vault.store.repos.audit.forOrganisation(org.id);
    expect(events.some((e) => e.action === 'key.rotate' && e.targetIds.keyId === keyId)).toBe(true);
  });
});
