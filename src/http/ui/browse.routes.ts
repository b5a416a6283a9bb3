// Home and browsing: recent documents and notices, an organisation's collections (own and, through
// arrangements, partners'), and a collection's sub-collections and documents.
import type { FastifyPluginAsync } from 'fastify';
import type { Actor, Collection, Organisation } from '../../domain/types.js';
import { render, signedIn, type Ui, type WebContext } from './context.js';

const NOTICES: Record<string, string> = {
  'signed-in': 'You are signed in.',
  deleted: 'The document was deleted. You can restore it from its page.',
};

export async function organisationNames(ui: Ui): Promise<Map<string, Organisation>> {
  return new Map((await ui.vault.identity.listOrganisations()).map((o) => [o.id, o]));
}

/** Organisations whose collections this person may reach through arrangements in force (decided by the access service). */
export function partnersOf(ui: Ui, web: WebContext): Promise<string[]> {
  return ui.vault.access.reachableOrganisations(web.actor);
}

/** Breadcrumbs down to `collection`: folders the reader may not list show as "…" with no link. */
export async function breadcrumbsFor(ui: Ui, actor: Actor, collection: Collection, orgs: Map<string, Organisation>) {
  const trail = await ui.vault.collections.trail(actor, collection);
  const org = orgs.get(collection.organisationId);
  return [
    { text: 'Home', href: '/' },
    ...(org ? [{ text: org.name, href: `/organisations/${org.slug}` }] : []),
    ...trail.map((c) => (c ? { text: c.name, href: `/collections/${c.id}` } : { text: '…' })),
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
    const quarantine = web.user.roles.includes('security_admin') ? await ui.vault.quarantine.list(actor) : [];
    const awaiting = web.user.roles.includes('org_admin')
      ? arrangements.filter((a) => a.status === 'draft' && a.partnerOrganisationIds.includes(web.organisation.id) && !a.acceptedBy.includes(web.organisation.id))
      : [];
    const ownAreas = [...new Set((await ui.vault.collections.roots(actor, web.organisation.id)).map((c) => c.serviceArea))].sort();
    const shared = arrangements.filter((a) => a.status === 'active').map((a) => ({
      arrangement: a,
      host: orgs.get(a.hostOrganisationId),
      partners: a.partnerOrganisationIds.map((id) => orgs.get(id)).filter((o): o is Organisation => o !== undefined),
    }));
    return render(ui, request, reply, 'home.njk', {
      recent, notices, quarantine, awaiting, ownAreas, shared, orgs: Object.fromEntries(orgs),
      partners: (await partnersOf(ui, web)).map((id) => orgs.get(id)).filter(Boolean),
      notice: NOTICES[request.query.notice ?? ''] ?? null,
    });
  });

  app.get<{ Params: { slug: string } }>('/organisations/:slug', async (request, reply) => {
    const web = signedIn(request);
    const organisation = await ui.vault.identity.organisationBySlug(request.params.slug);
    const collections = await ui.vault.collections.roots(web.actor, organisation.id);
    const orgs = await organisationNames(ui);
    const partners = (await partnersOf(ui, web)).map((id) => orgs.get(id)).filter(Boolean);
    return render(ui, request, reply, 'organisation.njk', { shown: organisation, collections, partners, own: organisation.id === web.organisation.id });
  });

  app.get<{ Params: { id: string }; Querystring: { deleted?: string; notice?: string } }>('/collections/:id', async (request, reply) => {
    const web = signedIn(request);
    const listing = await ui.vault.collections.get(web.actor, request.params.id, { includeDeleted: request.query.deleted === '1' });
    const orgs = await organisationNames(ui);
    return render(ui, request, reply, 'collection.njk', {
      listing, breadcrumbs: await breadcrumbsFor(ui, web.actor, listing.collection, orgs), owner: orgs.get(listing.collection.organisationId),
      showDeleted: request.query.deleted === '1', notice: NOTICES[request.query.notice ?? ''] ?? null,
    });
  });
};
