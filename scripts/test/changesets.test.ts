import { execFileSync } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

function readJson(path: string): { name: string; version: string; private?: boolean } {
  return JSON.parse(readFileSync(path, 'utf8'))
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
// Every package that is not private is published (the config's fixed group names them all).
const published = readdirSync(join(root, 'packages')).filter((dir) => {
  const manifest = join(root, 'packages', dir, 'package.json')
  return existsSync(manifest) && !readJson(manifest).private
})
const work = mkdtempSync(join(tmpdir(), 'changesets-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('releases', () => {
  it('moves every published package to the same version from one changeset, offline', () => {
    // A copy of the workspace's manifests and changeset config: `changeset version` rewrites them.
    for (const file of ['package.json', 'pnpm-workspace.yaml', '.changeset/config.json']) {
      mkdirSync(dirname(join(work, file)), { recursive: true })
      cpSync(join(root, file), join(work, file))
    }
    for (const pkg of published) {
      mkdirSync(join(work, 'packages', pkg), { recursive: true })
      cpSync(join(root, 'packages', pkg, 'package.json'), join(work, 'packages', pkg, 'package.json'))
    }
    const before = published.map((p) => readJson(join(work, 'packages', p, 'package.json')).version)
    expect(new Set(before).size).toBe(1)

    writeFileSync(
      join(work, '.changeset', 'sample.md'),
      '---\n"@dataverse-s2s/webapi": minor\n---\n\nA sample change.\n',
    )
    execFileSync('git', ['init', '-q'], { cwd: work })
    execFileSync(join(root, 'node_modules', '.bin', 'changeset'), ['version'], {
      cwd: work,
      env: { ...process.env, CI: 'true' },
      stdio: 'pipe',
    })

    const after = published.map((p) => readJson(join(work, 'packages', p, 'package.json')).version)
    const [major, minor] = before[0]!.split('.').map(Number)
    expect(after).toEqual(published.map(() => `${major}.${minor! + 1}.0`))
    for (const pkg of published) {
      expect(readFileSync(join(work, 'packages', pkg, 'CHANGELOG.md'), 'utf8')).toContain(`## ${after[0]}`)
    }
    expect(readFileSync(join(work, 'packages', 'webapi', 'CHANGELOG.md'), 'utf8')).toContain(
      'A sample change.',
    )
  })

  it('keeps every publishable workspace package in the fixed group and private ones out of it', () => {
    const config = JSON.parse(readFileSync(join(root, '.changeset', 'config.json'), 'utf8'))
    const fixed: string[] = config.fixed[0]
    for (const pkg of published) {
      const manifest = readJson(join(root, 'packages', pkg, 'package.json'))
      expect(manifest.private).toBeUndefined()
      expect(fixed).toContain(manifest.name)
    }
    expect(config.privatePackages).toEqual({ version: false, tag: false })
  })
})

describe('the release workflow', () => {
  const workflow = readFileSync(join(root, '.github', 'workflows', 'release.yml'), 'utf8')

  it('publishes with provenance, which needs the id-token permission', () => {
    expect(workflow).toMatch(/^\s+id-token: write/m)
    expect(workflow).toMatch(/NPM_CONFIG_PROVENANCE: ["']true["']/)
  })

  it('runs the changesets commands of this workspace and the README test command before them', () => {
    const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts
    expect(scripts.changeset).toBe('changeset')
    expect(workflow).toContain('version: pnpm changeset version')
    expect(workflow).toContain('publish: pnpm changeset publish')
    expect(workflow.indexOf('pnpm test:all')).toBeLessThan(workflow.indexOf('changesets/action'))
  })
})
