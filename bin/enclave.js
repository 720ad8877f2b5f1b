#!/usr/bin/env node
// The `enclave` command. Node 24 runs the TypeScript sources directly (type stripping).
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`enclave needs Node.js 24 or newer (this is ${process.version}).\nRun it through npm (npx enclave, npm run enclave --), which puts the project's Node 24 first on the PATH.\n`);
  process.exit(1);
}
const { cliMain } = await import('../src/main.ts');
process.exitCode = await cliMain(process.argv);
