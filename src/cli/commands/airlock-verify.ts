/**
 * `enclave airlock verify BUNDLE [--public-key K]`: checks a released bundle offline (nothing of
 * the platform is opened): its Ed25519 signature, every file's SHA-256, the disclosure report's
 * SHA-256 and that it blocks nothing released, and four eyes on every output. Prints one line per
 * check, OK or FAIL with what failed; exits 0 when every check passes, 1 otherwise.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { verifyBundle, type BundleVerification } from '../../airlock/index.ts';
import { AppError } from '../../errors.ts';
import type { Output } from '../services.ts';
import { oneLine } from './audit.ts';

/** Largest bundle read (bundles hold aggregate tables: a few MiB at most). */
const MAX_BUNDLE_BYTES = 256 * 1024 * 1024;

/** The key as given, or read from the file it names. */
async function keyText(k: string): Promise<string> {
  if (/^ed25519:/.test(k.trim()) || k.includes('-----BEGIN')) return k;
  try {
    return await readFile(k, 'utf8');
  } catch {
    throw new AppError('invalid', `--public-key ${JSON.stringify(k.slice(0, 80))} is neither a key ("ed25519:<base64>") nor a readable file`, { hint: 'pass the platform\'s key: curl https://<enclave>/api/v1/airlock/signing-key (its publicKey field)' });
  }
}

export async function airlockVerify(bundlePath: string, o: { readonly publicKey?: string; readonly json?: boolean }, out: Output): Promise<BundleVerification> {
  let size: number;
  try {
    size = (await stat(bundlePath)).size;
  } catch {
    throw new AppError('invalid', `cannot read the bundle ${bundlePath}`, { hint: 'give the path of a downloaded release bundle (release-<id>.airlock.json)' });
  }
  if (size > MAX_BUNDLE_BYTES) throw new AppError('invalid', `${bundlePath} is ${size} bytes, over ${MAX_BUNDLE_BYTES}: not a release bundle`);
  const text = await readFile(bundlePath, 'utf8');
  const v = verifyBundle(text, o.publicKey === undefined ? undefined : await keyText(o.publicKey));
  if (o.json === true) out.write(`${JSON.stringify({ ok: v.ok, checks: v.checks }, null, 2)}\n`);
  else {
    const m = v.manifest;
    if (m !== null) out.write(`bundle ${oneLine(bundlePath)}: release ${oneLine(String(m.releaseId))} of request ${oneLine(String(m.requestId))}, project ${oneLine(String(m.projectId))}, released ${oneLine(String(m.releasedAt))}\n`);
    for (const c of v.checks) out.write(`  ${c.ok ? 'OK  ' : 'FAIL'} ${oneLine(c.check)}: ${oneLine(c.message)}\n`);
    out.write(v.ok ? `verified: ${v.checks.length} checks passed\n` : `NOT verified: ${v.checks.filter((c) => !c.ok).length} of ${v.checks.length} checks failed\n`);
  }
  if (!v.ok) {
    const first = v.checks.find((c) => !c.ok);
    throw new AppError('integrity', `the bundle does not verify: ${first === undefined ? 'unknown' : `${first.check}: ${first.message}`}`, { hint: 'do not use these outputs; ask the project or the platform for the bundle as released' });
  }
  return v;
}

export function registerAirlockVerify(program: Command, paths: { at: (p: string) => string; out: Output }): void {
  const airlock = program.commands.find((c) => c.name() === 'airlock') ?? program.command('airlock').description('the airlock: the only way results leave a workspace, checked by rules, by the release ledger and by two people');
  airlock
    .command('verify')
    .description('check a released bundle offline: signature, files\' SHA-256, report, two independent checkers')
    .argument('<bundle>', 'a release bundle downloaded from the portal or GET /api/v1/airlock/requests/{id}/bundle')
    .option('--public-key <key>', 'the platform\'s release-signing key ("ed25519:<base64>", or a file holding it); without it the key named in the bundle is used, which proves integrity but not who signed')
    .option('--json', 'print the checks as JSON')
    .addHelpText('after', `
Exit code: 0 when every check passes, 1 when one fails (each failure says what), 2 for bad arguments.

  enclave airlock verify release-3f2a.airlock.json --public-key "$(curl -s https://enclave.example.org/api/v1/airlock/signing-key | jq -r .publicKey)"`)
    .action(async (bundle: string, o: { publicKey?: string; json?: boolean }) => {
      const k = o.publicKey;
      const publicKey = k === undefined || /^ed25519:/.test(k.trim()) || k.includes('-----BEGIN') ? k : paths.at(k);
      await airlockVerify(paths.at(bundle), { ...(publicKey === undefined ? {} : { publicKey }), ...(o.json === undefined ? {} : { json: o.json }) }, paths.out);
    });
}
