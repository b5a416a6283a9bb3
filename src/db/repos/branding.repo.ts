// Organisations' own header brands (organisation_branding), one row per organisation that set one.
import type { Kysely } from 'kysely';
import type { OrganisationBrand, OrganisationLogoType } from '../../domain/branding/brand.js';
import type { BrandingRepository } from '../../domain/branding/repositories.js';
import type { OrganisationBrandingTable, Schema } from '../schema.js';

function toBrand(row: OrganisationBrandingTable): OrganisationBrand {
  const logo = row.logo && row.logo_type && row.logo_sha256
    ? { bytes: Buffer.from(row.logo), type: row.logo_type as OrganisationLogoType, sha256: row.logo_sha256, width: Number(row.logo_width ?? 0), height: Number(row.logo_height ?? 0) }
    : null;
  return { organisationId: row.organisation_id, displayName: row.display_name, colour: row.colour, logo, updatedAt: row.updated_at, updatedBy: row.updated_by };
}

export class BrandingRepo implements BrandingRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async get(organisationId: string): Promise<OrganisationBrand | undefined> {
    const row = await this.db.selectFrom('organisation_branding').selectAll().where('organisation_id', '=', organisationId).executeTakeFirst();
    return row && toBrand(row);
  }

  async header(organisationId: string): Promise<{ displayName: string | null; colour: string | null; logoSha256: string | null } | undefined> {
    const row = await this.db
      .selectFrom('organisation_branding')
      .select(['display_name', 'colour', 'logo_sha256'])
      .where('organisation_id', '=', organisationId)
      .executeTakeFirst();
    return row && { displayName: row.display_name, colour: row.colour, logoSha256: row.logo_sha256 };
  }

  async put(brand: OrganisationBrand): Promise<void> {
    const values = {
      display_name: brand.displayName,
      colour: brand.colour,
      logo: brand.logo?.bytes ?? null,
      logo_type: brand.logo?.type ?? null,
      logo_sha256: brand.logo?.sha256 ?? null,
      logo_width: brand.logo?.width ?? null,
      logo_height: brand.logo?.height ?? null,
      updated_at: brand.updatedAt,
      updated_by: brand.updatedBy,
    };
    // One statement: an update then an insert would let two first saves at once (PostgreSQL, whose
    // transactions do not serialise them) both find no row, and the later insert fail on the key.
    await this.db.insertInto('organisation_branding').values({ organisation_id: brand.organisationId, ...values })
      .onConflict((oc) => oc.column('organisation_id').doUpdateSet(values)).execute();
  }

  async remove(organisationId: string): Promise<boolean> {
    const deleted = await this.db.deleteFrom('organisation_branding').where('organisation_id', '=', organisationId).executeTakeFirst();
    return Number(deleted.numDeletedRows) > 0;
  }
}
