/**
 * The extract follows governance for real: a permit coming into force builds generation 1, an
 * approved amendment builds generation 2 with the amended columns (the listener of
 * `GovernanceService.onProjectChange`, the permits read by main.ts's adapter).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { GovernanceService } from '../../governance/index.ts';
import { IdentityService, type Principal } from '../../identity/index.ts';
import { datasetVersionsFrom, extractCatalogFrom, extractKeysFrom, openDuckDbExtractBuilder, permitsInForceFrom } from '../../main.ts';
import { synthesize } from '../../synth/index.ts';
import { testDbKind } from '../../../test/helpers/db.ts';
import { openTestPlatform } from '../../../test/helpers/platform.ts';
import { ExtractService, type ExtractProgress } from './index.ts';

const actor = { kind: 'service', id: 'extract-gov-test' } as const;

test(`a permit coming into force builds the extract, an approved amendment builds the next generation (${testDbKind})`, async () => {
  const p = await openTestPlatform();
  const builder = await openDuckDbExtractBuilder({ threads: 2 });
  try {
    await p.catalog.importBuiltin(actor);
    await synthesize({ people: 80, startYear: 2021, endYear: 2022, seed: 9, out: join(p.dir, 'synth'), parquet: false });
    await p.ingest.ingest({ dataset: 'snds', inputs: [join(p.dir, 'synth', 'csv')], actor });
    const now = (): Date => new Date('2026-03-01T10:00:00Z');
    const identity = new IdentityService({ db: p.t.db, audit: p.audit, now });
    const gov = new GovernanceService({ db: p.t.db, audit: p.audit, now, keys: p.keys, catalog: (d, t) => p.catalog.getTable(d, t), people: identity.peopleDirectory() });
    const progress: ExtractProgress[] = [];
    const extracts = new ExtractService({
      db: p.t.db, audit: p.audit, store: p.store, builder, permits: permitsInForceFrom(p.t.db),
      catalog: extractCatalogFrom(p.catalog), datasets: datasetVersionsFrom(p.ingest, p.keys, p.store), keys: extractKeysFrom(p.keys),
      onProgress: (x) => progress.push(x),
    });
    extracts.listen(gov);
    const who: Record<string, Principal> = {};
    for (const [k, roles] of [['applicant', ['applicant']], ['ethics', ['ethics_reviewer']], ['legal', ['legal_reviewer']], ['c1', ['access_committee']], ['c2', ['access_committee']]] as const) {
      const id = await identity.ensurePerson(actor, { issuer: 'https://idp.test', subject: k, displayName: k, email: null, organisation: 'test' });
      await identity.seedRoles(actor, id, roles);
      who[k] = await identity.principalOf(id, 'session');
    }
    const w = (k: string): Principal => who[k] as Principal;
    const application = (columns: readonly string[]): Record<string, unknown> => ({
      title: 'Extract', organisation: 'Inserm', purpose: 'Study.', publicInterest: 'Health.', legalBasis: { kind: 'reference_methodology', reference: 'MR-004' },
      ethicsOpinionReference: null, funding: 'ANR', team: [{ name: 'A', role: 'principal investigator', organisation: 'Inserm' }],
      requestedScope: { datasets: [{ dataset: 'snds', tables: [{ table: 'ER_PRS_F', columns: [...columns] }] }], years: { from: 2021, to: 2021 }, population: 'women', justification: 'needed' },
    });
    const project = await gov.createProject(w('applicant'), application(['BEN_NIR_PSA', 'PRS_NAT_REF']));
    for (const [k, a] of [['applicant', 'submit'], ['c1', 'accept_complete'], ['ethics', 'ethics_favourable'], ['legal', 'legal_approve']] as const) await gov.take(w(k), project.id, a);
    const template = await gov.permitTemplate(w('c1'), project.id, { validFrom: '2026-03-01', validUntil: '2027-02-28' });
    await gov.proposePermit(w('c1'), project.id, { ...template, population: { description: 'women', criteria: [{ column: 'snds.IR_BEN_R.BEN_SEX_COD', op: 'in', values: [2] }] } });
    await gov.take(w('c1'), project.id, 'committee_approve');
    assert.equal(await extracts.current(project.id), null, 'nothing is built before the permit is in force');
    await gov.take(w('c2'), project.id, 'committee_approve');
    await extracts.idle();
    const g1 = await extracts.current(project.id);
    assert.equal(g1?.generation, 1);
    assert.equal(g1.permitVersion, 1);
    assert.deepEqual(g1.tables.map((t) => [t.name, t.columns.map((c) => c.name)]), [['er_prs_f', ['ben_nir_psa', 'prs_nat_ref']]]);
    assert.ok((g1.tables[0]?.rows ?? 0) > 0);
    assert.deepEqual(progress.filter((x) => x.generation === 1).map((x) => x.percent), [100, 100]);

    await gov.fileAmendment(w('applicant'), project.id, application(['BEN_NIR_PSA', 'PRS_NAT_REF', 'PRS_ACT_QTE']));
    for (const [k, a] of [['c1', 'accept_complete'], ['ethics', 'ethics_favourable'], ['legal', 'legal_approve']] as const) await gov.takeAmendment(w(k), project.id, a);
    const amended = await gov.amendedPermitTemplate(w('c1'), project.id);
    await gov.proposeAmendedPermit(w('c1'), project.id, { ...amended, population: { description: 'women', criteria: [{ column: 'snds.IR_BEN_R.BEN_SEX_COD', op: 'in', values: [2] }] } });
    await gov.takeAmendment(w('c1'), project.id, 'committee_approve');
    await gov.takeAmendment(w('c2'), project.id, 'committee_approve');
    await extracts.idle();
    const g2 = await extracts.current(project.id);
    assert.equal(g2?.generation, 2);
    assert.equal(g2.permitVersion, 2);
    assert.deepEqual(g2.tables[0]?.columns.map((c) => c.name), ['ben_nir_psa', 'prs_nat_ref', 'prs_act_qte']);
    assert.equal(g2.tables[0]?.rows, g1.tables[0]?.rows);
    assert.notEqual(g2.keyId, g2.rekeyKeyId);
    const keys = (await p.keys.listKeys()).filter((k) => k.scope === 'project' && k.scopeId === project.id).map((k) => k.id).sort();
    assert.deepEqual([g2.keyId, g2.rekeyKeyId].sort(), keys, 'the manifest names the project keys governance created');
    console.log(`# permit in force → g1 (${g1.tables[0]?.rows} rows); amendment approved → g2 with prs_act_qte`);
  } finally {
    await builder.close();
    await p.close();
  }
});
