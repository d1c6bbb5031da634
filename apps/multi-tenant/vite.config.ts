import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

// The SPA lives in src/web and builds into dist/, which the API server serves on the same origin.
export default defineConfig({
  root: fileURLToPath(new URL('./src/web', import.meta.url)),
  build: { outDir: fileURLToPath(new URL('./dist', import.meta.url)), emptyOutDir: true, target: 'es2022' },
})
