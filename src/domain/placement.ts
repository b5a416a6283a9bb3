// Facts derived from where a document or collection sits: its arrangement binding, service area and
// classification floor. Every operation that changes a place (create, rename, move, copy, restore)
// asks these functions, so a derived fact can never go stale when its place changes.
import type { Classification, Collection, Document, ServiceArea } from './types.js';
import { classificationAtMost } from './types.js';

/** What a collection hands down to whatever it contains. */
export type Place = Pick<Collection, 'id' | 'organisationId' | 'serviceArea' | 'classification' | 'arrangementId'>;

export interface DocumentPlacement {
  organisationId: string;
  collectionId: string;
  serviceArea: ServiceArea;
  /** Raised to the collection's classification when it sits below it; never lowered (that is a decision, made by a person with a reason). */
  classification: Classification;
  arrangementId: string | null;
}

export interface CollectionPlacement {
  organisationId: string;
  parentId: string | null;
  serviceArea: ServiceArea;
  classification: Classification;
  arrangementId: string | null;
}

export function higherClassification(a: Classification, b: Classification): Classification {
  return classificationAtMost(a, b) ? b : a;
}

/** Where a document would be, and with what derived facts, if it lived in `place`. */
export function placeDocument(document: Pick<Document, 'classification'>, place: Place): DocumentPlacement {
  return {
    organisationId: place.organisationId,
    collectionId: place.id,
    serviceArea: place.serviceArea,
    classification: higherClassification(document.classification, place.classification),
    arrangementId: place.arrangementId,
  };
}

/**
 * A collection under `parent` (or at the top level when null). A sub-collection belongs to exactly
 * the arrangement its parent belongs to — an internal parent unbinds it. Only a joint workspace root
 * carries a binding of its own, and it keeps it while it stays a root; a sub-collection lifted to
 * the top level does not become a workspace by being moved.
 */
export function placeCollection(
  collection: Pick<Collection, 'organisationId' | 'parentId' | 'serviceArea' | 'classification' | 'arrangementId'>,
  parent: Place | null,
): CollectionPlacement {
  if (parent === null) {
    return {
      organisationId: collection.organisationId,
      parentId: null,
      serviceArea: collection.serviceArea,
      classification: collection.classification,
      arrangementId: collection.parentId === null ? collection.arrangementId : null,
    };
  }
  return {
    organisationId: parent.organisationId,
    parentId: parent.id,
    serviceArea: parent.serviceArea,
    classification: higherClassification(collection.classification, parent.classification),
    arrangementId: parent.arrangementId,
  };
}

/** Whether any derived fact of a document differs from where it now sits. */
export function documentPlacementChanged(document: Pick<Document, 'organisationId' | 'collectionId' | 'serviceArea' | 'classification' | 'arrangementId'>, placement: DocumentPlacement): boolean {
  return document.organisationId !== placement.organisationId || document.collectionId !== placement.collectionId || document.serviceArea !== placement.serviceArea
    || document.classification !== placement.classification || document.arrangementId !== placement.arrangementId;
}
