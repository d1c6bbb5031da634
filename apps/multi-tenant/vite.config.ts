import { defineConfig } from 'vite'

// The SPA lives in src/web and builds into dist/, which the API server serves on the same origin.
export default defineConfig({
  root: 'src/web',
  build: { outDir: '../../dist', emptyOutDir: true, target: 'es2022' },
})
