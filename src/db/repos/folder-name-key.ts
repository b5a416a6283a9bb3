// The PostgreSQL advisory lock key of a name in a folder, claimed alike by a document (DocumentsRepo.claimName)
// and a sub-collection (CollectionsRepo.claimName) taking it: one name, one thing, in a folder.
export const folderNameKey = (folderId: string, name: string): string => `folder-name:${folderId}/${name}`;
