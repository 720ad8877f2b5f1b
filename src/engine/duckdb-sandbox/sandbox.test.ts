/**
 * The sandbox's process isolation: a killed, frozen or crashed workspace worker is replaced, and
 * neither the server nor another workspace notices.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AppError } from '../../errors.ts';
import { makeExtract, PERSONS, type Fixture } from '../spec/fixture.ts';
import { openDuckDbSandbox, type SandboxSession } from './sandbox.ts';
import type { StatementResult, WorkspaceEngine, WorkspaceSession } from '../workspace-port.ts';

let fx: Fixture;
let engine: WorkspaceEngine;
before(async () => {
  fx = await makeExtract();
  engine = openDuckDbSandbox({ killGraceMs: 1000 });
});
after(async () => {
  await engine.close();
  await fx.cleanup();
});

const LONG = 'SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range < 0';

async function count(ws: WorkspaceSession): Promise<string> {
  const r = (await ws.run('SELECT count(*) FROM persons')) as StatementResult;
  return String((await ws.page(r.resultId, { offset: 0, limit: 1 })).rows[0]?.[0]);
}

function pidOf(ws: WorkspaceSession): number {
  const pid = (ws as SandboxSession).workerPid;
  assert.ok(pid !== undefined && pid !== process.pid);
  return pid;
}

test('each workspace runs in its own process, never the server', async () => {
  const a = await engine.open(fx.spec({ workspaceId: 'a' }));
  const b = await engine.open(fx.spec({ workspaceId: 'b' }));
  try {
    assert.notEqual(pidOf(a), pidOf(b));
  } finally {
    await a.close();
    await b.close();
  }
});

test('a worker killed with SIGKILL mid-query fails that query clearly; the next query gets a new worker; another workspace never notices', async () => {
  const a = await engine.open(fx.spec({ workspaceId: 'a', limits: { statementTimeoutMs: 30_000 } }));
  const b = await engine.open(fx.spec({ workspaceId: 'b' }));
  try {
    const before = (await a.run('SELECT 1')) as StatementResult;
    const pid = pidOf(a);
    const running = a.run(LONG);
    const bAnswers: string[] = [];
    const bLoop = (async () => {
      for (let i = 0; i < 5; i++) bAnswers.push(await count(b));
    })();
    await new Promise((r) => setTimeout(r, 400));
    process.kill(pid, 'SIGKILL');
    await assert.rejects(running, (e: unknown) => e instanceof AppError && e.code === 'unavailable' && e.details?.['reason'] === 'worker_stopped' && /SIGKILL/.test(e.message));
    assert.equal(await count(a), String(PERSONS));
    assert.notEqual(pidOf(a), pid);
    await assert.rejects(a.page(before.resultId, { offset: 0, limit: 1 }), (e: unknown) => e instanceof AppError && e.code === 'gone');
    await bLoop;
    assert.deepEqual(bAnswers, Array(5).fill(String(PERSONS)));
  } finally {
    await a.close();
    await b.close();
  }
});

test('a worker that does not stop at its timeout (frozen with SIGSTOP) is killed after the grace and replaced', async () => {
  const a = await engine.open(fx.spec({ workspaceId: 'a', limits: { statementTimeoutMs: 500 } }));
  try {
    const pid = pidOf(a);
    const t = performance.now();
    const running = a.run(LONG);
    await new Promise((r) => setTimeout(r, 100));
    process.kill(pid, 'SIGSTOP');
    await assert.rejects(running, (e: unknown) => e instanceof AppError && e.code === 'invalid' && e.details?.['limit'] === 'timeout' && /replaced/.test(e.message));
    const took = performance.now() - t;
    assert.ok(took < 500 + 1000 + 1500, `took ${Math.round(took)} ms`);
    assert.equal(await count(a), String(PERSONS));
    assert.notEqual(pidOf(a), pid);
  } finally {
    await a.close();
  }
});

test('closing a session ends its worker process', async () => {
  const a = await engine.open(fx.spec({ workspaceId: 'a' }));
  const pid = pidOf(a);
  await a.close();
  assert.throws(() => process.kill(pid, 0), /ESRCH/);
});

test('the engine refuses more workspaces than its maximum, with a hint', async () => {
  const small = openDuckDbSandbox({ maxSessions: 1 });
  try {
    await small.open(fx.spec());
    await assert.rejects(small.open(fx.spec()), (e: unknown) => e instanceof AppError && e.code === 'unavailable' && e.hint !== undefined);
  } finally {
    await small.close();
  }
});
