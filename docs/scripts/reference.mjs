// Generates the API reference (docs/reference/api/) from the packages' TSDoc with typedoc and
// typedoc-plugin-markdown: one page per exported symbol, an index page per package that lists its symbols by kind
// with their one-line summaries, a manifest of the pages (read by docs/test/reference.test.ts) and the sidebar of
// /reference/ (.vitepress/reference-sidebar.json, read by .vitepress/sidebar.ts). None of it is committed:
// `pnpm --filter docs build` regenerates it each time.
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join, posix, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Application, LogLevel, ReflectionKind } from 'typedoc'

const docsDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const repoDir = resolve(docsDir, '..')
const outDir = join(docsDir, 'reference', 'api')
const tmpDir = join(docsDir, '.vitepress', 'cache', 'typedoc')
export const manifestFile = join(outDir, 'manifest.json')
const sidebarFile = join(docsDir, '.vitepress', 'reference-sidebar.json')

/** The published packages, in the order the reference lists them. */
export const referencePackages = [
  {
    dir: 'core',
    name: '@dataverse-s2s/core',
    summary: 'tokens, clouds, tenant discovery, admin consent, user-token verification',
  },
  { dir: 'webapi', name: '@dataverse-s2s/webapi', summary: 'the Dataverse Web API client' },
  {
    dir: 'hono',
    name: '@dataverse-s2s/hono',
    summary: 'Hono middleware: user token → tenant → Dataverse client',
  },
  {
    dir: 'redis',
    name: '@dataverse-s2s/redis',
    summary: 'a shared encrypted token cache, single flight and one throttle budget across instances',
  },
  {
    dir: 'emulator',
    name: '@dataverse-s2s/emulator',
    summary: 'a local Entra ID + Dataverse for development and tests',
  },
  {
    dir: 'codegen',
    name: '@dataverse-s2s/codegen',
    summary: "TypeScript row types and table constants from an org's $metadata",
  },
  {
    dir: 'cli',
    name: '@dataverse-s2s/cli',
    summary: 'the dataverse-s2s command line, and runCli to embed it',
  },
]

/** The kinds of symbol, in the order a package's index lists them, with typedoc-plugin-markdown's folder names. */
const symbolKinds = [
  { kind: ReflectionKind.Function, folder: 'functions', title: 'Functions' },
  { kind: ReflectionKind.Class, folder: 'classes', title: 'Classes' },
  { kind: ReflectionKind.Interface, folder: 'interfaces', title: 'Interfaces' },
  { kind: ReflectionKind.TypeAlias, folder: 'type-aliases', title: 'Types' },
  { kind: ReflectionKind.Variable, folder: 'variables', title: 'Constants' },
  { kind: ReflectionKind.Enum, folder: 'enumerations', title: 'Enumerations' },
]

/**
 * A package's public entry points, from its `exports` map: the source file of each subpath (read through the
 * `@dataverse-s2s/source` condition) and its import specifier.
 */
function entryPointsOf(dir) {
  const pkgDir = join(repoDir, 'packages', dir)
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
  const entries = []
  for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
    const source = typeof target === 'object' && target ? target['@dataverse-s2s/source'] : undefined
    if (typeof source !== 'string') continue
    const sub = subpath === '.' ? '' : subpath.replace(/^\.\//, '')
    entries.push({ sub, specifier: sub ? `${pkg.name}/${sub}` : pkg.name, file: join(pkgDir, source) })
  }
  return entries
}

function hasExports(dir) {
  const index = entryPointsOf(dir).find((entry) => entry.sub === '')
  const source = index && existsSync(index.file) ? readFileSync(index.file, 'utf8') : ''
  return /\bexport\s+(?!\{\s*\})/.test(source)
}

