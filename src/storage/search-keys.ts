// Per-organisation search keys (domain/ports.ts SearchKeys), derived from the master key with
// HKDF-SHA256, so the database alone cannot compute a term's hash or open a snippet's text.
import type { SearchKeys } from '../domain/ports.js';
import type { MasterKey } from './keys.js';

export class DerivedSearchKeys implements SearchKeys {
  readonly #terms = new Map<string, Buffer>();
  readonly #texts = new Map<string, Buffer>();

  constructor(private readonly master: Pick<MasterKey, 'derive'>) {}

  /** HKDF info `strongroom/search terms v1:<orgId>` (MasterKey.derive prefixes every purpose with `strongroom/`). */
  termKey(organisationId: string): Buffer {
    return this.#cached(this.#terms, `search terms v1:${organisationId}`, organisationId);
  }

  /** HKDF info `strongroom/search text v1:<orgId>`. */
  textKey(organisationId: string): Buffer {
    return this.#cached(this.#texts, `search text v1:${organisationId}`, organisationId);
  }

  #cached(cache: Map<string, Buffer>, purpose: string, organisationId: string): Buffer {
    let key = cache.get(organisationId);
    if (!key) {
      key = this.master.derive(purpose);
      cache.set(organisationId, key);
    }
    return key;
  }
}
