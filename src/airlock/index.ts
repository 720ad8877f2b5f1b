/**
 * Airlock domain: the only way out of a workspace. Release requests of saved result tables with
 * their context, the automatic disclosure report (`./rules/`) against the release ledger, two
 * independent output checkers, signed releases stored under their SHA-256 and downloaded by
 * members only. Other domains and the adapters import only from here.
 */
export { BUNDLE_FORMAT, buildBundle, outputCsv, parseReleasePublicKey, reportSha256, verifyBundle, type Bundle, type BundleDecision, type BundleManifest, type BundleOutput, type BundleVerification, type VerifyCheck } from './bundle.ts';
export * from './policy.ts';
export {
  AirlockService, DEFAULT_MAX_OUTPUT_ROWS, MAX_OUTPUTS_PER_REQUEST,
  type AirlockAudit, type AirlockGovernance, type AirlockKeys, type AirlockProject, type AirlockServiceOptions, type AirlockSigner, type AirlockStore, type AirlockWorkspace,
} from './service.ts';
export type * from './types.ts';
export * from './workflow.ts';
