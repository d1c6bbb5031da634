// The Stryker settings every package shares; each package's stryker.config.mjs names only the files it guards.
// Stryker runs from the repository root and copies only the package and the shared config files into its sandbox,
// so relative imports such as `../../vitest.shared.ts` keep working and a broken run never leaves mutated sources.

/**
 * @param {string} dir - the package folder, relative to the repository root (e.g. `packages/core`)
 * @param {string[]} files - the guarded source files, relative to that folder
 */
export function strykerConfig(dir, files) {
  // Read by vitest.shared.ts in the test runners Stryker starts: leaves the load tests out.
  process.env.DATAVERSE_S2S_MUTATION = '1'
  const name = dir.replaceAll('/', '-')
  return {
    packageManager: 'pnpm',
    testRunner: 'vitest',
    vitest: { configFile: `${dir}/vitest.config.ts`, dir },
    plugins: ['@stryker-mutator/vitest-runner'],
    mutate: files.map((f) => `${dir}/${f}`),
    ignorePatterns: [
      '/*',
      '!/package.json',
      '!/tsconfig.base.json',
      '!/vitest.shared.ts',
      '!/packages',
      '/packages/*',
      `!/${dir}`,
      `/${dir}/dist`,
      `/${dir}/.stryker`,
    ],
    coverageAnalysis: 'perTest',
    // Two cores: one test process keeps the machine usable and the timings stable. On a bigger machine:
    // `pnpm exec stryker run packages/core/stryker.config.mjs --concurrency 4`.
    concurrency: 1,
    incremental: true,
    incrementalFile: `.stryker/${name}/incremental.json`,
    tempDirName: `.stryker/tmp-${name}`,
    cleanTempDir: 'always',
    timeoutMS: 20_000,
    reporters: ['clear-text', 'progress', 'html', 'json'],
    htmlReporter: { fileName: `.stryker/${name}/report.html` },
    jsonReporter: { fileName: `.stryker/${name}/mutation.json` },
    thresholds: { high: 95, low: 90, break: null },
  }
}
