import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { parseChangeset, renderChangelog } from '../scripts/changelog.mjs'

const work = mkdtempSync(join(tmpdir(), 'changelog-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

function fixture(files: Record<string, string>): { changesetDir: string; packagesDir: string } {
  const dir = mkdtempSync(join(work, 'repo-'))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  mkdirSync(join(dir, '.changeset'), { recursive: true })
  mkdirSync(join(dir, 'packages'), { recursive: true })
  return { changesetDir: join(dir, '.changeset'), packagesDir: join(dir, 'packages') }
}

describe('the changelog page', () => {
  it('lists every pending changeset under its package, majors first, and skips the README', () => {
    const page = renderChangelog(
      fixture({
        '.changeset/README.md': '# Changesets\n',
        '.changeset/a.md': '---\n"@dataverse-s2s/webapi": patch\n---\n\nFixes paging.\n',
        '.changeset/b.md':
          '---\n\'@dataverse-s2s/webapi\': major\n"@dataverse-s2s/core": minor\n---\n\nRenames `Row<T>` to Record<string, unknown>.\nSecond line.\n',
      }),
    )
    const webapi = page.slice(page.indexOf('### @dataverse-s2s/webapi'))
    expect(page.indexOf('### @dataverse-s2s/core')).toBeLessThan(page.indexOf('### @dataverse-s2s/webapi'))
    expect(webapi.indexOf('**major**')).toBeLessThan(webapi.indexOf('**patch**: Fixes paging.'))
    // `<` outside code would be read as a Vue tag by VitePress; inside a code span it stays as written.
    expect(page).toContain('Renames `Row<T>` to Record&lt;string, unknown>.\n  Second line.')
    expect(page).not.toContain('# Changesets')
    expect(page).toContain('No version has been published yet.')
  })

  it("includes each package's released CHANGELOG.md below the pending changes", () => {
    const page = renderChangelog(
      fixture({
        'packages/core/CHANGELOG.md': '# @dataverse-s2s/core\n\n## 0.2.0\n\n### Minor Changes\n\n- x\n',
      }),
    )
    expect(page).toContain('Nothing pending.')
    expect(page).toContain('## Released: @dataverse-s2s/core\n\n### 0.2.0')
    expect(page).not.toContain('No version has been published yet.')
  })

  it('refuses a changeset without front matter, naming the problem', () => {
    expect(() => parseChangeset('Just text')).toThrow(/front matter/)
    expect(() => parseChangeset('---\n"x": huge\n---\nA')).toThrow(/Unreadable/)
  })

  it("renders the repository's own changesets (every one of them parses)", () => {
    const page = renderChangelog({
      changesetDir: join(repo, '.changeset'),
      packagesDir: join(repo, 'packages'),
    })
    for (const pkg of ['core', 'webapi', 'emulator', 'hono', 'codegen']) {
      expect(page).toContain(`### @dataverse-s2s/${pkg}`)
    }
    const summary = readFileSync(join(repo, '.changeset', 'webapi-client.md'), 'utf8')
      .split('---')[2]!
      .trim()
    expect(page).toContain(summary.split('\n')[0])
  })
})
