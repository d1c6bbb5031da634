import { defineConfig } from 'tsdown'

export default defineConfig({
  // The library entry imports no `node:` module (it runs on any runtime); only the CLI does.
  entry: ['src/index.ts', 'src/cli.ts'],
  format: 'esm',
  platform: 'node',
  dts: true,
  clean: true,
  fixedExtension: false,
})
