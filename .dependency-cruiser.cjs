// The repo's boundaries (ARCHITECTURE.md, "The one-way rule"); `pnpm lint` runs them as `depcruise`.
// A "root" is one workspace project: packages/<name>, apps/<name>, tools/<name>, bench, docs or scripts.
const { readdirSync, readFileSync, existsSync } = require('node:fs')
const { join } = require('node:path')

const ROOT = '^((?:packages|apps|tools)/[^/]+|bench|docs|scripts)/'
const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

// What each workspace package lets others import: the files its package.json `exports` names (any condition).
function entryPoints() {
  const entries = []
  for (const group of ['packages', 'apps', 'tools']) {
    if (!existsSync(group)) continue
    for (const name of readdirSync(group)) {
      const manifest = join(group, name, 'package.json')
      if (!existsSync(manifest)) continue
      const collect = (value) => {
        if (typeof value === 'string') {
          if (value.startsWith('./') && !value.endsWith('package.json'))
            entries.push(`^${escapeRegExp(join(group, name, value))}$`)
        } else if (value && typeof value === 'object') for (const v of Object.values(value)) collect(v)
      }
      collect(JSON.parse(readFileSync(manifest, 'utf8')).exports)
    }
  }
  return entries
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'webapi-no-azure',
      comment: 'webapi takes getToken(resource): it stays free of MSAL and of every other @azure/* package.',
      severity: 'error',
      from: { path: '^packages/webapi/' },
      to: { path: '(^|/)@azure/' },
    },
    {
      name: 'emulator-no-product-packages',
      comment:
        'The emulator is the outside world: it imports none of the @dataverse-s2s packages it is used to test.',
      severity: 'error',
      from: { path: '^packages/emulator/' },
      to: { path: ['(^|/)@dataverse-s2s/(?!test-browser)', '^(packages/(?!emulator/)|apps/|bench/|docs/)'] },
    },
    {
      name: 'no-relative-import-across-roots',
      comment:
        'Reach another workspace project through its package name (and its package.json exports), never by a relative path.',
      severity: 'error',
      // A package's tool config (vitest, stryker) may take the repository's shared settings: files at the root
      // (vitest.shared.ts) and scripts/mutation/shared.mjs. Everything else goes through a package name.
      from: { path: ROOT, pathNot: '/[^/]+\\.config\\.(ts|mjs)$' },
      to: { dependencyTypes: ['local'], pathNot: ['^$1/', '^[^/]+$'] },
    },
    {
      name: 'only-through-package-exports',
      comment:
        'Import another project only through what its package.json exports (src/index.ts), never its src/ or internal/ files.',
      severity: 'error',
      from: { path: ROOT, pathNot: '/[^/]+\\.config\\.(ts|mjs)$' },
      to: { path: ROOT, pathNot: ['^$1/', ...entryPoints()] },
    },
    {
      name: 'no-circular',
      comment:
        'Imports point one way (type-only imports too): move what two modules share down into a third.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment:
        'An import that does not resolve: a typo, a deep import the exports map hides, or a missing dependency.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    exclude: {
      // scripts/test/runtimes/ holds programs copied into a scratch project that installs the built package.
      path: [
        '^scripts/test/runtimes/',
        '(^|/)node_modules/',
        '(^|/)dist/',
        '\\.vitepress/(cache|dist)/',
        '(^|/)\\.turbo/',
      ],
    },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['@dataverse-s2s/source', 'import', 'node', 'types', 'default'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.mts', '.js', '.mjs', '.d.ts', '.d.mts', '.json'],
    },
  },
}
