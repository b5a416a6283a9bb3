// vaultIdentity: the id made at the first open is durable before it is answered (and so before any
// store marker names it); one the database already holds costs no sync.
import { describe, expect, it } from 'vitest';
import type { SettingsRepository } from '../domain/repositories.js';
import { VAULT_ID_SETTING, vaultIdentity } from './vault-identity.js';

function settingsLogging(steps: string[], known?: string): SettingsRepository {
  const values = new Map<string, string>(known ? [[VAULT_ID_SETTING, known]] : []);
  return {
    get: async (key: string) => values.get(key),
    claim: async (key: string, value: string) => {
      steps.push(`claim ${key}`);
      if (!values.has(key)) values.set(key, value);
      return values.get(key)!;
    },
  } as unknown as SettingsRepository;
}

describe('vaultIdentity', () => {
  it('makes a new id durable before answering it', async () => {
    const steps: string[] = [];
    const id = await vaultIdentity(settingsLogging(steps), async () => void steps.push('durable')).then((answer) => {
      steps.push('answered');
      return answer;
    });
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(steps).toEqual([`claim ${VAULT_ID_SETTING}`, 'durable', 'answered']);
  });

  it('answers an adopted id, durable too, and a known one with no sync', async () => {
    const steps: string[] = [];
    const adopted = '11111111-1111-4111-8111-111111111111';
    expect(await vaultIdentity(settingsLogging(steps), async () => void steps.push('durable'), async () => adopted)).toBe(adopted);
    expect(steps).toEqual([`claim ${VAULT_ID_SETTING}`, 'durable']);
    const quiet: string[] = [];
    expect(await vaultIdentity(settingsLogging(quiet, adopted), async () => void quiet.push('durable'))).toBe(adopted);
    expect(quiet).toEqual([]);
  });
});
