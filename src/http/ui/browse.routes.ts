// Home and browsing: recent documents and notices, an organisation's collections (own and, through
// arrangements, partners'), and a collection's sub-collections and documents.
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ENDING_NOTICE_DAYS, endsSoon } from '../../domain/arrangements/standing.js';
import { invalid } from '../../domain/errors.js';
import type { Organisation } from '../../domain/types.js';
import { collectionResource } from '../../services/access.service.js';
import { arrangementResource } from '../../services/arrangements.service.js';
import type { CollectionTrail } from '../../services/collections.service.js';
import { render, signedIn, type Ui, type WebContext } from './context.js';
import { collectionFilingPanel } from './records.routes.js';

/** Documents on one screen of a folder's page: a GOV.UK table this long still reads, and the next screen is a link away. */
export const FOLDER_SCREEN = 500;

const NOTICES: Record<string, string> = {
  'signed-in': 'You are signed in.',
  deleted: 'The document was deleted. You can restore it from its page.',
  retention: 'The retention was updated.',
};

export async function organisationNames(ui: Ui): Promise<Map<string, Organisation>> {
  return new Map((await ui.vault.organisations.listOrganisations()).map((o) => [o.id, o]));
}

/** Organisations whose collections this person may reach through arrangements in force (decided by the access service). */
export function partnersOf(ui: Ui, web: WebContext): Promise<string[]> {
  return ui.vault.access.reachableOrganisations(web.actor);
}

/** Breadcrumbs down to a collection, from the service's trail: folders the reader may not list show as "…" with no link. */
export function breadcrumbsFor(trail: CollectionTrail, orgs: Map<string, Organisation>): { text: string; href?: string }[] {
  const org = trail.organisationId === null ? undefined : orgs.get(trail.organisationId);
  return [
    { text: 'Home', href: '/' },
    ...(org ? [{ text: org.name, href: `/organisations/${org.slug}` }] : []),
    ...trail.steps.map((c) => (c ? { text: c.name, href: `/collections/${c.id}` } : { text: '…' })),
  ];
}

export const browsePages = (ui: Ui): FastifyPluginAsync => async (app) => {
  app.get<{ Querystring: { notice?: string } }>('/', async (request, reply) => {
    const web = signedIn(request);
    const { actor } = web;
    const orgs = await organisationNames(ui);
    const [recent, notices, arrangements] = await Promise.all([
      ui.people.recentDocuments(actor, 10),
      ui.people.notices(actor, 10),
      ui.vault.arrangements.list(actor, { organisationId: web.organisation.id }),
    ]);
    // What to offer is asked of the same rules the actions enforce: the quarantine, acceptances waiting for this
    // organisation, and arrangements ending soon, pointed out to whoever may end them (either party's org admins).
    const drafts = arrangements.filter((a) => a.status === 'draft');
    const ending = arrangements.filter((a) => endsSoon(a, ui.vault.clock.now()));
    const [reviewsQuarantine = false, ...answers] = await ui.vault.access.can(actor, [
      { action: 'quarantine.list', resource: { kind: 'organisation', organisationId: web.organisation.id } },
      ...drafts.map((a) => ({ action: 'arrangement.accept' as const, resource: arrangementResource(a), acceptance: { organisationId: web.organisation.id, reviewedRevision: a.revision } })),
      ...ending.map((a) => ({ action: 'arrangement.end' as const, resource: arrangementResource(a) })),
    ]);
    const quarantine = reviewsQuarantine ? await ui.vault.quarantine.list(actor) : [];
    const awaiting = drafts.filter((_, i) => answers[i]);
    const endingSoon = ending.filter((_, i) => answers[drafts.length + i]);
    const ownAreas = [...new Set((await ui.vault.collections.roots(actor, web.organisation.id)).map((c) => c.serviceArea))].sort();
    const shared = arrangements.filter((a) => a.standing === 'in-force').map((a) => ({
      arrangement: a,
      host: orgs.get(a.hostOrganisationId),
      partners: a.partnerOrganisationIds.map((id) => orgs.get(id)).filter((o): o is Organisation => o !== undefined),
    }));
    return render(ui, request, reply, 'home.njk', {
      recent, notices, quarantine, awaiting, endingSoon, endingNoticeDays: ENDING_NOTICE_DAYS, ownAreas, shared, orgs: Object.fromEntries(orgs),
      partners: (await partnersOf(ui, web)).map((id) => orgs.get(id)).filter(Boolean),
      notice: NOTICES[request.query.notice ?? ''] ?? null,
    });
  });

  app.get<{ Params: { slug: string } }>('/organisations/:slug', async (request, reply) => {
    const web = signedIn(request);
    const organisation = await ui.vault.organisations.organisationBySlug(request.params.slug);
    const collections = await ui.vault.collections.roots(web.actor, organisation.id);
    const orgs = await organisationNames(ui);
    const partners = (await partnersOf(ui, web)).map((id) => orgs.get(id)).filter(Boolean);
    return render(ui, request, reply, 'organisation.njk', { shown: organisation, collections, partners, own: organisation.id === web.organisation.id });
  });

  app.get<{ Params: { id: string }; Querystring: { deleted?: string; notice?: string; after?: string; afterId?: string } }>('/collections/:id', async (request, reply) => {
    const web = signedIn(request);
    const showDeleted = request.query.deleted === '1';
    const { after, afterId } = request.query;
    if (typeof afterId === 'string' && (typeof after !== 'string' || !z.uuid().safeParse(afterId).success)) throw invalid('That page of the folder does not exist.');
    // A screen at a time (a folder of any size, never cut short unsaid), binned documents too in the bin view: a screen
    // continues after the last name and id shown, as binned documents may share a name.
    const listing = await ui.vault.collections.screen(web.actor, request.params.id, FOLDER_SCREEN, {
      ...(showDeleted ? { includeDeleted: true } : {}),
      ...(typeof after === 'string' ? { documentsAfter: after } : {}), ...(typeof afterId === 'string' ? { documentsAfterId: afterId } : {}),
    });
    const orgs = await organisationNames(ui);
    const mayUpload = await ui.vault.access.may(web.actor, 'document.create', collectionResource(listing.collection));
    const holds = await ui.vault.holds.holdsForCollection(web.actor, listing.collection.id);
    const mayHold = listing.collection.organisationId === web.organisation.id && await ui.vault.access.may(web.actor, 'records.hold', { kind: 'organisation', organisationId: listing.collection.organisationId });
    return render(ui, request, reply, 'collection.njk', {
      listing, mayUpload, holds, mayHold, breadcrumbs: breadcrumbsFor(await ui.vault.collections.trail(web.actor, listing.collection.id), orgs), owner: orgs.get(listing.collection.organisationId),
      showDeleted, notice: NOTICES[request.query.notice ?? ''] ?? null, pagedOn: typeof after === 'string',
      filingPanel: await collectionFilingPanel(ui, web.actor, listing.collection),
    });
  });
};
