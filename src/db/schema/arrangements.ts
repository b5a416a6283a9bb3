// Table types of shared-service arrangements: the arrangement, its parties and its revisions.

export interface ArrangementsTable {
  id: string;
  host_organisation_id: string;
  service_area: string;
  purpose: string;
  lawful_basis: string;
  agreement_reference: string | null;
  access_level: string;
  ceiling: string;
  starts_at: string;
  ends_at: string | null;
  annual_saving_pounds: number;
  status: string;
  revision: number;
  terms_revision: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface ArrangementPartiesTable {
  arrangement_id: string;
  organisation_id: string;
  accepted_at: string | null;
  accepted_by: string | null;
}

export interface ArrangementRevisionsTable {
  arrangement_id: string;
  revision: number;
  change: string;
  snapshot: string;
  changed_by: string | null;
  changed_at: string;
}
