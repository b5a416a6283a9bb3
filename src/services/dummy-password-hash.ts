// The hash of a password no one knows, made once per process: an answer that has no real hash to check (an
// unknown e-mail address, an account without a password, one whose seal does not match) checks this one, so
// it takes as long as a wrong password's and response times do not tell which accounts exist.
import type { WebSessionsOptions } from './web-sessions.service.js';
import { newSecret } from './web-session-ids.js';

export class DummyPasswordHash {
  private dummyHash: Promise<string> | null = null;

  constructor(private readonly o: Pick<WebSessionsOptions, 'passwords'>) {}

  async value(): Promise<string> {
    // A hash refused (the password checks busy: password-check-gate.ts) is made again by the next caller, not kept.
    this.dummyHash ??= this.o.passwords.hash(newSecret()).catch((error: unknown) => {
      this.dummyHash = null;
      throw error;
    });
    return this.dummyHash;
  }
}
