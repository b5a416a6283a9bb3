// Table types of organisations: the organisation, its key-encryption keys, its header brand and the
// e-mail domains assigned to it.

export interface OrganisationsTable {
  id: string;
  slug: string;
  name: string;
  kind: string;
  region: string;
  file_policy: string | null;
  created_at: string;
}

/** An organisation's own header brand (migration 202612040400_organisation_branding). */
export interface OrganisationBrandingTable {
  organisation_id: string;
  display_name: string | null;
  colour: string | null;
  logo: Buffer | null;
  logo_type: string | null;
  logo_sha256: string | null;
  logo_width: number | null;
  logo_height: number | null;
  updated_at: string;
  updated_by: string | null;
}

export interface OrganisationKeysTable {
  id: string;
  organisation_id: string;
  wrapped: Buffer;
  created_at: string;
  retired_at: string | null;
}

/** The e-mail domains the operator assigned to each organisation (just-in-time accounts only inside them). */
export interface OrganisationEmailDomainsTable {
  domain: string;
  organisation_id: string;
  added_at: string;
}
