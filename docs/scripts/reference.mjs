// Generates the API reference (docs/reference/api/*.md) from the packages' TSDoc with typedoc and
// typedoc-plugin-markdown. The output is not committed: `pnpm --filter docs build` regenerates it each time.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Application, LogLevel } from 'typedoc'

const docsDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const repoDir = resolve(docsDir, '..')
const outDir = join(docsDir, 'reference', 'api')
const tmpDir = join(docsDir, '.vitepress', 'cache', 'typedoc')

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

async function hasExports(dir) {
  const source = await readFile(join(repoDir, 'packages', dir, 'src', 'index.ts'), 'utf8').catch(() => '')
  return /\bexport\s+(?!\{\s*\})/.test(source)
}

export async function generateReference() {
  const present = []
  for (const pkg of referencePackages) if (await hasExports(pkg.dir)) present.push(pkg)
  await rm(outDir, { recursive: true, force: true })
  await rm(tmpDir, { recursive: true, force: true })
  await mkdir(outDir, { recursive: true })

  if (present.length > 0) {
    // Static options live in typedoc.json; only the paths are decided here.
    const app = await Application.bootstrapWithPlugins({
      options: join(docsDir, 'typedoc.json'),
      entryPoints: present.map((pkg) => join(repoDir, 'packages', pkg.dir)),
      // Each package's own typecheck guards its types; the reference must not fail on a type error elsewhere.
      packageOptions: {
        entryPoints: ['src/index.ts'],
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
    const project = await app.convert()
    if (!project) throw new Error('typedoc could not convert the packages: see the messages above')
    await app.generateOutputs(project)
    if (app.logger.hasErrors()) throw new Error('typedoc reported errors: see the messages above')
  }

  for (const pkg of referencePackages) {
    const file = join(outDir, `${pkg.dir}.md`)
    const generated = present.includes(pkg)
      ? await readFile(join(tmpDir, `${pkg.name}.md`), 'utf8').catch(async () =>
          readFile(join(tmpDir, ...pkg.name.split('/')) + '.md', 'utf8'),
        )
      : null
    await writeFile(file, page(pkg, generated))
  }
  await rm(tmpDir, { recursive: true, force: true })
  return present.map((pkg) => pkg.name)
}

// typedoc-plugin-markdown names pages after the package ("@dataverse-s2s/core.md"); the site serves them as
// /reference/api/core, so links between packages are rewritten to those names. The body is wrapped in v-pre
// so that text such as `{{` in a comment is never read as a Vue template.
function page(pkg, generated) {
  const head = `---\ntitle: "${pkg.name}"\noutline: [2, 3]\n---\n\n# ${pkg.name}\n\n`
  if (generated === null) {
    return `${head}This package exports nothing yet, so there is no reference for it. It is generated from the package's TSDoc on every build.\n`
  }
  let body = generated.replace(/^# .*\n+/, '')
  for (const other of referencePackages) {
    const escaped = other.name.replace(/[/@-]/g, (c) => `\\${c}`)
    body = body.replace(
      new RegExp(`\\]\\((?:\\.\\./)*(?:\\.\\/)?${escaped}\\.md`, 'g'),
      `](./${other.dir}.md`,
    )
  }
  return `${head}*${pkg.summary}.* Generated from the package's TSDoc.\n\n<div v-pre>\n\n${body}\n\n</div>\n`
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const done = await generateReference()
  console.log(
    `reference generated for ${done.length ? done.join(', ') : 'no package (none exports anything yet)'}`,
  )
}
