export { KeyService, type DataKeyInfo, type KeyPurpose, type KeyScope } from './key-service.ts';
export { readKeyring, type KeyringFile } from './keyring.ts';
export { loadAuditSigningKey } from './audit-signing-key.ts';
export { generateReleaseSigningKey, loadReleaseSigningKey, releasePublicKey, type ReleaseSigningKey } from './release-signing-key.ts';
