// Each organisation's own header brand: the display name, header colour and logo its org admin sets,
// which that organisation's own staff see when signed in (never anyone else's staff: pages ask for
// the signed-in person's own organisation's brand, nothing else). Changes are decided by decide()
// (`organisation.brand`, org admins) through AccessService and audited in the same transaction.
import { createHash } from 'node:crypto';
import type { Decision } from '../domain/access/policy.js';
import { displayName, headerColour, type OrganisationBrand, type OrganisationLogoType } from '../domain/branding/brand.js';
import { DomainError, forbidden, invalid, notFound } from '../domain/errors.js';
import type { Clock, LogoImages } from '../domain/ports.js';
import type { Repos, Store } from '../domain/repositories.js';
import type { Actor, Organisation } from '../domain/types.js';
import type { AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import { changeDecidedWithin, organisationAction, type ActingWithin } from './decided-within.js';
import type { IdentityService } from './identity.service.js';

export interface BrandingServiceOptions {
  store: Store;
  access: AccessService;
  clock: Clock;
  logos: LogoImages;
  /** Who the org admin is inside the transaction that writes their change (decided-within.ts). */
  identity: Pick<IdentityService, 'actorWithin'>;
}

/**
 * What an org admin asks to change. A blank name or colour goes back to the deployment's; `logo`
 * undefined keeps the current logo, null removes it, bytes replace it.
 */
export interface BrandChange {
  displayName?: string;
  colour?: string;
  logo?: Buffer | null;
}

/** One refusal of a change, by the form field it concerns. */
export interface BrandProblem {
  field: 'displayName' | 'colour' | 'logo';
  message: string;
}

/** What the header of the organisation's own pages shows (no logo bytes: those are fetched by hash). */
export interface OrganisationHeader {
  displayName: string | null;
  colour: string | null;
  logoSha256: string | null;
}

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

export class BrandingService {
  constructor(private readonly o: BrandingServiceOptions) {}

  /** The header brand of the signed-in person's own organisation (null: the deployment's). */
  async header(organisationId: string): Promise<OrganisationHeader | null> {
    return (await this.o.store.repos.branding.header(organisationId)) ?? null;
  }

  /**
   * The organisation's logo if `sha256` is the current one's. Only ever asked with the signed-in
   * person's own organisation, so one organisation's logo is never served to another's staff.
   */
  async logo(organisationId: string, sha256: string): Promise<{ bytes: Buffer; type: OrganisationLogoType } | null> {
    const brand = await this.o.store.repos.branding.get(organisationId);
    return brand?.logo && brand.logo.sha256 === sha256 ? { bytes: brand.logo.bytes, type: brand.logo.type } : null;
  }

  /** The organisation and its current brand, for the org admin's settings page (and REST GET). */
  async settings(actor: Actor, organisationSlug: string): Promise<{ organisation: Organisation; brand: OrganisationBrand | null }> {
    const { organisation } = await this.authorise(actor, organisationSlug);
    return { organisation, brand: (await this.o.store.repos.branding.get(organisation.id)) ?? null };
  }

  /**
   * Sets the organisation's name, colour and logo. Every problem with the change is found before
   * anything is stored; the first is the error's message and all are in `details.problems`.
   */
  async update(actor: Actor, organisationSlug: string, change: BrandChange): Promise<OrganisationBrand> {
    const { organisation } = await this.authorise(actor, organisationSlug);
    const current = (await this.o.store.repos.branding.get(organisation.id)) ?? null;
    const problems: BrandProblem[] = [];

    let name = current?.displayName ?? null;
    if (change.displayName !== undefined) {
      const checked = displayName(change.displayName);
      if ('problem' in checked) problems.push({ field: 'displayName', message: checked.problem });
      else name = checked.name;
    }
    let colour = current?.colour ?? null;
    if (change.colour !== undefined) {
      if (change.colour.trim() === '') colour = null;
      else {
        const checked = headerColour(change.colour);
        if ('problem' in checked) problems.push({ field: 'colour', message: checked.problem });
        else colour = checked.colour;
      }
    }
    let logo = current?.logo ?? null;
    if (change.logo === null) logo = null;
    else if (change.logo !== undefined) {
      const outcome = await this.o.logos.normalise(change.logo);
      if (!outcome.ok) problems.push({ field: 'logo', message: outcome.problem });
      else logo = { bytes: outcome.bytes, type: outcome.type, sha256: sha256(outcome.bytes), width: outcome.width, height: outcome.height };
    }
    if (problems.length > 0) throw invalid(problems[0]!.message, { field: problems[0]!.field, problems });

    const now = this.o.clock.now();
    const next: OrganisationBrand = { organisationId: organisation.id, displayName: name, colour, logo, updatedAt: now.toISOString(), updatedBy: actor.userId };
    const changed = [
      ...(name !== (current?.displayName ?? null) ? ['name'] : []),
      ...(colour !== (current?.colour ?? null) ? ['colour'] : []),
      ...((logo?.sha256 ?? null) !== (current?.logo?.sha256 ?? null) ? ['logo'] : []),
    ];
    await this.changeWithin(actor, organisation, async (repos, { actor: acting, decision }) => {
      await repos.branding.put(next);
      // What changed, and the result by value or hash: never the logo's bytes, and the name as a hash
      // like every other name in the log (services/audit-events.ts).
      await repos.audit.insert([auditEvent(acting, 'organisation.brand', {
        organisationId: organisation.id,
        ids: {
          organisationId: organisation.id,
          changed: changed.join('+') || 'nothing',
          nameSha256: name === null ? 'none' : sha256(name),
          colour: colour ?? 'none',
          logoSha256: logo?.sha256 ?? 'none',
        },
      }, decision, now)]);
    });
    return next;
  }

  /** Back to the deployment's brand: the organisation's name, colour and logo are all removed. */
  async reset(actor: Actor, organisationSlug: string): Promise<void> {
    const { organisation } = await this.authorise(actor, organisationSlug);
    await this.changeWithin(actor, organisation, async (repos, { actor: acting, decision }) => {
      const removed = await repos.branding.remove(organisation.id);
      await repos.audit.insert([auditEvent(acting, 'organisation.brand', {
        organisationId: organisation.id,
        ids: { organisationId: organisation.id, changed: removed ? 'reset' : 'nothing' },
      }, decision, this.o.clock.now())]);
    });
  }

  /**
   * decide() on `organisation.brand`, its refusal audited by AccessService. Staff of the organisation
   * who are not its org admins are told why (they know their own organisation exists); anyone else
   * learns nothing about it.
   */
  private async authorise(actor: Actor, organisationSlug: string): Promise<{ organisation: Organisation; decision: Decision }> {
    const organisation = await this.o.store.repos.organisations.bySlug(organisationSlug);
    if (!organisation) throw notFound('organisation');
    const target = { organisationId: organisation.id, ids: { organisationId: organisation.id } };
    const decision = await this.o.access.check(actor, 'organisation.brand', { kind: 'organisation', organisationId: organisation.id }, target);
    if (decision.allow) return { organisation, decision };
    if (actor.organisationId === organisation.id) throw ADMINS_ONLY();
    throw notFound('organisation');
  }

  /**
   * Writes a change of the brand, decided again (`organisation.brand`) on the org admin as its transaction reads
   * them (decided-within.ts): the logo's checks take a while, and one switched off or no longer an org admin since
   * the first decision changes nothing (their refusal audited as `organisation.brand`).
   */
  private changeWithin(actor: Actor, organisation: Organisation, change: (repos: Repos, acting: ActingWithin) => Promise<void>): Promise<void> {
    const again = organisationAction('organisation.brand', organisation.id, { organisationId: organisation.id }, 'organisation.brand', 'organisation');
    return changeDecidedWithin(this.o, actor, [{ ...again, refused: ADMINS_ONLY() }], change);
  }
}

/** The problems a refused change carries, by field (for forms that show each beside its field). */
export function brandProblems(error: unknown): BrandProblem[] {
  if (!(error instanceof DomainError) || error.code !== 'INVALID') return [];
  const problems = error.details?.problems;
  return Array.isArray(problems) ? (problems as BrandProblem[]) : [{ field: 'displayName', message: error.message }];
}

/** Told (403) to someone of the organisation who is not its org admin. */
const ADMINS_ONLY = (): DomainError => forbidden('Only an org admin can change your organisation’s branding.');
