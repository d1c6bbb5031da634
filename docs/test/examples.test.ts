// Every `@example` in the published packages' TSDoc is type-checked against the packages as they are, so an
// example that drifts from the API fails here (the reference shows these examples on each symbol's page).
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import ts from 'typescript'
import { beforeAll, describe, expect, it } from 'vitest'
import { compilerOptions, type PublishedPackage, publicExports, publishedPackages } from './packages.ts'
import { docsDir, repoDir } from './site.ts'

export interface Example {
  /** `packages/core/src/consent.ts:34`: where the `@example` tag is. */
  where: string
  /** The package folder the example belongs to. */
  dir: string
  /** The symbol the comment documents (the name after the comment), for messages. */
  symbol: string
  code: string
}

/**
 * The `@example` blocks of one source file. As in typedoc, an example's ```ts fences are its code; an example
 * without a fence is code as a whole. An example ends at the next block tag (`@param`, `@throws`, …) outside a fence.
 */
export function examplesIn(text: string, where: { file: string; dir: string }): Example[] {
  const found: Example[] = []
  for (const comment of text.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
    const startLine = text.slice(0, comment.index).split('\n').length
    const lines = (comment[1] ?? '').split('\n').map((line) => line.replace(/^\s*\* ?/, ''))
    const after = text.slice((comment.index ?? 0) + comment[0].length)
    const symbol =
      /^\s*export\s+(?:declare\s+)?(?:async\s+)?(?:function\*?|class|const|let|interface|type|abstract\s+class)\s+([\w$]+)/.exec(
        after,
      )?.[1] ??
      /^\s*(?:readonly\s+)?([\w$]+)\??[(:<]/.exec(after)?.[1] ??
      '(unnamed)'
    for (let i = 0; i < lines.length; i++) {
      if (!/^@example\b/.test(lines[i] ?? '')) continue
      const body: string[] = []
      const title = (lines[i] ?? '').replace(/^@example\s*/, '')
      let fence = false
      let j = i + 1
      for (; j < lines.length; j++) {
        const line = lines[j] ?? ''
        if (/^\s*```/.test(line)) fence = !fence
        if (!fence && /^@\w/.test(line)) break
        body.push(line)
      }
      const block = [title, ...body].join('\n')
      const fences = [...block.matchAll(/^\s*```(\w*)\n([\s\S]*?)^\s*```/gm)]
      const codes = fences.length
        ? fences.filter((f) => ['ts', 'typescript', 'js', ''].includes(f[1] ?? '')).map((f) => f[2] ?? '')
        : [block]
      for (const code of codes) {
        found.push({ where: `${where.file}:${startLine + i}`, dir: where.dir, symbol, code: code.trim() })
      }
      i = j - 1
    }
  }
  return found
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return /\.ts$/.test(entry.name) && !/\.test\.ts$/.test(entry.name) ? [path] : []
  })
}

/** The names an example declares or imports at its top level: those are never imported for it. */
function ownNames(code: string): Set<string> {
  const names = new Set<string>()
  const source = ts.createSourceFile('example.ts', code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS)
  const bind = (name: ts.BindingName) => {
    if (ts.isIdentifier(name)) names.add(name.text)
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name)
  }
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause
      if (clause?.name) names.add(clause.name.text)
      const bindings = clause?.namedBindings
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text)
      if (bindings && ts.isNamedImports(bindings)) for (const el of bindings.elements) names.add(el.name.text)
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) bind(declaration.name)
    } else if (
      (ts.isFunctionDeclaration(statement) ||
        ts.isClassDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isEnumDeclaration(statement)) &&
      statement.name
    ) {
      names.add(statement.name.text)
    }
  }
  return names
}

/**
 * The names the examples use without declaring them: the reader's own objects, which an example takes as given
 * (an app, a client, a tenant id). Each has the type the packages give it, so a call on it is checked too.
 */
const context = `
declare global {
  const app: import('hono').Hono
  const c: import('hono').Context
  const clientId: string
  const tenantId: string
  const orgUrl: string
  const redirectUri: string
  const sessionId: string
  const state: string
  const xml: string
  const audience: string
  const customers: ReadonlySet<string>
  const isTenantAllowed: (tenantId: string) => boolean
  const request: Request
  const credential: import('@dataverse-s2s/core').Credential
  const tokens: import('@dataverse-s2s/core').TokenProvider
  const discovery: import('@dataverse-s2s/core').TenantDiscovery
  const states: import('@dataverse-s2s/core').ConsentStateManager
  const verifier: import('@dataverse-s2s/core').UserTokenVerifier
  const anyTenantVerifier: import('@dataverse-s2s/core').UserTokenVerifier
  const user: import('@dataverse-s2s/core').VerifiedUser
  const client: import('@dataverse-s2s/webapi').DataverseClient
  const adminClient: import('@dataverse-s2s/webapi').DataverseClient
  const registry: import('@dataverse-s2s/hono').TenantRegistry
  const clients: import('@dataverse-s2s/hono').DataverseClientCache
  const tenant: import('@dataverse-s2s/hono').DataverseTenant
  const redis: import('@dataverse-s2s/redis').RedisCommands
  const sql: import('@dataverse-s2s/hono').SqlExecutor
  const emulator: import('@dataverse-s2s/emulator').EmulatorHandle
  const tenants: Map<string, import('@dataverse-s2s/hono').DataverseTenant>
  const id: string
  const contactId: string
  const parentId: string
  const search: string
  const userInput: string
  const rows: import('@dataverse-s2s/webapi').Row[]
  /** Where a sync keeps its copy of a table and its change token. */
  const store: {
    loadToken(): Promise<string | undefined>
    saveToken(token: string): Promise<void>
    put(row: import('@dataverse-s2s/webapi').Row): Promise<void>
    remove(id: string): Promise<void>
  }
}
export {}
`

interface CheckedExample extends Example {
  file: string
}

function virtualProgram(examples: CheckedExample[], contextFile: string): ts.Program {
  const files = new Map<string, string>(examples.map((e) => [e.file, e.code]))
  files.set(contextFile, context)
  const options: ts.CompilerOptions = {
    ...compilerOptions(),
    // Examples are shown without `import type` noise; the names they use are imported for them.
    verbatimModuleSyntax: false,
    isolatedModules: false,
  }
  const host = ts.createCompilerHost(options)
  const { getSourceFile, fileExists, readFile } = host
  host.fileExists = (name) => files.has(name) || fileExists.call(host, name)
  host.readFile = (name) => files.get(name) ?? readFile.call(host, name)
  host.getSourceFile = (name, language, ...rest) => {
    const text = files.get(name)
    return text === undefined
      ? getSourceFile.call(host, name, language, ...rest)
      : ts.createSourceFile(name, text, language, true)
  }
  return ts.createProgram(
    [contextFile, ...files.keys()].filter((f, i, all) => all.indexOf(f) === i),
    options,
    host,
  )
}

/**
 * An example as a module: the exports it uses are imported for it (from its own package first, then from the
 * packages its package depends on), then its code, in an async function so that it may `await` and `return`.
 */
function asModule(
  example: Example,
  packages: PublishedPackage[],
  exportsBySpecifier: Map<string, string[]>,
): string {
  const own = packages.find((p) => p.dir === example.dir)
  if (!own) throw new Error(`no published package in packages/${example.dir}`)
  const sources = [own, ...packages.filter((p) => p !== own && own.dependencies.includes(p.name))]
  const declared = ownNames(example.code)
  const used = new Set(example.code.match(/[A-Za-z_$][\w$]*/g) ?? [])
  const imports = new Map<string, string[]>()
  const taken = new Set<string>()
  for (const pkg of sources) {
    for (const entry of pkg.entries) {
      for (const name of exportsBySpecifier.get(entry.specifier) ?? []) {
        if (!used.has(name) || declared.has(name) || taken.has(name)) continue
        taken.add(name)
        imports.set(entry.specifier, [...(imports.get(entry.specifier) ?? []), name])
      }
    }
  }
  const importLines = [...imports].map(
    ([specifier, names]) => `import { ${names.join(', ')} } from '${specifier}'`,
  )
  // Imports stay at the top level; the rest runs inside a function, as a snippet of the reader's code would.
  const code = example.code
  const ownImports = code.match(/^import [\s\S]*? from '[^']+'$/gm) ?? []
  let rest = code
  for (const line of ownImports) rest = rest.replace(line, '')
  return [...importLines, ...ownImports, 'export async function example() {', rest, '}', ''].join('\n')
}

const packages = publishedPackages()
const examples: Example[] = packages.flatMap((pkg) =>
  sourceFiles(join(repoDir, 'packages', pkg.dir, 'src')).flatMap((file) =>
    examplesIn(readFileSync(file, 'utf8'), { file: relative(repoDir, file), dir: pkg.dir }),
  ),
)

let diagnostics: Map<string, string[]>

beforeAll(() => {
  const exportsBySpecifier = new Map<string, string[]>()
  for (const e of publicExports(packages)) {
    exportsBySpecifier.set(e.specifier, [...(exportsBySpecifier.get(e.specifier) ?? []), e.name])
  }
  // Each example is a file in its package's folder, so that it resolves modules as the package does (its own
  // name, its dependencies); the files exist only in the compiler's memory.
  const checked: CheckedExample[] = examples.map((example, i) => ({
    ...example,
    file: join(repoDir, 'packages', example.dir, `__example_${i}.ts`),
    code: asModule(example, packages, exportsBySpecifier),
  }))
  const program = virtualProgram(checked, join(docsDir, '__examples_context.ts'))
  diagnostics = new Map()
  for (const example of checked) {
    const source = program.getSourceFile(example.file)
    const messages = [
      ...program.getSyntacticDiagnostics(source),
      ...program.getSemanticDiagnostics(source),
    ].map((d) => {
      const line =
        d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0
      const text = example.code.split('\n')[line - 1]?.trim() ?? ''
      return `${ts.flattenDiagnosticMessageText(d.messageText, '\n')} (at: ${text})`
    })
    diagnostics.set(example.where, messages)
  }
  const contextErrors = ts
    .getPreEmitDiagnostics(program, program.getSourceFile(join(docsDir, '__examples_context.ts')))
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
  if (contextErrors.length)
    throw new Error(`the examples' context does not type-check: ${contextErrors.join('; ')}`)
}, 300_000)

describe('the examples in the TSDoc of the published packages', () => {
  it('finds the examples of every published package', () => {
    expect(examples.length).toBeGreaterThan(80)
    for (const pkg of packages)
      expect(
        examples.some((e) => e.dir === pkg.dir),
        pkg.name,
      ).toBe(true)
  })

  it('type-checks every example against the packages as they are', () => {
    const failing = examples
      .map((e) => ({ where: `${e.where} (${e.symbol})`, errors: diagnostics.get(e.where) ?? [] }))
      .filter((e) => e.errors.length > 0)
    expect(failing).toEqual([])
  })
})

describe('reading examples out of TSDoc', () => {
  const file = { file: 'x.ts', dir: 'core' }

  it('takes a fenced example, and an unfenced one as code up to the next tag', () => {
    const text = [
      '/**',
      ' * Does a thing.',
      ' * @example Title',
      ' * ```ts',
      ' * f(1)',
      ' * // @ts-expect-error is code',
      ' * ```',
      ' * @example',
      ' * g(2)',
      ' * h(3)',
      ' * @throws {E} never',
      ' */',
      'export function f(n: number) {}',
    ].join('\n')
    expect(examplesIn(text, file)).toEqual([
      { where: 'x.ts:3', dir: 'core', symbol: 'f', code: 'f(1)\n// @ts-expect-error is code' },
      { where: 'x.ts:8', dir: 'core', symbol: 'f', code: 'g(2)\nh(3)' },
    ])
  })

  it('fails an example that calls a function with a wrong argument', () => {
    const program = virtualProgram(
      [
        {
          where: 'x.ts:1',
          dir: 'core',
          symbol: 'x',
          code: "import { clientSecret } from '@dataverse-s2s/core'\nclientSecret(42)\n",
          file: join(repoDir, 'packages', 'core', '__example_bad.ts'),
        },
      ],
      join(docsDir, '__examples_context.ts'),
    )
    const source = program.getSourceFile(join(repoDir, 'packages', 'core', '__example_bad.ts'))
    const messages = program
      .getSemanticDiagnostics(source)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, ''))
    expect(messages.join('\n')).toContain("'number' is not assignable to parameter of type 'string'")
  })
})
