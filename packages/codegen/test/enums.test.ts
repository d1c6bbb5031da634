import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { defaultIds, defaultSeed, type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import { createDataverseClient, type DataverseClient } from '@dataverse-s2s/webapi'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generate, parseMetadata, readChoices } from '../src/index.ts'

const run = promisify(execFile)
const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const root = resolve(pkg, '../..')
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const work = mkdtempSync(join(pkg, '.generated-enums-'))

let emulator: EmulatorHandle
let client: DataverseClient

beforeAll(async () => {
  const seed = defaultSeed()
  const contoso = seed.orgs?.find((o) => o.uniqueName === 'contoso')
  if (!contoso) throw new Error('the default seed has no contoso org')
  contoso.dataverse = {
    sampleData: false,
    optionSets: [
      {
        name: 'new_region',
        options: [
          { value: 100_000_000, label: 'Zürich Straße' },
          { value: 100_000_001, label: 'Gdańsk' },
          { value: 100_000_002, label: '東京' },
        ],
      },
    ],
    tables: [
      {
        logicalName: 'new_project',
        primaryName: 'new_name',
        columns: [
          { name: 'new_name', type: 'string' },
          { name: 'new_region', type: 'picklist', optionSet: 'new_region' },
          {
            name: 'new_channels',
            type: 'multiselectpicklist',
            options: [
              { value: 1, label: 'E-mail' },
              { value: 2, label: 'Phone' },
            ],
          },
          {
            name: 'new_stage',
            type: 'picklist',
            options: [
              { value: 1, label: 'To do' },
              { value: 2, label: "Won't do" },
              { value: 3, label: 'Done' },
              { value: 4, label: 'Done' },
              { value: 5, label: '2nd review' },
              { value: 6, label: "It's */ 'quoted' \\ here" },
            ],
          },
        ],
      },
    ],
    systemUsers: [{ applicationId: defaultIds.multiTenantAppId, roles: ['System Administrator'] }],
  }
  emulator = await startEmulator({ port: 0, seed })
  const org = emulator.orgs.find((o) => o.tenantId === defaultIds.contosoTenantId)
  if (!org) throw new Error('no contoso org')
  client = createDataverseClient({
    url: org.url,
    ca: emulator.caCertPem,
    getToken: (resource) =>
      emulator.world.mintAppToken({
        tenantId: defaultIds.contosoTenantId,
        appId: defaultIds.multiTenantAppId,
        resource,
      }),
  })
})

afterAll(async () => {
  rmSync(work, { recursive: true, force: true })
  await emulator?.stop()
})

describe('choice enums from the table definitions of the emulator', () => {
  let source: string
  beforeAll(async () => {
    const xml = (
      await client.request<string>({
        method: 'GET',
        path: '$metadata',
        headers: { accept: 'application/xml' },
      })
    ).body
    const tables = ['account', 'new_project']
    source = generate(parseMetadata(xml as string), {
      tables,
      choices: await readChoices(client.definitions, tables),
      source: 'the emulator',
    })
  })

  it('emits as const enums with labels maps, names deterministic for any label', async () => {
    await expect(source).toMatchFileSnapshot('./__snapshots__/enums.generated.ts.snap')
    expect(source).toContain('export const AccountIndustrycode = {\n  Accounting: 1,')
    expect(source).toContain('  industrycode?: AccountIndustrycode | null')
    expect(source).toContain('  DoctorsOfficesAndClinics: 11,')
    expect(source).toContain(
      '  ZurichStrasse: 100000000,\n  Gdansk: 100000001,\n  Value100000002: 100000002,',
    )
    expect(source).toContain("  100000002: '東京',")
    // a multi-select choice gets its enum; its column stays the comma-separated string the Web API sends
    expect(source).toContain('export const NewProjectNewChannels = {\n  EMail: 1,\n  Phone: 2,\n} as const')
    expect(source).toContain('  new_channels?: string | null')
  })

  it('compiles, and tsc refuses a value that is not an option', async () => {
    writeFileSync(join(work, 'dataverse.ts'), source)
    writeFileSync(
      join(work, 'usage.ts'),
      `import { type Account, AccountIndustrycode, AccountIndustrycodeLabels, type NewProject, NewProjectNewStage } from './dataverse.ts'

export const consulting: Account = { name: 'A', industrycode: AccountIndustrycode.Consulting }
export const label: string = AccountIndustrycodeLabels[AccountIndustrycode.Consulting]
export const stage: NewProject['new_stage'] = NewProjectNewStage.Done_4
`,
    )
    writeFileSync(
      join(work, 'misuse.ts'),
      `import type { Account } from './dataverse.ts'

export const wrong: Account = { industrycode: 99 }
`,
    )
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({ extends: join(root, 'tsconfig.base.json'), include: ['*.ts'] }),
    )
    const res = await run(process.execPath, [tsc, '-p', join(work, 'tsconfig.json')], { cwd: work }).then(
      () => ({ code: 0, stdout: '' }),
      (err: { code: number; stdout: string }) => err,
    )
    const errors = res.stdout.split('\n').filter((l) => /error TS\d+/.test(l))
    expect(errors).toEqual([
      expect.stringMatching(/^misuse\.ts\(3,33\): error TS2322: Type '99' is not assignable/),
    ])
  })
})
