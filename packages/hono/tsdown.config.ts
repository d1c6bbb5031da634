import { defineConfig } from 'tsdown'

export default defineConfig({
  // The main entry stays runtime-neutral; `/pglite` (the embedded registry) and `/postgres` (node-postgres) run on Node.
  entry: ['src/index.ts', 'src/pglite.ts', 'src/postgres.ts'],
  format: 'esm',
  platform: 'neutral',
  dts: true,
  clean: true,
  fixedExtension: false,
  external: [/^node:/, '@electric-sql/pglite', 'pg'],
})
