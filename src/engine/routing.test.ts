/**
 * The routing engine and builder hand each call to the engine of its project. The engines here
 * are stand-ins of the ports that record what they are asked (the real engines are exercised
 * through the router in test/engine-choice*.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppError } from '../errors.ts';
import type { BuildTableInput, ExtractBuilder, ExtractPlan } from './extract-port.ts';
import { routingExtractBuilder, routingWorkspaceEngine } from './routing.ts';
import type { WorkspaceEngine, WorkspaceSession, WorkspaceSpec } from './workspace-port.ts';

function recordingEngine(name: string, log: string[]): WorkspaceEngine {
  return {
    async open(spec: WorkspaceSpec): Promise<WorkspaceSession> {
      log.push(`${name}:open:${spec.workspaceId}`);
      return { workspaceId: spec.workspaceId } as WorkspaceSession;
    },
    async close() {
      log.push(`${name}:close`);
    },
  };
}

function recordingBuilder(name: string, log: string[], o: { keeps?: boolean; failDestroy?: boolean } = {}): ExtractBuilder {
  return {
    async buildTable(input: BuildTableInput) {
      log.push(`${name}:build:${input.projectId ?? ''}:${input.table.name}`);
      return { rows: 1, bytes: 1, sha256: name, columns: [] };
    },
    ...(o.keeps === true ? {
      async prepare(plan: ExtractPlan) {
        log.push(`${name}:prepare:${plan.projectId}:${plan.tables.length}`);
      },
      async destroyProject(projectId: string) {
        log.push(`${name}:destroy:${projectId}`);
        if (o.failDestroy === true) throw new Error(`${name} unreachable`);
      },
    } : {}),
    async close() {
      log.push(`${name}:close`);
    },
  };
}

const spec = (workspaceId: string): WorkspaceSpec => ({ workspaceId, extract: [], scratch: { dir: '/nonexistent', key: new Uint8Array(32), quotaBytes: 0 }, limits: { memoryBytes: 1, threads: 1, tempDiskBytes: 0, statementTimeoutMs: 1, rowCap: 1 } });
const on = (m: Record<string, string>) => async (p: string): Promise<string> => m[p] ?? 'duckdb';

test('a workspace opens on the engine its project is on, and closing closes every engine', async () => {
  const log: string[] = [];
  const e = routingWorkspaceEngine({ engines: { duckdb: recordingEngine('duckdb', log), trino: recordingEngine('trino', log) }, engineOf: on({ p2: 'trino' }) });
  assert.equal((await e.open(spec('p1'))).workspaceId, 'p1');
  await e.open(spec('p2'));
  await e.close();
  assert.deepEqual(log, ['duckdb:open:p1', 'trino:open:p2', 'duckdb:close', 'trino:close']);
});

test('a project on an engine the deployment does not run is refused with the engines it does run', async () => {
  const e = routingWorkspaceEngine({ engines: { duckdb: recordingEngine('duckdb', []) }, engineOf: on({ p1: 'trino' }) });
  await assert.rejects(e.open(spec('p1')), (err: unknown) => isAppError(err) && err.code === 'unavailable' && /trino engine, which this deployment does not run/.test(err.message) && /enclave projects engine p1 <duckdb>/.test(err.hint ?? ''));
  // an inherited property name is no engine either
  const f = routingWorkspaceEngine({ engines: { duckdb: recordingEngine('duckdb', []) }, engineOf: async () => 'constructor' });
  await assert.rejects(f.open(spec('p1')), (err: unknown) => isAppError(err) && err.code === 'unavailable');
});

const plan = (projectId: string, tables: string[]): ExtractPlan => ({
  projectId, permitVersion: 1, years: { from: 2020, to: 2021 },
  tables: tables.map((name) => ({ dataset: 'snds', table: name.toUpperCase(), name, columns: [], years: { kind: 'none', reason: '' }, population: { predicates: [], viaPerson: null, reason: '' } })),
});

test('an extract is built by the engine its project is on; dropping one engine\'s copy asks that engine only', async () => {
  const log: string[] = [];
  const b = routingExtractBuilder({ builders: { duckdb: recordingBuilder('duckdb', log), trino: recordingBuilder('trino', log, { keeps: true }) }, engineOf: on({ p2: 'trino' }) });
  assert.deepEqual(b.engines, ['duckdb', 'trino']);
  const p2 = plan('p2', ['t']);
  const input = (projectId: string): BuildTableInput => ({ table: p2.tables[0] as ExtractPlan['tables'][number], source: { dataset: 'snds', table: 'T', files: [] }, personSources: [], sourceKeys: new Map(), rekeyKey: new Uint8Array(32), targetKey: new Uint8Array(32), target: '/nonexistent', projectId });
  await b.prepare?.(plan('p1', ['t']));
  await b.buildTable(input('p1'));
  await b.prepare?.(p2);
  await b.buildTable(input('p2'));
  await b.dropExtract('p2', 'trino');
  await b.dropExtract('p1', 'duckdb');
  assert.deepEqual(log, ['duckdb:build:p1:t', 'trino:prepare:p2:1', 'trino:build:p2:t', 'trino:prepare:p2:0']);
  const { projectId: _, ...anonymous } = input('p1');
  await assert.rejects(b.buildTable(anonymous), /needs the project/);
});

test('closing a project asks every engine to delete what it keeps, even when one fails', async () => {
  const log: string[] = [];
  const b = routingExtractBuilder({ builders: { trino: recordingBuilder('trino', log, { keeps: true, failDestroy: true }), other: recordingBuilder('other', log, { keeps: true }) }, engineOf: on({}) });
  await assert.rejects(b.destroyProject?.('p1') ?? Promise.resolve(), /trino unreachable/);
  assert.deepEqual(log.sort(), ['other:destroy:p1', 'trino:destroy:p1']);
  // told which engines the project was built on, closure asks only those
  const only: string[] = [];
  const c = routingExtractBuilder({ builders: { trino: recordingBuilder('trino', only, { keeps: true, failDestroy: true }), other: recordingBuilder('other', only, { keeps: true }) }, engineOf: on({}), enginesOf: async () => ['other'] });
  await c.destroyProject?.('p1');
  assert.deepEqual(only, ['other:destroy:p1']);
});
