// JSON shapes of the API: what clients see of domain objects (never wrapped keys or blob ids).
import type { Arrangement, Collection, Document, Version } from '../../domain/types.js';

export const presentCollection = (c: Collection) => ({
  id: c.id, organisationId: c.organisationId, parentId: c.parentId, name: c.name, serviceArea: c.serviceArea,
  classification: c.classification, arrangementId: c.arrangementId, createdAt: c.createdAt,
});

export const presentDocument = (d: Document) => ({
  id: d.id, organisationId: d.organisationId, collectionId: d.collectionId, name: d.name, classification: d.classification,
  serviceArea: d.serviceArea, status: d.status, version: d.currentVersion, size: d.size, sha256: d.sha256, mediaType: d.mediaType,
  sourceModifiedAt: d.sourceModifiedAt ?? null, copiedFromDocumentId: d.copiedFromDocumentId, copiedViaArrangementId: d.copiedViaArrangementId, createdAt: d.createdAt, updatedAt: d.updatedAt, deletedAt: d.deletedAt,
});

export const presentVersion = (v: Version) => ({
  number: v.number, size: v.size, sha256: v.sha256, mediaType: v.mediaType, scanStatus: v.scanStatus,
  scanDetail: v.scanDetail, scanEngine: v.scanEngine, scannedAt: v.scannedAt, authorId: v.authorId, createdAt: v.createdAt,
  sourceModifiedAt: v.sourceModifiedAt ?? null,
});

export const presentArrangement = (a: Arrangement) => ({ ...a });
