export type { DataDirLock, LockHolder, LockRole } from './lock.ts';
export { acquireDataDirLock, DataDirInUse, holderIsAlive, LOCK_FILE, lockHolderOf, processStartTime } from './lock.ts';
