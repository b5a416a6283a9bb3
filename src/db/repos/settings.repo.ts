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

  async replace(key: string, expected: string | undefined, value: string): Promise<boolean> {
    if (expected === undefined) {
      const result = await this.db.insertInto('key_values').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()).executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    }
    const result = await this.db.updateTable('key_values').set({ value }).where('key', '=', key).where('value', '=', expected).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** One statement, so two processes setting a key nobody has set yet do not both insert it (the later one's value is kept). */
  async set(key: string, value: string): Promise<void> {
    await this.db.insertInto('key_values').values({ key, value }).onConflict((oc) => oc.column('key').doUpdateSet({ value })).execute();
  }
}
