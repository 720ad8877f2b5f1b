import type { ColumnRole, CsvHints, OutputTable } from './types.ts';

/** Role of a column from its conventional name (n, count, effectif, nb_*, sum_*, mean_*, n_contributors, top1, …). */
export declare function inferRole(name: string): ColumnRole;
/** Parses a CSV output; errors (AppError 'invalid') name the file, line and column. */
export declare function parseCsvOutput(text: string, fileName: string, hints?: CsvHints): OutputTable;
