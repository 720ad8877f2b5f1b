/**
 * The people directory any logged-in person searches to name colleagues: name and organisation
 * only, at least two characters, LIKE wildcards taken literally.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openGovFixture, type GovFixture } from '../../test/helpers/governance.ts';
import { AppError } from '../errors.ts';

describe('people directory', () => {
  let f: GovFixture;
  before(async () => {
    f = await openGovFixture();
    for (const [subject, displayName, organisation, email] of [['d1', 'Marc Petit', 'Inserm U1018', 'marc.petit@inserm.fr'], ['d2', 'Léa 100% Martin', 'CHU de Lyon', null], ['d3', 'Paul_Roux', 'Inserm U1018', null]] as const) {
      await f.identity.ensurePerson({ kind: 'service', id: 'test' }, { issuer: 'https://idp.test', subject, displayName, email, organisation });
    }
  });
  after(async () => {
    await f.close();
  });

  test('finds people by name, organisation or e-mail, case-insensitively, with nothing but name and organisation', async () => {
    assert.deepEqual((await f.identity.directory('petit')).map((p) => p.displayName), ['Marc Petit']);
    assert.deepEqual((await f.identity.directory('inserm u1018')).map((p) => p.displayName), ['Marc Petit', 'Paul_Roux']);
    assert.deepEqual((await f.identity.directory('MARC.PETIT@')).map((p) => p.displayName), ['Marc Petit']);
    const [one] = await f.identity.directory('petit');
    assert.deepEqual(Object.keys(one ?? {}).sort(), ['displayName', 'id', 'organisation']);
  });

  test('wildcards are literal: % and _ match only themselves', async () => {
    assert.deepEqual((await f.identity.directory('0%')).map((p) => p.displayName), ['Léa 100% Martin']);
    // as a wildcard, '_' would match the 'u' of 'Paul'
    assert.deepEqual((await f.identity.directory('a_l')).map((p) => p.displayName), []);
    assert.deepEqual((await f.identity.directory('ul_r')).map((p) => p.displayName), ['Paul_Roux']);
  });

  test('one character is refused with the field named', async () => {
    await assert.rejects(f.identity.directory(' m '), (e: unknown) => e instanceof AppError && e.code === 'invalid' && e.details?.['field'] === 'q');
  });
});
