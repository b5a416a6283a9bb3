// Unambiguous byte encodings of the ids that AES-GCM additional authenticated data binds to.
// Every field is length-prefixed, so ("ab","c") and ("a","bc") can never encode to the same bytes.
import type { BlobBinding } from '../domain/ports.js';

/**
 * Encodes a purpose label followed by fields, each as u32 BE byte length ‖ UTF-8 bytes.
 * The label separates purposes (a blob's AAD can never be mistaken for a wrapped key's).
 */
export function encodeFields(label: string, fields: readonly string[]): Buffer {
  const parts = [label, ...fields].map((field) => Buffer.from(field, 'utf8'));
  const out = Buffer.allocUnsafe(parts.reduce((total, part) => total + 4 + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    offset = out.writeUInt32BE(part.length, offset);
    offset += part.copy(out, offset);
  }
  return out;
}

/** The binding of a version's blob or data key: organisation, document, version, organisation key id. */
export function encodeBinding(label: string, binding: BlobBinding): Buffer {
  return encodeFields(label, [binding.organisationId, binding.documentId, binding.versionId, binding.keyId]);
}
