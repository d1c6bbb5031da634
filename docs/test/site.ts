import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const docsDir = resolve(fileURLToPath(new URL('..', import.meta.url)))
export const repoDir = resolve(docsDir, '..')
export const distDir = join(docsDir, '.vitepress', 'dist')
const builtAtFile = join(distDir, '.built-at')

const skippedNames = new Set(['node_modules', '.turbo', 'test-results'])
const skippedPaths = new Set([
  join(docsDir, '.vitepress', 'cache'),
  join(docsDir, '.vitepress', 'dist'),
  join(docsDir, 'reference', 'api'),
  join(docsDir, '.vitepress', 'reference-sidebar.json'),
])

function newestMtime(dir: string): number {
  let newest = 0
  if (!existsSync(dir)) return newest
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (skippedNames.has(entry.name) || skippedPaths.has(path)) continue
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path))
    else newest = Math.max(newest, statSync(path).mtimeMs)
  }
  return newest
}

/** The newest source the site is built from: the docs themselves and the packages' TSDoc. */
export function newestSource(): number {
  const packages = readdirSync(join(repoDir, 'packages')).map((name) =>
    join(repoDir, 'packages', name, 'src'),
  )
  return Math.max(newestMtime(docsDir), ...packages.map(newestMtime))
}

export function siteIsFresh(): boolean {
  if (!existsSync(builtAtFile)) return false
  const builtAt = Number(readFileSync(builtAtFile, 'utf8'))
  return Number.isFinite(builtAt) && builtAt >= newestSource()
}

/** Builds the site (reference + VitePress) unless the last build is newer than every source. */
export function ensureBuilt(): void {
  if (siteIsFresh()) return
  execFileSync(process.execPath, [join(docsDir, 'scripts', 'build.mjs')], { cwd: docsDir, stdio: 'inherit' })
}

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.png': 'image/png',
}

/** Serves the built site on loopback, as a static host would (no clean URLs: links end in .html). */
export async function serveSite(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname)
    let file = normalize(join(distDir, pathname))
    if (!file.startsWith(distDir)) {
      res.writeHead(403).end()
      return
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html')
    if (!existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/html' })
      res.end(readFileSync(join(distDir, '404.html')))
      return
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' })
    res.end(readFileSync(file))
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, server }
}

/**
 * How many code blocks a page's markdown should render: fenced blocks and `<<<` snippet imports.
 * Fences inside fences (a longer fence around a shorter one) count once.
 */
export function expectedCodeBlocks(markdown: string): number {
  let count = 0
  let open: string | null = null
  for (const line of markdown.split('\n')) {
    const fence = /^\s*(`{3,}|~{3,})/.exec(line)?.[1]
    if (open) {
      if (fence && fence[0] === open[0] && fence.length >= open.length && line.trim() === fence) open = null
      continue
    }
    if (fence) {
      open = fence
      count++
    } else if (/^<<<\s/.test(line)) count++
  }
  return count
}
