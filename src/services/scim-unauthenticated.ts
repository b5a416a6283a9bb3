// The refusal of a SCIM request whose token is unknown, revoked or no longer stands (asked at authentication, and
// again inside a directory's change: IdentityService.actorWithin).
import { DomainError } from '../domain/errors.js';

export const scimUnauthenticated = (): DomainError => new DomainError('UNAUTHENTICATED', 'A valid SCIM bearer token is required: create one on the organisation\'s "SCIM provisioning" page, and send it as "Authorization: Bearer <token>".');
