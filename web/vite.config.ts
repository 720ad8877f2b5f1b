import { readFileSync } from 'node:fs';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * Writes dist/routes.json: the route patterns of the portal's table in src/app.tsx
 * (`{ pattern: '/projects/:id', ... }`), so that the server answers a path the portal has no
 * page for with status 404 (src/http/static.ts). Read from the source rather than kept as a
 * second list, so that a page added to the table is never served as a 404.
 */
function routeList(): Plugin {
  return {
    name: 'enclave-route-list',
    generateBundle() {
      const source = readFileSync(new URL('./src/app.tsx', import.meta.url), 'utf8');
      const patterns = [...source.matchAll(/\bpattern:\s*'([^']+)'/g)].map((m) => m[1]);
      if (patterns.length === 0) throw new Error('src/app.tsx: no `pattern: \'/...\'` entries found for routes.json');
      this.emitFile({ type: 'asset', fileName: 'routes.json', source: JSON.stringify(patterns) });
    },
  };
}

// The portal is served by the Enclave server under a strict CSP (script-src 'self',
// style-src 'self'): no inline script or style may appear in the built files, and nothing is
// fetched from anywhere but the server itself.
export default defineConfig({
  plugins: [react(), routeList()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8080', '/healthz': 'http://127.0.0.1:8080' },
  },
});
