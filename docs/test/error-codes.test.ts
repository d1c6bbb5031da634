// Troubleshooting must cover every code the packages can report: the codes are read from the packages' source.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { docsDir, repoDir } from './site.ts'

const source = (path: string) => readFileSync(join(repoDir, 'packages', path), 'utf8')
const page = (path: string) => readFileSync(join(docsDir, 'troubleshooting', path), 'utf8')

/** The string members of `export type <name> = 'A' | 'B' | …`. */
function union(text: string, name: string): string[] {
  const match = new RegExp(`export type ${name} =([^=]*?)(?:\\n\\n|\\nexport|\\n/\\*\\*)`).exec(text)
  if (!match?.[1]) throw new Error(`type ${name} not found`)
  return [...match[1].matchAll(/'([A-Za-z_]+)'/g)].map((m) => m[1] ?? '')
}

/** The part of a page under `## <heading>`, up to the next `## `. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`## ${heading}`)
  if (start < 0) throw new Error(`no section ${heading}`)
  const next = markdown.indexOf('\n## ', start + 3)
  return markdown.slice(start, next < 0 ? undefined : next)
}

describe('troubleshooting covers every error code of the packages', () => {
  const codes = page('error-codes.md')
  const unions: [string, string, string][] = [
    ['core/src/errors.ts', 'TokenErrorCode', '@dataverse-s2s/core: `TokenError`'],
    ['core/src/errors.ts', 'DiscoveryErrorCode', '@dataverse-s2s/core: `DiscoveryError`'],
    ['core/src/errors.ts', 'ConsentErrorCode', '@dataverse-s2s/core: `ConsentError`'],
    ['core/src/errors.ts', 'VerificationErrorCode', '@dataverse-s2s/core: `VerificationError`'],
    ['webapi/src/errors.ts', 'DataverseErrorCode', '@dataverse-s2s/webapi: `DataverseError`'],
    ['hono/src/errors.ts', 'HonoS2SErrorCode', '@dataverse-s2s/hono: `HonoS2SError` and answers'],
    ['emulator/src/errors.ts', 'EmulatorErrorCode', '@dataverse-s2s/emulator: `EmulatorError`'],
    ['codegen/src/errors.ts', 'CodegenErrorCode', '@dataverse-s2s/codegen: `CodegenError`'],
    ['cli/src/errors.ts', 'CliErrorCode', '@dataverse-s2s/cli: `CliError`'],
  ]
  for (const [file, name, heading] of unions) {
    it(`lists every ${name} under "${heading}"`, () => {
      const members = union(source(file), name)
      expect(members.length).toBeGreaterThan(1)
      const text = section(codes, heading)
      for (const code of members) expect(text, `${name} ${code}`).toContain(`\`${code}\``)
    })
  }

  it('explains every AADSTS code that core maps, and every one the emulator answers with', () => {
    const entra = page('entra-errors.md')
    const mapped = [...source('core/src/internal/aadsts.ts').matchAll(/^\s+(\d{4,7}): '/gm)].map((m) => m[1])
    const emitted = [...source('emulator/src/entra/aad-error.ts').matchAll(/\b(\d{5,7}),/g)].map((m) => m[1])
    expect(mapped.length).toBeGreaterThan(10)
    for (const n of new Set([...mapped, ...emitted])) expect(entra, `AADSTS${n}`).toContain(`AADSTS${n}`)
  })

  it('explains every Dataverse error code the emulator answers with', () => {
    const dataverse = page('dataverse-errors.md')
    const emitted = [...source('emulator/src/dataverse/errors.ts').matchAll(/'(0x[0-9a-fA-F]+)'/g)].map(
      (m) => m[1],
    )
    expect(emitted.length).toBeGreaterThan(5)
    for (const code of new Set(emitted)) expect(dataverse, code).toContain(code as string)
  })
})
