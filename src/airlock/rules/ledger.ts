import type { CheckContext, DisclosureFlag, DisclosureRules, LedgerCell, OutputTable } from './types.ts';

/** SHA-256 hex of a population definition, normalised (case, spaces). */
export declare function populationHash(definition: string): string;
/** The cells of an approved output the ledger keeps (one per count cell). */
export declare function ledgerCellsOf(output: OutputTable, release: { readonly projectId: string; readonly releaseId: string }): LedgerCell[];
/** Differencing flags of outputs against the ledger and against each other. */
export declare function checkLedger(outputs: readonly OutputTable[], rules: DisclosureRules, ledger: readonly LedgerCell[], context?: CheckContext): DisclosureFlag[];
