/**
 * The witness as its own process, with its own key and state directory and nothing of the
 * platform (no database, no keyring):
 *
 *   node src/audit/witness-main.ts --dir DIR --log-key VKEY [--log-key VKEY…] [--host H] [--port P] [--name N]
 *
 * Prints one line `witness URL KEY` once listening (KEY is what ENCLAVE_AUDIT_WITNESSES takes),
 * and serves until SIGTERM or SIGINT.
 */
import { parseArgs } from 'node:util';
import { startWitnessServer } from './witness.ts';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    'log-key': { type: 'string', multiple: true },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    name: { type: 'string', default: 'enclave-witness' },
  },
});
if (values.dir === undefined || (values['log-key'] ?? []).length === 0) {
  process.stderr.write('usage: node src/audit/witness-main.ts --dir DIR --log-key VKEY [--host H] [--port P] [--name N]\n  --log-key: the log verifier key printed by `enclave audit public-key`\n');
  process.exit(2);
}
const w = await startWitnessServer({ dir: values.dir, logKeys: values['log-key'] ?? [], name: values.name }, { host: values.host, port: Number(values.port) });
process.stdout.write(`witness ${w.url} ${w.witness.verifierKey}\n`);
const stop = (): void => {
  void w.close().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
