/**
 * `enclave airlock ls | show | request | submit | review | download`: thin commands over the
 * airlock service, the same calls the HTTP API makes, so the same policy refuses the same things.
 * Two modes, as `enclave projects`: local (the server's own terminal, `--as <demo person>`), or
 * remote (ENCLAVE_URL and ENCLAVE_TOKEN: the API as the token's person; reviews need a browser
 * session or the local terminal, never a token).
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { AirlockService, ReleaseRequest, RequestDetail } from '../../airlock/index.ts';
import { AppError } from '../../errors.ts';
import type { RemoteClient, RemoteTarget } from '../remote.ts';
import type { CliServices, OpenServices, Output } from '../services.ts';
import { formatTable } from '../table.ts';
import { oneLine } from './audit.ts';
import { actingPrincipal } from './governance.ts';

/** What the commands need, locally or through the API. */
export interface AirlockClient {
  list(q: { readonly projectId?: string; readonly status?: string }): Promise<ReleaseRequest[]>;
  get(id: string): Promise<RequestDetail>;
  create(body: Record<string, unknown>): Promise<RequestDetail>;
  addOutput(id: string, body: Record<string, unknown>): Promise<RequestDetail>;
  submit(id: string): Promise<RequestDetail>;
  review(id: string, body: Record<string, unknown>): Promise<RequestDetail>;
  bundle(id: string): Promise<string>;
}

function localAirlock(airlock: AirlockService, who: Awaited<ReturnType<typeof actingPrincipal>>): AirlockClient {
  return {
    list: (q) => airlock.list(who, q),
    get: (id) => airlock.get(who, id),
    create: (b) => airlock.createRequest(who, b),
    addOutput: (id, b) => airlock.addOutput(who, id, b),
    submit: (id) => airlock.submit(who, id),
    review: (id, b) => airlock.review(who, id, b),
    bundle: async (id) => (await airlock.download(who, id)).body.toString('utf8'),
  };
}

function remoteAirlock(c: RemoteClient): AirlockClient {
  const enc = encodeURIComponent;
  return {
    list: async (q) => (await c.request<{ requests: ReleaseRequest[] }>('GET', `/airlock/requests?${new URLSearchParams(Object.entries(q).filter((e): e is [string, string] => typeof e[1] === 'string')).toString()}`)).requests,
    get: (id) => c.request('GET', `/airlock/requests/${enc(id)}`),
    create: (b) => c.request('POST', '/airlock/requests', b),
    addOutput: (id, b) => c.request('POST', `/airlock/requests/${enc(id)}/outputs`, b),
    submit: (id) => c.request('POST', `/airlock/requests/${enc(id)}/submit`),
    review: () => Promise.reject(new AppError('forbidden', 'outputs are not reviewed with API tokens', { hint: 'review in the portal, or on the server\'s own terminal with --as' })),
    bundle: async (id) => `${JSON.stringify(await c.request<unknown>('GET', `/airlock/requests/${enc(id)}/bundle`), null, 1)}\n`,
  };
}

