// `pnpm --filter docs build`: the API reference from the packages' TSDoc, the changelog from the changesets,
// then the VitePress site.
// VitePress fails the build on any dead link (ignoreDeadLinks is left at its default).
import { spawnSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateChangelog } from './changelog.mjs'
import { generateReference } from './reference.mjs'

const docsDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const started = Date.now()
const reference = await generateReference()
console.log(
  `reference: ${reference.packages.length ? reference.packages.join(', ') : 'no package exports anything yet'} (${reference.pages} pages)`,
)
await generateChangelog()
console.log('changelog: rendered from .changeset/*.md')
const vitepress = join(docsDir, 'node_modules', '.bin', 'vitepress')
const result = spawnSync(vitepress, ['build'], { cwd: docsDir, stdio: 'inherit' })
if (result.status !== 0) process.exit(result.status ?? 1)
await writeFile(join(docsDir, '.vitepress', 'dist', '.built-at'), `${started}\n`)
console.log(`docs built in ${((Date.now() - started) / 1000).toFixed(1)} s`)
