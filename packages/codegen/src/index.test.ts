import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

describe('the library entry', () => {
  it('imports no node: module, so it runs on any runtime (only the CLI may)', () => {
    const seen = new Set<string>()
    const visit = (file: string) => {
      if (seen.has(file)) return
      seen.add(file)
      const text = readFileSync(new URL(file, import.meta.url), 'utf8')
      for (const [statement, spec] of text.matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)) {
        // type-only imports are erased: the webapi types (client.definitions' columns) cost nothing at run time
        if (/^(?:import|export) type /.test(statement) && spec === '@dataverse-s2s/webapi') continue
        expect(spec, `${file} imports ${spec}`).not.toMatch(/^node:|^@dataverse-s2s\//)
        if (spec?.startsWith('./')) visit(spec)
      }
    }
    visit('./index.ts')
    expect([...seen].sort()).toEqual([
      './choices.ts',
      './errors.ts',
      './generate.ts',
      './index.ts',
      './model.ts',
      './xml.ts',
    ])
  })
})
