/**
 * The store port and the registry of stores. The concrete stores (`./local.ts`, `./s3.ts`) are
 * imported directly by main.ts, tests and benchmarks only.
 */
export type { LocalFileStore, Store, StoreEntry, UploadJournal, UploadPart, WriteOptions } from './port.ts';
export { StoreRegistry } from './registry.ts';
