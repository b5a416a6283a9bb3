// What an arrangement means now, as its readers need to see it. The stored status is its lifecycle
// (draft, active, suspended, ended); an active arrangement still opens nothing before it starts or
// after its end date passes, and no event marks either moment. Pages, the API, the CLI and the
// savings report show the standing, so nobody reads an arrangement as in force when decide() does not.
import { arrangementInForce } from '../access/arrangement-reach.js';
import type { Arrangement } from '../types.js';

export const ARRANGEMENT_STANDINGS = ['draft', 'scheduled', 'in-force', 'expired', 'suspended', 'ended'] as const;
export type ArrangementStanding = (typeof ARRANGEMENT_STANDINGS)[number];

/** An arrangement with what it means at the time it was read. */
export type StandingArrangement = Arrangement & { standing: ArrangementStanding };

export function arrangementStanding(arrangement: Arrangement, now: Date): ArrangementStanding {
  if (arrangement.status !== 'active') return arrangement.status;
  // In force exactly when decide() says so: the same function answers both.
  if (arrangementInForce(arrangement, now)) return 'in-force';
  if (arrangement.endsAt !== null && Date.parse(arrangement.endsAt) <= now.getTime()) return 'expired';
  if (Date.parse(arrangement.startsAt) > now.getTime()) return 'scheduled';
  // Active without every partner's acceptance cannot be reached through the lifecycle; shown as what it is.
  return 'draft';
}

export function withStanding(arrangement: Arrangement, now: Date): StandingArrangement {
  return { ...arrangement, standing: arrangementStanding(arrangement, now) };
}

/** How long before its end date an arrangement in force is pointed out to those who run it: time to renew or wind down. */
export const ENDING_NOTICE_DAYS = 30;

/** In force now and ending within ENDING_NOTICE_DAYS: the parties' org admins are told on their home page. */
export function endsSoon(arrangement: StandingArrangement, now: Date): boolean {
  return arrangement.standing === 'in-force' && arrangement.endsAt !== null
    && Date.parse(arrangement.endsAt) - now.getTime() <= ENDING_NOTICE_DAYS * 24 * 3_600_000;
}
