import { dirname, join } from 'node:path'
import ts from 'typescript'

const FLAGS =
  ts.TypeFormatFlags.NoTruncation |
  ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType |
  ts.TypeFormatFlags.WriteArrowStyleSignature

/**
 * A text report of what a package entry exports: each name with its kind and type signature (members of interfaces
 * and classes, call signatures of functions, the structure of type aliases), sorted by name. A change to the public
 * surface changes this text, so a snapshot of it makes the change a visible diff.
 */
export function apiReport(entry: string): string {
  const configPath = ts.findConfigFile(dirname(entry), ts.sys.fileExists)
  if (!configPath) throw new Error(`No tsconfig.json above ${entry}.`)
  const config = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
      },
    },
  )
  if (!config) throw new Error(`Cannot read ${configPath}.`)
  const program = ts.createProgram([entry], { ...config.options, noEmit: true })
  const checker = program.getTypeChecker()
  const source = program.getSourceFile(entry)
  const module = source && checker.getSymbolAtLocation(source)
  if (!module) throw new Error(`${entry} is not a module.`)
  const lines: string[] = []
  const exports = checker.getExportsOfModule(module).sort((a, b) => a.name.localeCompare(b.name))
  for (const exported of exports) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
    const decl = symbol.declarations?.[0]
    if (!decl) continue
    const typeOf = (s: ts.Symbol) =>
      checker.typeToString(checker.getTypeOfSymbolAtLocation(s, decl), decl, FLAGS)
    const members = (type: ts.Type) =>
      checker
        .getPropertiesOfType(type)
        .filter((p) => !p.name.startsWith('#') && !p.name.startsWith('__'))
        .map((p) => `  ${p.name}${p.flags & ts.SymbolFlags.Optional ? '?' : ''}: ${typeOf(p)}`)
    const name = exported.name
    if (symbol.flags & ts.SymbolFlags.Class) {
      const ctor = checker.getTypeOfSymbolAtLocation(symbol, decl)
      lines.push(`class ${name}`)
      for (const sig of ctor.getConstructSignatures())
        lines.push(`  new${checker.signatureToString(sig, decl, FLAGS)}`)
      lines.push(...members(checker.getDeclaredTypeOfSymbol(symbol)))
    } else if (symbol.flags & ts.SymbolFlags.Interface) {
      lines.push(`interface ${name}`, ...members(checker.getDeclaredTypeOfSymbol(symbol)))
    } else if (symbol.flags & ts.SymbolFlags.TypeAlias) {
      const type = checker.getDeclaredTypeOfSymbol(symbol)
      lines.push(`type ${name} = ${checker.typeToString(type, decl, FLAGS | ts.TypeFormatFlags.InTypeAlias)}`)
    } else if (symbol.flags & ts.SymbolFlags.Function) {
      const type = checker.getTypeOfSymbolAtLocation(symbol, decl)
      for (const sig of type.getCallSignatures())
        lines.push(`function ${name}${checker.signatureToString(sig, decl, FLAGS)}`)
    } else {
      lines.push(`const ${name}: ${typeOf(symbol)}`)
    }
  }
  // Types from dependencies print as import("<absolute path>/node_modules/…"): keep only the package path, so the
  // report is the same in every checkout.
  return `${lines.join('\n')}\n`.replace(
    /import\("[^"]*\/node_modules\/(?:\.pnpm\/[^/"]+\/node_modules\/)?([^"]+)"\)/g,
    'import("$1")',
  )
}

/** The `src/index.ts` of the package that holds `testDir`. */
export function entryOf(testDir: string): string {
  return join(testDir, '..', 'src', 'index.ts')
}
