// The database as the branding service sees it: one row per organisation that set its own brand.
import type { OrganisationBrand } from './brand.js';

export interface BrandingRepository {
  /** The organisation's brand, logo bytes included; undefined when it keeps the deployment's. */
  get(organisationId: string): Promise<OrganisationBrand | undefined>;
  /** What a page header needs, without the logo's bytes (read on every signed-in page). */
  header(organisationId: string): Promise<{ displayName: string | null; colour: string | null; logoSha256: string | null } | undefined>;
  /** Replaces the organisation's brand with this one. */
  put(brand: OrganisationBrand): Promise<void>;
  /** Back to the deployment's brand; true if there was one to remove. */
  remove(organisationId: string): Promise<boolean>;
}