export async function generateReference() {
  const present = referencePackages.filter((pkg) => hasExports(pkg.dir))
  await rm(outDir, { recursive: true, force: true })
  await rm(tmpDir, { recursive: true, force: true })
  await mkdir(outDir, { recursive: true })

  let project
  if (present.length > 0) {
    // Static options live in typedoc.json; only the paths are decided here.
    const app = await Application.bootstrapWithPlugins({
      options: join(docsDir, 'typedoc.json'),
      entryPoints: present.map((pkg) => join(repoDir, 'packages', pkg.dir)),
      // Each package's own typecheck guards its types; the reference must not fail on a type error elsewhere.
      packageOptions: {
        // The packages' READMEs link to files of the repository; the reference is the API only.
        readme: 'none',
        excludeInternal: true,
        excludePrivate: true,
        disableSources: true,
        disableGit: true,
        skipErrorChecking: true,
        validation: { notExported: false, invalidLink: true },
      },
      out: tmpDir,
      logLevel: LogLevel.Warn,
    })
    // packageOptions are the same for every package, but the entry points are each package's own `exports`
    // (hono has `./pglite` and `./postgres` besides `.`): they are set on each package's copy of the options.
    const copyForPackage = app.options.copyForPackage.bind(app.options)
    app.options.copyForPackage = (packageDir) => {
      const options = copyForPackage(packageDir)
      const pkg = present.find((p) => resolve(repoDir, 'packages', p.dir) === resolve(packageDir))
      if (pkg)
        options.setValue(
          'entryPoints',
          entryPointsOf(pkg.dir).map((entry) => entry.file),
          packageDir,
        )
      return options
    }
    project = await app.convert()
    if (!project) throw new Error('typedoc could not convert the packages: see the messages above')
    await app.generateOutputs(project)
    if (app.logger.hasErrors()) throw new Error('typedoc reported errors: see the messages above')
  }

  const manifest = []
  const sidebar = []
  const indexes = []
  for (const pkg of referencePackages) {
    const reflection = project?.children?.find((child) => child.name === pkg.name)
    const symbols = present.includes(pkg) && reflection ? collectSymbols(pkg, reflection) : []
    manifest.push(...symbols)
    indexes.push([pkg, symbols])
    sidebar.push(
      symbols.length ? sidebarGroup(pkg, symbols) : { text: pkg.name, link: `/reference/api/${pkg.dir}/` },
    )
  }
  await writeSymbolPages(manifest)
  for (const [pkg, symbols] of indexes) {
    await mkdir(join(outDir, pkg.dir), { recursive: true })
    await writeFile(join(outDir, pkg.dir, 'index.md'), packageIndex(pkg, symbols))
  }
  await writeFile(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`)
  await writeFile(sidebarFile, `${JSON.stringify(sidebar, null, 2)}\n`)
  await rm(tmpDir, { recursive: true, force: true })
  return { packages: present.map((pkg) => pkg.name), pages: manifest.length + referencePackages.length }
}

/** The modules of a package reflection: itself for one entry point, its child modules for several. */
function modulesOf(pkg, reflection) {
  const entries = entryPointsOf(pkg.dir)
  const children = reflection.children ?? []
  if (!children.some((child) => child.kindOf(ReflectionKind.Module))) {
    return [{ entry: entries.find((e) => e.sub === '') ?? entries[0], reflection, generatedDir: pkg.name }]
  }
  return children
    .filter((child) => child.kindOf(ReflectionKind.Module))
    .map((child) => {
      // typedoc names each module after its file (src/pglite.ts -> "pglite", src/index.ts -> "index").
      const entry = entries.find((e) => e.file.replace(/\.ts$/, '').endsWith(`/${child.name}`))
      if (!entry) throw new Error(`${pkg.name}: typedoc made a module "${child.name}" that no export names`)
      return { entry, reflection: child, generatedDir: `${pkg.name}/${child.name}` }
    })
}

/** The comment that describes a symbol: a function's is on its (first) signature. */
function commentOf(reflection) {
  return reflection.comment ?? reflection.signatures?.[0]?.comment
}

/** The first sentence of a symbol's summary, on one line (the index lists it next to the name). */
function oneLineSummary(comment) {
  if (!comment) return ''
  // An inline {@link X} reads as the code name X here (the page itself links it).
  const parts = comment.summary.map((part) => (part.kind === 'inline-tag' ? `\`${part.text}\`` : part.text))
  // The first paragraph, up to a list that may follow it without a blank line.
  const text = (parts.join('').split(/\n\s*\n/)[0] ?? '').split(/\n\s*[-*] /)[0] ?? ''
  const line = text.replace(/\s+/g, ' ').trim()
  // A sentence ends at ". " before a capital or a backtick, not at "e.g. " or "i.e. ".
  const end = /(?<!\b(?:e\.g|i\.e|etc|vs))\.(?=\s+[A-Z`(])/.exec(line)
  const sentence = end ? line.slice(0, end.index + 1) : line
  return sentence.length > 140 ? beforeDetails(sentence) : sentence
}

/** A long sentence up to its first `: ` or `; ` outside code and parentheses, where its details begin. */
function beforeDetails(sentence) {
  for (let i = 20; i < sentence.length - 1; i++) {
    const before = sentence.slice(0, i)
    const code = (before.match(/`/g) ?? []).length % 2 === 1
    const depth = (before.match(/\(/g) ?? []).length - (before.match(/\)/g) ?? []).length
    if (!code && depth === 0 && /[:;] /.test(sentence.slice(i, i + 2))) return `${sentence.slice(0, i)}.`
  }
  return sentence
}

function collectSymbols(pkg, reflection) {
  const symbols = []
  for (const module of modulesOf(pkg, reflection)) {
    const base = module.entry.sub ? `${pkg.dir}/${module.entry.sub}` : pkg.dir
    for (const child of module.reflection.children ?? []) {
      const kind = symbolKinds.find((k) => child.kindOf(k.kind))
      if (!kind) {
        throw new Error(
          `${module.entry.specifier} exports ${child.name} as a ${ReflectionKind[child.kind]}, which the reference does not place: add its kind to symbolKinds`,
        )
      }
      const generated = join(tmpDir, module.generatedDir, kind.folder, `${child.name}.md`)
      if (!existsSync(generated)) throw new Error(`typedoc wrote no page for ${child.name} at ${generated}`)
      symbols.push({
        package: pkg.name,
        specifier: module.entry.specifier,
        name: child.name,
        kind: kind.folder,
        path: `${base}/${kind.folder}/${child.name}.md`,
        summary: oneLineSummary(commentOf(child)),
        generated,
        generatedDir: module.generatedDir,
        packageDir: pkg.dir,
      })
    }
  }
  return symbols
}

