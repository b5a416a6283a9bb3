// The SCIM 2.0 schema and message URNs (RFC 7643, RFC 7644) that tests put in request bodies and
// expect in answers, written out here rather than taken from src/ so a changed URN fails the tests.
/** The core User resource (RFC 7643 §4.1). */
export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
/** The enterprise User extension (RFC 7643 §4.3), as Entra ID sends it. */
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
/** The core Group resource (RFC 7643 §4.2). */
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
/** A PATCH request's body (RFC 7644 §3.5.2). */
export const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
/** An error answer's body (RFC 7644 §3.12). */
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
/** A list or query answer's body (RFC 7644 §3.4.2). */
export const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
