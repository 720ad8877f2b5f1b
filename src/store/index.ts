export type { Store, StoreEntry, UploadJournal, UploadPart, WriteOptions } from './port.ts';
export { LocalStore } from './local.ts';
export { StoreRegistry } from './registry.ts';
