import type { CheckContext, DisclosureReport, DisclosureRules, LedgerCell, OutputTable } from './types.ts';

/** The disclosure report of a request's outputs: pure and deterministic. */
export declare function checkOutputs(outputs: readonly OutputTable[], rules: DisclosureRules, ledger: readonly LedgerCell[], context?: CheckContext): DisclosureReport;
