// flush() (exports, backups, the CLI) covers every event committed before it was called, even when the
// sequencer was already running and had read what was pending before that event was committed.
import { describe, expect, it } from 'vitest';
import { auditEvent } from '../../src/services/audit-events.js';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('audit flush on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it('puts an export\'s own event in its bundle when the sequencer is busy as it is asked for', async () => {
    const org = await createOrganisation(t.vault);
    // A backlog, so the run started here is still going when the export's event is committed.
    const backlog = Array.from({ length: 1500 }, () => auditEvent(systemActor(), 'document.read', { organisationId: org.id, ids: {} }, { allow: true, reason: 'system', via: null }, new Date()));
    await t.vault.store.transaction((repos) => repos.audit.insert(backlog));
    const running = t.vault.audit.sequencer.integrate();
    const bundle = await t.vault.audit.proofs.exportOrganisation(systemActor(), org.id);
    await running;
    expect(bundle.events.filter((e) => e.event.action === 'audit.export')).toHaveLength(1);
    expect(await t.vault.store.db.selectFrom('audit_events').select('id').where('seq', 'is', null).execute()).toEqual([]);
  });
});
