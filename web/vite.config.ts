import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The portal is served by the Enclave server under a strict CSP (script-src 'self',
// style-src 'self'): no inline script or style may appear in the built files, and nothing is
// fetched from anywhere but the server itself.
export default defineConfig({
  plugins: [react()],
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
