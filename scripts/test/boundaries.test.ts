import { spawnSync } from 'node:child_process'
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const work = mkdtempSync(join(tmpdir(), 'boundaries-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

// The exact command `pnpm lint` runs, from the root package.json.
const command = (
  JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts['lint:boundaries'] as string

/** A scratch copy of the config and of two packages (sources, tests and manifests; dependencies linked, not copied). */
function scratch(): void {
  for (const file of ['.dependency-cruiser.cjs', 'tsconfig.base.json', 'package.json'])
    cpSync(join(root, file), join(work, file))
  symlinkSync(join(root, 'node_modules'), join(work, 'node_modules'))
  for (const pkg of ['webapi', 'emulator']) {
    const dir = join(work, 'packages', pkg)
    mkdirSync(dir, { recursive: true })
    cpSync(join(root, 'packages', pkg, 'package.json'), join(dir, 'package.json'))
    // Tests beside the code may import helpers from the package's test/ folder.
    for (const sub of ['src', 'test'])
      if (existsSync(join(root, 'packages', pkg, sub)))
        cpSync(join(root, 'packages', pkg, sub), join(dir, sub), { recursive: true })
    symlinkSync(join(root, 'packages', pkg, 'node_modules'), join(dir, 'node_modules'))
  }
  // The directories the command names must exist.
  for (const dir of ['apps', 'tools', 'bench', 'docs', 'scripts'])
    mkdirSync(join(work, dir), { recursive: true })
}

function lint(): { status: number | null; output: string } {
  const [bin, ...args] = command.split(' ') as [string, ...string[]]
  const result = spawnSync(join(root, 'node_modules', '.bin', bin), args, { cwd: work, encoding: 'utf8' })
  return { status: result.status, output: result.stdout + result.stderr }
}

describe('pnpm lint boundaries', () => {
  it('passes on the copy, then fails on a forbidden import, a relative import across packages and a cycle', () => {
    expect(command).toMatch(/^depcruise /)
    scratch()
    const clean = lint()
    expect(clean.output).toContain('no dependency violations found')
    expect(clean.status).toBe(0)

    const webapi = join(work, 'packages/webapi/src')
    appendFileSync(join(webapi, 'filter.ts'), "\nimport '@azure/msal-node'\n")
    appendFileSync(join(work, 'packages/emulator/src/index.ts'), "\nimport '../../webapi/src/filter.ts'\n")
    writeFileSync(join(webapi, 'cycle-a.ts'), "import { b } from './cycle-b.ts'\nexport const a = () => b\n")
    writeFileSync(
      join(webapi, 'cycle-b.ts'),
      "import type { a } from './cycle-a.ts'\nexport const b: typeof a | 1 = 1\n",
    )

    const broken = lint()
    expect(broken.status).not.toBe(0)
    expect(broken.output).toMatch(/webapi-no-azure: packages\/webapi\/src\/filter\.ts → .*@azure\/msal-node/)
    expect(broken.output).toMatch(
      /emulator-no-product-packages: packages\/emulator\/src\/index\.ts → packages\/webapi/,
    )
    expect(broken.output).toMatch(
      /no-relative-import-across-roots: packages\/emulator\/src\/index\.ts → packages\/webapi/,
    )
    expect(broken.output).toMatch(
      /only-through-package-exports: packages\/emulator\/src\/index\.ts → packages\/webapi\/src\/filter\.ts/,
    )
    expect(broken.output).toMatch(/no-circular: packages\/webapi\/src\/cycle-(a|b)\.ts/)
  }, 120_000)
})
