// Organisations: adding one (the operator's), looking them up, and the e-mail domains assigned to each,
// where its identity providers may make accounts just in time.
import { randomUUID } from 'node:crypto';
import { conflict, invalid, notFound } from '../domain/errors.js';
import { normaliseEmailDomain } from '../domain/identity/federation.js';
import type { Clock } from '../domain/ports.js';
import type { Actor, Organisation } from '../domain/types.js';
import type { Repos, Store } from '../domain/repositories.js';
import type { Decision } from '../domain/access/policy.js';
import type { AccessService } from './access.service.js';
import { refusedIfTaken } from './already-taken.js';
import { auditEvent } from './audit-events.js';

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

export class OrganisationsService {
  constructor(private readonly o: {
    store: Store; clock: Clock; access: AccessService;
    /** Gives a new organisation its file plan, in the transaction that creates it (RetentionService.seedFilePlan). */
    filePlan?: { seed(repos: Repos, organisationId: string, actor: Actor, decision: Decision, now: Date): Promise<number> };
  }) {}

  /** Adds an organisation: decide() lets the system (CLI administration) do it, and no user role. */
  async addOrganisation(actor: Actor, input: { slug: string; name: string; region?: string; kind?: string }): Promise<Organisation> {
    const id = randomUUID();
    const decision = await this.o.access.require(actor, 'organisation.create', { kind: 'organisation', organisationId: id }, { organisationId: null, ids: {} }, { missing: 'organisation' });
    if (!SLUG.test(input.slug)) throw invalid('The slug must be lower-case letters, digits and hyphens (e.g. "north-shire").', { field: 'slug' });
    if (!input.name.trim()) throw invalid('An organisation name is required.', { field: 'name' });
    const refuseIfTaken = async () => {
      if (await this.o.store.repos.organisations.bySlug(input.slug)) throw conflict(`An organisation with slug "${input.slug}" already exists.`);
    };
    await refuseIfTaken();
    const now = this.o.clock.now();
    const org: Organisation = { id, slug: input.slug, name: input.name.trim(), kind: input.kind ?? 'council', region: input.region ?? 'Unspecified', createdAt: now.toISOString() };
    await refusedIfTaken(() => this.o.store.transaction(async (repos) => {
      await repos.organisations.insert(org);
      await repos.audit.insert([auditEvent(actor, 'organisation.create', { organisationId: org.id, ids: { organisationId: org.id } }, decision, now)]);
      await this.o.filePlan?.seed(repos, org.id, actor, decision, now);
    }), refuseIfTaken);
    return org;
  }

  /** The e-mail domains assigned to the organisation (where its providers may make accounts just in time). */
  async emailDomains(slug: string): Promise<string[]> {
    return this.o.store.repos.federation.emailDomains((await this.organisationBySlug(slug)).id);
  }

  /**
   * Assigns and withdraws an organisation's e-mail domains: the operator's (system) alone. A domain belongs
   * to one organisation; assigning one another organisation holds is refused, naming nobody.
   */
  async changeEmailDomains(actor: Actor, slug: string, change: { add?: readonly string[]; remove?: readonly string[] }): Promise<string[]> {
    const org = await this.organisationBySlug(slug);
    const decision = await this.o.access.requireOrganisation(actor, 'organisation.email-domains', org.id);
    const parse = (text: string) => {
      const domain = normaliseEmailDomain(text);
      if (!domain) throw invalid(`"${text}" is not an e-mail domain: write it like northshire.gov.uk.`, { field: 'domain' });
      return domain;
    };
    const add = [...new Set((change.add ?? []).map(parse))];
    const remove = [...new Set((change.remove ?? []).map(parse))];
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      for (const domain of add) {
        const owner = await repos.federation.emailDomainOwner(domain);
        if (owner === org.id) continue;
        if (owner !== undefined || !(await repos.federation.addEmailDomain(org.id, domain, now.toISOString()))) {
          throw conflict(`The e-mail domain ${domain} is already assigned to another organisation. Withdraw it there first if it has moved.`);
        }
      }
      for (const domain of remove) await repos.federation.removeEmailDomain(org.id, domain);
      const domains = await repos.federation.emailDomains(org.id);
      await repos.audit.insert([auditEvent(actor, 'organisation.email-domains', { organisationId: org.id, ids: { organisationId: org.id, domains: domains.join(' ') } }, decision, now)]);
    });
    return this.o.store.repos.federation.emailDomains(org.id);
  }

  async organisationBySlug(slug: string): Promise<Organisation> {
    const org = await this.o.store.repos.organisations.bySlug(slug);
    if (!org) throw notFound(`organisation "${slug}"`);
    return org;
  }

  organisation(id: string): Promise<Organisation | undefined> {
    return this.o.store.repos.organisations.byId(id);
  }

  listOrganisations(): Promise<Organisation[]> {
    return this.o.store.repos.organisations.list();
  }
}
