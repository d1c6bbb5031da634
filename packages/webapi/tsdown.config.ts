import { defineConfig } from 'tsdown'

export default defineConfig({
  // The two transports are separate files chosen at run time through the `#transport` import map
  // (`node` condition: undici; `bun`, `deno`, `workerd` (which also match `node` or run Node code) and everything
  // else: fetch), so the default entry never loads `node:` modules.
  entry: ['src/index.ts', 'src/transport/node.ts', 'src/transport/default.ts'],
  format: 'esm',
  platform: 'neutral',
  dts: true,
  clean: true,
  fixedExtension: false,
  external: ['#transport', 'undici'],
})
