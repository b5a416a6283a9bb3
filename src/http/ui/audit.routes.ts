// Audit pages: event search for auditors and DPOs, and Verify: the newest signed checkpoint and the
// result of recomputing the whole log against it.
import type { FastifyPluginAsync } from 'fastify';
import { ukDayEnd } from '../../domain/uk-time.js';
import { one } from './form-fields.js';
import { render, signedIn, type Ui } from './context.js';

// A field given twice (?from=a&from=b) arrives as a list: the page reads the first, as its forms do (form-fields.ts one).
type Field = string | string[] | undefined;
interface SearchQuery { actor?: Field; document?: Field; action?: Field; from?: Field; to?: Field; after?: Field }

/**
 * The form's "To" day is the last day shown: the window ends where the next UK day begins (what the service is given is
 * exclusive); after 9999-12-31, nowhere (undefined). Anything not a date goes on to the service as it came, to be refused.
 */
function untilTheEndOf(to: string): string | undefined {
  try {
    return ukDayEnd(to) ?? undefined;
  } catch {
    return to;
  }
}

export const auditPages = (ui: Ui): FastifyPluginAsync => async (app) => {
  app.get<{ Querystring: SearchQuery }>('/audit', async (request, reply) => {
    const web = signedIn(request);
    const q = { actor: one(request.query.actor), document: one(request.query.document), action: one(request.query.action), from: one(request.query.from), to: one(request.query.to), after: one(request.query.after) };
    const to = q.to ? untilTheEndOf(q.to) : undefined;
    let actorUserId: string | undefined;
    if (q.actor?.includes('@')) actorUserId = (await ui.vault.identity.userByEmail(q.actor).catch(() => undefined))?.id ?? 'nobody';
    else if (q.actor) actorUserId = q.actor;
    const limit = 100;
    const after = q.after && /^\d{1,15}$/.test(q.after) ? Number(q.after) : undefined;
    const events = await ui.vault.audit.queries.search(web.actor, {
      limit, ...(actorUserId ? { actorUserId } : {}), ...(q.document ? { documentId: q.document.trim() } : {}), ...(q.action ? { action: q.action.trim() } : {}),
      ...(q.from ? { from: q.from } : {}), ...(to !== undefined ? { to } : {}), ...(after !== undefined ? { afterSeq: after } : {}),
    });
    const people = new Map<string, string>();
    for (const e of events) {
      if (e.actorUserId && !people.has(e.actorUserId)) people.set(e.actorUserId, (await ui.vault.identity.userById(e.actorUserId))?.email ?? e.actorUserId);
    }
    const alarm = await ui.vault.audit.alarm.integrityAlarm(web.actor);
    const last = events.at(-1);
    const params = new URLSearchParams(Object.entries(q).filter(([k, v]) => k !== 'after' && typeof v === 'string' && v !== '') as [string, string][]);
    if (last) params.set('after', String(last.seq));
    return render(ui, request, reply, 'audit.njk', {
      events, query: q, alarm, people: Object.fromEntries(people), next: events.length === limit && last ? `/audit?${params.toString()}` : null,
    });
  });

  // Admins, auditors and DPOs keep their own copies of checkpoints: the history they hold keeps the operator honest.
  app.get<{ Querystring: { after?: string } }>('/audit/checkpoints.txt', async (request, reply) => {
    const web = signedIn(request);
    const after = request.query.after && /^\d{1,15}$/.test(request.query.after) ? Number(request.query.after) : undefined;
    const notes = after === undefined ? [(await ui.vault.audit.queries.latestCheckpoint(web.actor)).note] : (await ui.vault.audit.queries.checkpointsSince(web.actor, after)).map((c) => c.note);
    return reply
      .type('text/plain; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="strongroom-checkpoint${after === undefined ? '' : `s-after-${after}`}.txt"`)
      .send(notes.join('\n'));
  });

  app.get('/audit/verify', async (request, reply) => {
    const web = signedIn(request);
    // Asks decide() for audit.checkpoints before anything else is read or recomputed.
    const alarm = await ui.vault.audit.alarm.integrityAlarm(web.actor);
    await ui.vault.audit.sequencer.integrate();
    // None yet is an answer (null), not an error: a refusal still throws and is shown as one.
    const checkpoint = await ui.vault.audit.queries.newestCheckpoint(web.actor);
    // Whether the whole log verified, and when it was last recomputed: never where it failed (other
    // councils' events), and not a recomputation on every visit (the last result, if recent).
    const result = checkpoint ? await ui.vault.audit.verification.integrity(web.actor) : null;
    // verify() may have just raised it.
    return render(ui, request, reply, 'audit-verify.njk', { checkpoint, result, alarm: alarm ?? (await ui.vault.audit.alarm.integrityAlarm(web.actor)) });
  });
};
