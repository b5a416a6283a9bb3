// Every vault a test opens, like every process the run starts (global-setup.ts), hashes passwords
// cheaply: at the standard cost, about 0.45 s of CPU per hash or check on two cores, hashing was a large
// share of the run. The standard cost has its own test (src/integrations/argon2.password-hasher.test.ts).
export const TEST_PASSWORD_HASHING = { STRONGROOM_PASSWORD_HASHING: 'test-only-weak' } as const;
