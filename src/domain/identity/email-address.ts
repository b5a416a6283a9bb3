// One e-mail address, as every way in accepts it (the admin pages, the CLI, SCIM, and a provider's
// assertion at first sign-in): no list, no spaces, no quoted or empty local part, no control characters.
const EMAIL_ADDRESS = /^[^\s@",<>()[\]\\;:]+@[^\s@",<>()[\]\\;:]+\.[^\s@",<>()[\]\\;:]+$/;

/**
 * Whether `email` is one address an account may hold. Every way in vouches for an address, not for its
 * shape: "victim@other.gov.uk,x@own.gov.uk" ends in the organisation's own domain, yet would show on
 * every page as another council's person.
 */
export function isEmailAddress(email: string): boolean {
  return EMAIL_ADDRESS.test(email) && !/[\u0000-\u001f\u007f-\u009f]/.test(email);
}
