// The loser of a race for a unique key (two requests adding the same person or organisation at once: both
// found it free, one insert then met the other's row) answered as the service's own check answers.
import { AlreadyExistsError } from '../domain/errors.js';

/**
 * Runs `insert`. When it lost the race for a unique key (the repository's AlreadyExistsError), asks the
 * service's "is it taken?" check again, which now refuses with the very answer a later duplicate gets; if
 * by then nothing holds the key, the AlreadyExistsError itself (409) is the answer.
 */
export async function refusedIfTaken<T>(insert: () => Promise<T>, refuseIfTaken: () => Promise<void>): Promise<T> {
  try {
    return await insert();
  } catch (error) {
    if (error instanceof AlreadyExistsError) await refuseIfTaken();
    throw error;
  }
}
