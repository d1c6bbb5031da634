import { defineConfig } from 'tsdown'

export default defineConfig({
  // The main entry stays runtime-neutral; `/pglite` (the embedded registry) runs on Node and opens files.
  entry: ['src/index.ts', 'src/pglite.ts'],
  format: 'esm',
  platform: 'neutral',
  dts: true,
  clean: true,
  fixedExtension: false,
  external: [/^node:/, '@electric-sql/pglite'],
})