function printDetail(d: RequestDetail, out: Output): void {
  const r = d.request;
  out.write(`${oneLine(r.title)}  [${r.status}]  request ${r.id} (version ${r.version}), project ${r.projectId}\n`);
  out.write(`  population: ${oneLine(r.population)}\n`);
  if (d.report !== null) out.write(`  report ${d.reportSha256 ?? ''}: ${d.report.summary.status}, ${d.report.summary.cellsChecked} cells checked, ${d.report.summary.blocks} blocking, ${d.report.summary.reviews} for review\n`);
  for (const o of d.outputs) {
    const rep = d.report?.outputs.find((x) => x.name === o.name);
    out.write(`\n  output ${o.name} v${o.version} (${o.kind}, ${o.rowCount} rows, SHA-256 ${o.sha256})${rep === undefined ? '' : ` ${rep.status}`}, ${d.approvalsNeeded[o.name] ?? 0} approval(s) needed\n`);
    for (const f of rep?.flags ?? []) out.write(`    ${f.severity === 'block' ? 'BLOCK ' : 'review'} ${f.rule}: ${oneLine(f.message.en)}\n`);
  }
  if (d.votes.length > 0) {
    out.write('\n');
    out.write(formatTable(['output', 'version', 'checker', 'decision', 'reasons', 'standing'], d.votes.map((v) => [d.outputs.find((o) => o.id === v.outputId)?.name ?? v.outputId, v.outputVersion, v.checkerId, v.decision, v.reasons.join(','), v.active ? 'yes' : 'set aside'])));
  }
  if (d.release !== null) out.write(`\n  released ${d.release.releasedAt}: bundle SHA-256 ${d.release.bundleSha256} (enclave airlock download ${r.id})\n`);
  out.write(`  you may: ${d.actions.length === 0 ? 'nothing' : d.actions.join(', ')}${d.canDownload ? ', download' : ''}\n`);
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export interface AirlockCommandDeps {
  readonly open: OpenServices;
  readonly remote: () => RemoteTarget | null;
  readonly client: (t: RemoteTarget) => RemoteClient;
  readonly at: (p: string) => string;
  readonly out: Output;
}

export function registerAirlockCommands(program: Command, deps: AirlockCommandDeps): void {
  const airlock = program.commands.find((c) => c.name() === 'airlock') ?? program.command('airlock').description('the airlock: the only way results leave a workspace, checked by rules, by the release ledger and by two people');
  const out = deps.out;
  const asOption = '--as <person>';
  const asHelp = 'act as this demo person (embedded default, on the server\'s terminal)';
  const withAirlock = <A extends unknown[]>(fn: (c: AirlockClient, ...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      const o = args.at(-2) as { as?: string } | undefined;
      const target = deps.remote();
      if (target !== null) {
        if (o?.as !== undefined) throw new AppError('invalid', '--as acts as a demo person on the server\'s own terminal; against ENCLAVE_URL you act as the person of ENCLAVE_TOKEN', { hint: 'drop --as, or unset ENCLAVE_URL to work locally' });
        await fn(remoteAirlock(deps.client(target)), ...args);
        return;
      }
      const svc: CliServices = await deps.open();
      try {
        if (svc.airlock === undefined) throw new AppError('internal', 'the airlock is not available in this command context');
        await fn(localAirlock(svc.airlock, await actingPrincipal(svc, o?.as === undefined ? {} : { as: o.as })), ...args);
      } finally {
        await svc.close();
      }
    };

  airlock.command('ls').description('release requests: a project\'s (members), or the checkers\' queue')
    .option('--project <id>', 'the project').option('--status <status>', 'only this status (draft, submitted, in_review, returned, released, rejected, withdrawn)').option(asOption, asHelp)
    .action(withAirlock(async (c, o: { project?: string; status?: string }) => {
      const rs = await c.list({ ...(o.project === undefined ? {} : { projectId: o.project }), ...(o.status === undefined ? {} : { status: o.status }) });
      out.write(rs.length === 0 ? 'no release request\n' : formatTable(['id', 'project', 'status', 'submitted', 'title'], rs.map((r) => [r.id, r.projectId, r.status, r.submittedAt ?? '', oneLine(r.title)])));
    }));
  airlock.command('show').description('a request: outputs, the disclosure report\'s flags, votes, release').argument('<id>').option('--json', 'print the request as the API returns it').option(asOption, asHelp)
    .action(withAirlock(async (c, id: string, o: { json?: boolean }) => {
      const d = await c.get(id);
      if (o.json === true) out.write(`${JSON.stringify(d, null, 2)}\n`);
      else printDetail(d, out);
    }));
  airlock.command('request').description('file a release request of saved workspace tables (a project member)')
    .requiredOption('--project <id>', 'the project').requiredOption('--title <text>', 'a short title').requiredOption('--description <text>', 'what the outputs are and what they are for')
    .requiredOption('--population <text>', 'who is counted')
    .option('--output <table=description>', 'a saved table and what it shows; repeatable', collect, [])
    .option('--submit', 'submit it to the checkers at once').option(asOption, asHelp)
    .addHelpText('after', '\n  enclave airlock request --project P --title "Persons by department" --description "…" --population "…" --output by_dept="persons by department" --submit --as member')
    .action(withAirlock(async (c, o: { project: string; title: string; description: string; population: string; output: string[]; submit?: boolean }) => {
      const outputs = o.output.map((x) => {
        const i = x.indexOf('=');
        if (i <= 0 || x.slice(i + 1).trim() === '') throw new AppError('invalid', `--output ${JSON.stringify(x.slice(0, 80))} must be TABLE=DESCRIPTION`, { hint: 'e.g. --output by_dept="persons by department of residence"' });
        return { table: x.slice(0, i).trim(), description: x.slice(i + 1).trim() };
      });
      let d = await c.create({ projectId: o.project, title: o.title, description: o.description, population: o.population });
      for (const x of outputs) d = await c.addOutput(d.request.id, x);
      if (o.submit === true) d = await c.submit(d.request.id);
      printDetail(d, out);
    }));
  airlock.command('submit').description('submit a request to the checkers: the disclosure report is computed now').argument('<id>').option(asOption, asHelp)
    .action(withAirlock(async (c, id: string) => printDetail(await c.submit(id), out)));
  airlock.command('review').description('an output checker\'s votes on every output they have not voted on (local terminal: --as)').argument('<id>')
    .requiredOption('--decision <decision>', 'approve, return or reject')
    .option('--reason <code>', 'a reason code (repeatable): see docs/airlock.md', collect, [])
    .option('--comment <text>', 'required to return or reject').option('--output <name>', 'vote on these outputs only (repeatable; default: all you have not voted on)', collect, []).option(asOption, asHelp)
    .action(withAirlock(async (c, id: string, o: { decision: string; reason: string[]; comment?: string; output: string[] }) => {
      if (deps.remote() !== null) await c.review(id, {}); // refused: tokens do not review (before anything is sent)
      const d = await c.get(id);
      const names = o.output.length > 0 ? o.output : d.outputs.map((x) => x.name);
      printDetail(await c.review(id, { votes: names.map((output) => ({ output, decision: o.decision, reasons: o.reason, ...(o.comment === undefined ? {} : { comment: o.comment }) })) }), out);
    }));
  airlock.command('download').description('download the signed bundle of a released request (project members; audited)').argument('<id>')
    .requiredOption('--out <file>', 'where to write the bundle (check it with enclave airlock verify)').option(asOption, asHelp)
    .action(withAirlock(async (c, id: string, o: { out: string }) => {
      const text = await c.bundle(id);
      await writeFile(deps.at(o.out), text, { flag: 'wx' }).catch((e: unknown) => {
        throw new AppError('conflict', `cannot write ${o.out}: ${(e as NodeJS.ErrnoException).code === 'EEXIST' ? 'it exists (a bundle is never overwritten)' : 'not writable'}`, { hint: 'give a new file name' });
      });
      out.write(`wrote ${o.out} (${Buffer.byteLength(text)} bytes); check it with: enclave airlock verify ${o.out} --public-key <the platform's key>\n`);
    }));
}
