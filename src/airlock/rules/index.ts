/**
 * Disclosure rules of the airlock (issue 13): pure functions from outputs, rules and the release
 * ledger to a disclosure report. No I/O: the airlock service stores requests and the ledger, the
 * CLI reads CSV files; both call `checkOutputs` and get the same report.
 *
 * @example
 *   const rules = rulesFrom(permit.document);               // or rulesFrom(JSON.parse(file))
 *   const out = parseCsvOutput(csvText, 'by-dept.csv', {});
 *   const report = checkOutputs([out], rules, ledgerCells, { projectId });
 *   if (report.summary.status === 'blocked') …
 *   // once released: ledger.push(...ledgerCellsOf(out, { projectId, releaseId }))
 */
export * from './types.ts';
export { DEFAULT_RULES, rulesFrom, withCatalogIdentifiers, DisclosureRulesSchema, MINIMUM_COUNT, DOMINANCE, P_RATIO, MINIMUM_RESIDUAL_DF, MINIMUM_EVENTS_PER_STEP } from './rules.ts';
export { parseCsvOutput, parseCsvHints, outputFromRows, inferRole, inferKind } from './csv.ts';
export { checkOutputs } from './check.ts';
export { ledgerCellsOf, populationHash, checkLedger } from './ledger.ts';
export { minimumCount, dominance, pRatio, residualDf, survivalStep, isIdentifierColumn, looksLikeIdentifier, identifierCrossing, quasiIdentifierClass } from './cell-rules.ts';
