export { KeyService, type DataKeyInfo, type KeyPurpose, type KeyScope } from './key-service.ts';
export { readKeyring, type KeyringFile } from './keyring.ts';
