// Each organisation's own header brand, set by its org admin: a display name, a header colour and a
// logo (already checked and re-encoded: PNG or JPEG, at most 200 KB). No row: the deployment's brand.
import type { Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

export async function up(db: Kysely<any>, caps: DialectCaps): Promise<void> {
  await db.schema
    .createTable('organisation_branding')
    .addColumn('organisation_id', 'text', (c) => c.primaryKey().references('organisations.id'))
    .addColumn('display_name', 'text')
    /** #rrggbb, lower case, dark enough for white header text. */
    .addColumn('colour', 'text')
    .addColumn('logo', caps.binary)
    .addColumn('logo_type', 'text')
    /** Hex SHA-256 of the stored logo: the logo's address carries it, so a changed logo is a new address. */
    .addColumn('logo_sha256', 'text')
    .addColumn('logo_width', 'integer')
    .addColumn('logo_height', 'integer')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('updated_by', 'text')
    .execute();
}
