export type { Store, StoreEntry } from './port.ts';
export { LocalStore } from './local.ts';
export { StoreRegistry } from './registry.ts';