async function writeSymbolPages(symbols) {
  // Links between pages are rewritten from typedoc's layout (@dataverse-s2s/hono/index/functions/x.md) to the
  // site's (hono/functions/x.md); a link to anything else typedoc made is refused, so none can dangle.
  const target = new Map()
  for (const s of symbols) {
    target.set(s.generated, join(outDir, s.path))
    target.set(join(tmpDir, s.generatedDir, 'index.md'), join(outDir, s.packageDir, 'index.md'))
  }
  for (const pkgInfo of referencePackages) {
    target.set(join(tmpDir, pkgInfo.name, 'index.md'), join(outDir, pkgInfo.dir, 'index.md'))
  }
  for (const s of symbols) {
    const markdown = await readFile(s.generated, 'utf8')
    const page = join(outDir, s.path)
    const body = markdown.replace(/\]\(([^)\s]+?\.md)(#[^)\s]*)?\)/g, (match, link, anchor = '') => {
      if (/^[a-z]+:/.test(link)) return match
      const from = resolve(dirname(s.generated), link)
      const to = target.get(from) ?? target.get(join(from.replace(/\.md$/, ''), 'index.md'))
      if (!to)
        throw new Error(`${s.path}: typedoc linked to ${relative(tmpDir, from)}, which has no page here`)
      return `](${posix.normalize(relative(dirname(page), to).split('\\').join('/'))}${anchor})`
    })
    await mkdir(dirname(page), { recursive: true })
    await writeFile(page, symbolPage(s, body))
  }
  for (const s of symbols) {
    delete s.generated
    delete s.generatedDir
    delete s.packageDir
  }
}

// The body is wrapped in v-pre so that text such as `{{` in a comment is never read as a Vue template.
function symbolPage(symbol, markdown) {
  const [, heading = `# ${symbol.name}`, rest = markdown] = /^(# .*)\n+([\s\S]*)$/.exec(markdown) ?? []
  const from = `*From \`${symbol.specifier}\`* · [all of ${symbol.package}](${posix.relative(posix.dirname(symbol.path), symbol.path.split('/')[0])}/index.md)`
  return `---\noutline: [2, 3]\n---\n\n${heading}\n\n${from}\n\n<div v-pre>\n\n${rest.trim()}\n\n</div>\n`
}

function packageIndex(pkg, symbols) {
  const head = `---\ntitle: "${pkg.name}"\noutline: [2, 3]\n---\n\n# ${pkg.name}\n\n`
  if (symbols.length === 0) {
    return `${head}This package exports nothing yet, so there is no reference for it. It is generated from the package's TSDoc on every build.\n`
  }
  const lines = [
    `*${pkg.summary}.* Generated from the package's TSDoc: a page per export, with an example on each function and class.`,
    '',
  ]
  const specifiers = [...new Set(symbols.map((s) => s.specifier))]
  for (const specifier of specifiers) {
    if (specifiers.length > 1) lines.push(`## \`${specifier}\``, '')
    for (const kind of symbolKinds) {
      const ofKind = symbols.filter((s) => s.specifier === specifier && s.kind === kind.folder)
      if (ofKind.length === 0) continue
      lines.push(
        `${specifiers.length > 1 ? '###' : '##'} ${kind.title}`,
        '',
        '| Name | Summary |',
        '| ---- | ------- |',
      )
      for (const s of ofKind) {
        const link = posix.relative(pkg.dir, s.path)
        lines.push(`| [${s.name}](./${link}) | ${s.summary.replace(/\|/g, '\\|')} |`)
      }
      lines.push('')
    }
  }
  return `${head}<div v-pre>\n\n${lines.join('\n')}\n</div>\n`
}

/** A package's group in the sidebar: collapsed, its index first, then one collapsed group per kind (and entry). */
function sidebarGroup(pkg, symbols) {
  const specifiers = [...new Set(symbols.map((s) => s.specifier))]
  const link = (s) => `/reference/api/${s.path.replace(/\.md$/, '')}`
  const kindGroups = (specifier) =>
    symbolKinds
      .map((kind) => ({
        text: kind.title,
        collapsed: true,
        items: symbols
          .filter((s) => s.specifier === specifier && s.kind === kind.folder)
          .map((s) => ({ text: s.name, link: link(s) })),
      }))
      .filter((group) => group.items.length > 0)
  const items =
    specifiers.length === 1
      ? kindGroups(specifiers[0])
      : specifiers.map((specifier) => ({ text: specifier, collapsed: true, items: kindGroups(specifier) }))
  return { text: pkg.name, link: `/reference/api/${pkg.dir}/`, collapsed: true, items }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const done = await generateReference()
  console.log(
    `reference generated for ${done.packages.length ? done.packages.join(', ') : 'no package (none exports anything yet)'}: ${done.pages} pages`,
  )
}
