/**
 * Identity domain: who is acting. People and platform roles, sessions, API tokens, the OpenID
 * Connect relying party, and the embedded OpenID provider of the default installation.
 * Other domains import only from here.
 */
export { actorOf, isReviewingRole, isRole, PLATFORM_ROLES, REVIEWING_ROLES, type Principal, type Role } from './roles.ts';
export type { ApiTokenInfo, DemoLoginChange, DirectoryEntry, Person, RoleChange } from './repository.ts';
export {
  API_TOKEN_MAX_DAYS,
  API_TOKEN_PREFIX,
  DEFAULT_SESSION_POLICY,
  IdentityService,
  type IdentityAudit,
  type IdentityServiceOptions,
  type NewSession,
  type ResolvedSession,
  type SessionPolicy,
  type VerifiedLogin,
} from './service.ts';
export { base32Decode, base32Encode, hotp, newTotpSecret, otpauthUri, totp, totpStep, totpStepOf, verifyTotp } from './totp.ts';
export { LOGIN_FLOW_TTL_MS, OidcRelyingParty, type OidcSettings } from './oidc-client.ts';
export { profileFromClaims, PSC_PROFESSIONS, type ClaimsProfile } from './claims.ts';
export { DEMO_PEOPLE, EMBEDDED_ISSUER_ID, LOCKOUT_MS, listAccounts as listIdpAccounts, seedDemoPeople, type IdpAccount, type SeededDemoPerson } from './idp-accounts.ts';
export { oidcStoreAdapter, OIDC_STORE_PRUNE_INTERVAL_MS } from './oidc-store.ts';
export { ACR_PASSWORD_AND_OTP, createEmbeddedIdp, IDP_MOUNT, loadOrCreateIdpSecrets, type EmbeddedIdpOptions, type EmbeddedIdpSecrets } from './embedded-idp.ts';
export { hashPassword, verifyPassword } from './passwords.ts';
export { SCRAM_ITERATIONS, scramSalt, scramVerifier, type ScramVerifier } from './scram.ts';
