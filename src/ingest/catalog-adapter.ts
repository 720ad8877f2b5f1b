import type { CatalogService } from '../catalog/index.ts';
import type { IngestCatalog } from './ingest-service.ts';

/** What ingestion needs of the catalogue, taken from the catalogue service. */
export function ingestCatalogFrom(catalog: CatalogService): IngestCatalog {
  return {
    listTables: (dataset) => catalog.getTables(dataset),
    async nomenclatureCodes(name) {
      const known = (await catalog.listNomenclatures()).find((n) => n.name === name);
      if (known === undefined || !known.codesAvailable) return undefined;
      const codes = [...(await catalog.nomenclatureCodes(name))];
      // A calendar (IR_DTE_V: one code per day, spelled as a SAS datetime) is not a code list:
      // the columns linked to it are checked as dates.
      return isCalendar(codes) ? undefined : codes;
    },
  };
}

const DATE_CODE = /^(?:[0-9]{1,2}[A-Za-z]{3}[0-9]{4}(?::[0-9]{2}:[0-9]{2}:[0-9]{2})?|[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9:.]+Z?)?|[0-9]{2}\/[0-9]{2}\/[0-9]{4})$/;

/** True when a nomenclature's codes are dates (every one of them, and there are some). */
export function isCalendar(codes: readonly string[]): boolean {
  return codes.length > 0 && codes.every((c) => DATE_CODE.test(c));
}
