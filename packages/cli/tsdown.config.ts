import { defineConfig } from 'tsdown'

export default defineConfig({
  // The library entry runs the commands; cli.ts is the bin.
  entry: ['src/index.ts', 'src/cli.ts'],
  format: 'esm',
  platform: 'node',
  dts: true,
  clean: true,
  fixedExtension: false,
})
