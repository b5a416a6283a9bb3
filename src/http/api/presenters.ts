// JSON shapes of the API: what clients see of domain objects (never wrapped keys or blob ids).
import type { Arrangement, Collection, Document, Version } from '../../domain/types.js';
import type { QuarantinedItem } from '../../services/quarantine.service.js';

export const presentCollection = (c: Collection) => ({
  id: c.id, organisationId: c.organisationId, parentId: c.parentId, name: c.name, serviceArea: c.serviceArea,
  classification: c.classification, arrangementId: c.arrangementId, createdAt: c.createdAt,
});

export const presentDocument = (d: Document) => ({
  id: d.id, organisationId: d.organisationId, collectionId: d.collectionId, name: d.name, classification: d.classification,
  serviceArea: d.serviceArea, status: d.status, version: d.currentVersion, size: d.size, sha256: d.sha256, mediaType: d.mediaType,
  sourceModifiedAt: d.sourceModifiedAt ?? null, copiedFromDocumentId: d.copiedFromDocumentId, copiedViaArrangementId: d.copiedViaArrangementId, createdAt: d.createdAt, updatedAt: d.updatedAt, deletedAt: d.deletedAt,
});

export const presentVersion = (v: Omit<Version, 'sha256' | 'blobId' | 'wrappedKey' | 'keyId'> & { sha256: string | null }) => ({
  number: v.number, size: v.size, sha256: v.sha256, mediaType: v.mediaType, scanStatus: v.scanStatus,
  scanDetail: v.scanDetail, scanEngine: v.scanEngine, scannedAt: v.scannedAt, authorId: v.authorId, createdAt: v.createdAt,
  sourceModifiedAt: v.sourceModifiedAt ?? null,
  // Null for every reader but those the service let see why it was released from quarantine.
  releaseReason: v.releaseReason ?? null,
});

export const presentArrangement = (a: Arrangement) => ({ ...a });

/**
 * A quarantined version as the security admin may see it: `document` null (and `collection` null when the
 * folder is above their clearance too) for a file above their clearance, whose name they are not told.
 */
export const presentQuarantinedItem = (i: QuarantinedItem) => ({
  versionId: i.versionId, classification: i.classification, serviceArea: i.serviceArea,
  document: i.document ? presentDocument(i.document) : null, collection: i.collection,
  version: presentVersion(i.version), may: i.may,
});

/** How the OpenAPI document tells a name already taken: one name, one thing, in a folder (services/name-claims.ts). */
export const NAME_TAKEN_409 = 'A name that a document or a sub-collection already has in that collection is refused (409): '
  + '"A document called … already exists …" or "A collection called … already exists there." to someone who may see it, '
  + 'otherwise "The name … cannot be used …".';
