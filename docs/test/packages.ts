// The published packages and their public exports, read from their package.json and, through the TypeScript
// checker, from their entry files: what the reference and the examples tests hold the docs against.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import ts from 'typescript'
import { docsDir, repoDir } from './site.ts'

export interface PublishedEntry {
  /** The import specifier: `@dataverse-s2s/hono` or `@dataverse-s2s/hono/pglite`. */
  specifier: string
  /** The package folder under packages/. */
  dir: string
  /** The source file the `@dataverse-s2s/source` condition points at. */
  file: string
}

export interface PublishedPackage {
  name: string
  dir: string
  dependencies: string[]
  entries: PublishedEntry[]
}

export function publishedPackages(): PublishedPackage[] {
  const found: PublishedPackage[] = []
  for (const dir of readdirSync(join(repoDir, 'packages')).sort()) {
    const pkg = JSON.parse(readFileSync(join(repoDir, 'packages', dir, 'package.json'), 'utf8')) as {
      name: string
      private?: boolean
      exports?: Record<string, unknown>
      dependencies?: Record<string, string>
      devDependencies?: Record<string, string>
      peerDependencies?: Record<string, string>
    }
    if (pkg.private) continue
    const entries: PublishedEntry[] = []
    for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
      const source = (target as Record<string, unknown> | null)?.['@dataverse-s2s/source']
      if (typeof source !== 'string') continue
      const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.replace(/^\.\//, '')}`
      entries.push({ specifier, dir, file: join(repoDir, 'packages', dir, source) })
    }
    const dependencies = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies, ...pkg.peerDependencies })
    found.push({ name: pkg.name, dir, dependencies, entries })
  }
  return found
}

/** The repository's compiler options (docs/tsconfig.json, which extends the base), without emitting. */
export function compilerOptions(): ts.CompilerOptions {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(docsDir, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
      },
    },
  )
  if (!parsed) throw new Error('docs/tsconfig.json could not be read')
  return { ...parsed.options, noEmit: true }
}

export interface PublicExport {
  specifier: string
  name: string
  /** Whether the name is a value (a function, class or constant) rather than only a type. */
  isValue: boolean
}

/** Every name each entry point exports, as the TypeScript checker sees it. */
export function publicExports(packages = publishedPackages()): PublicExport[] {
  const entries = packages.flatMap((p) => p.entries)
  const program = ts.createProgram(
    entries.map((e) => e.file),
    compilerOptions(),
  )
  const checker = program.getTypeChecker()
  const result: PublicExport[] = []
  for (const entry of entries) {
    const source = program.getSourceFile(entry.file)
    const symbol = source && checker.getSymbolAtLocation(source)
    if (!symbol) throw new Error(`${entry.specifier}: ${entry.file} is not a module`)
    for (const exported of checker.getExportsOfModule(symbol)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
      result.push({
        specifier: entry.specifier,
        name: exported.name,
        isValue: (target.flags & ts.SymbolFlags.Value) !== 0,
      })
    }
  }
  return result
}
