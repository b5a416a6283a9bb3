// Small named values the service keeps between runs (e.g. the scanner signature version last seen).
import type { Kysely } from 'kysely';
import type { SettingsRepository } from '../../domain/repositories.js';
import type { Schema } from '../schema.js';

export class SettingsRepo implements SettingsRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async get(key: string): Promise<string | undefined> {
    return (await this.db.selectFrom('key_values').select('value').where('key', '=', key).executeTakeFirst())?.value;
  }

  /** One statement, so of several processes claiming at once exactly one value is kept, and all read it. */
  async claim(key: string, value: string): Promise<string> {
    await this.db.insertInto('key_values').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()).execute();
    return (await this.get(key))!;
  }

  async set(key: string, value: string): Promise<void> {
    const updated = await this.db.updateTable('key_values').set({ value }).where('key', '=', key).executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) await this.db.insertInto('key_values').values({ key, value }).execute();
  }
}
