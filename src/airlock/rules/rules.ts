import type { DisclosureRules } from './types.ts';

/** Platform defaults (see docs/airlock-rules.md for each source). */
export declare const DEFAULT_RULES: DisclosureRules;
/** Zod schema of a rules file (every field optional; missing fields take the defaults). */
export declare const DisclosureRulesSchema: unknown;
/** Rules from a permit document (its `disclosure` terms) or a rules JSON object; throws AppError('invalid') naming the field. */
export declare function rulesFrom(permitTermsOrJson: unknown, source?: string): DisclosureRules;
