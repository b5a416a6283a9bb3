// The PostgreSQL advisory lock key of a name in a folder, claimed alike by a document (DocumentsRepo.claimName)
// and a sub-collection (CollectionsRepo.claimName) taking it: one name, one thing, in a folder. Taken on the name's key
// (domain/names.ts nameKey), so `Minutes.docx` and `minutes.docx` claimed at once wait for each other.
import { nameKey } from '../../domain/names.js';

export const folderNameKey = (folderId: string, name: string): string => `folder-name:${folderId}/${nameKey(name)}`;
