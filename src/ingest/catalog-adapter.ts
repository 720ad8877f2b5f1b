import type { CatalogService } from '../catalog/index.ts';
import type { IngestCatalog } from './ingest-service.ts';

/** What ingestion needs of the catalogue, taken from the catalogue service. */
export function ingestCatalogFrom(catalog: CatalogService): IngestCatalog {
  return {
    async listTables(dataset) {
      const d = await catalog.getDataset(dataset);
      return Promise.all(d.tables.map((t) => catalog.getTable(dataset, t.name)));
    },
    async nomenclatureCodes(name) {
      const known = (await catalog.listNomenclatures()).find((n) => n.name === name);
      if (known === undefined || !known.codesAvailable) return undefined;
      return [...(await catalog.nomenclatureCodes(name))];
    },
  };
}
