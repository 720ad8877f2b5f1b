/**
 * What the Trino engine does beyond the shared spec: results live in the server's heap, so a
 * session's kept results are bounded in cells too. Needs a Trino (skipped with the reason printed
 * otherwise).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AppError } from '../../errors.ts';
import { EVENTS, makeExtract, type Fixture } from '../spec/fixture.ts';
import { materialiseTrinoFixture, trinoReachable, trinoTarget } from '../spec/trino-fixture.ts';
import type { StatementResult, WorkspaceEngine } from '../workspace-port.ts';
import { openTrinoWorkspaceEngine } from './engine.ts';

const target = trinoTarget(process.env);
const why = 'skip' in target ? target.skip : await trinoReachable(target);
if (why !== undefined) console.log(`Trino engine tests skipped: ${why}`);

describe('Trino engine', { skip: why }, () => {
  let fx: Fixture;
  let engine: WorkspaceEngine;
  before(async () => {
    if ('skip' in target) return;
    fx = await makeExtract();
    await materialiseTrinoFixture(target, 'trino-engine-test');
    engine = openTrinoWorkspaceEngine({ url: target.url, rulesFile: target.rulesFile, maxKeptCells: 30_000 });
  });
  after(async () => {
    await engine?.close();
    await fx?.cleanup();
  });

  test('older results are dropped once the kept ones pass the cell budget; the newest is kept whole', async () => {
    const ws = await engine.open(fx.spec({ workspaceId: 'trino-engine-test', limits: { statementTimeoutMs: 30_000 } }));
    try {
      const first = (await ws.run('SELECT * FROM events')) as StatementResult; // 6 000 × 4 = 24 000 cells
      const second = (await ws.run('SELECT * FROM events')) as StatementResult;
      await assert.rejects(ws.page(first.resultId, { offset: 0, limit: 1 }), (e: unknown) => e instanceof AppError && e.code === 'gone');
      assert.equal((await ws.page(second.resultId, { offset: EVENTS - 1, limit: 10 })).rows.length, 1);
      const small = (await ws.run('SELECT 1')) as StatementResult;
      assert.equal((await ws.page(second.resultId, { offset: 0, limit: 1 })).rowCount, EVENTS, 'a small result does not push out one within the budget');
      assert.deepEqual((await ws.page(small.resultId, { offset: 0, limit: 1 })).rows, [[1]]);
    } finally {
      await ws.close();
    }
  });
});
