// Device-code provisioning of a new org: the CLI prints the code, the test plays the admin on the verification
// page with plain HTTPS form posts, and the CLI creates the application user, gives it the role and checks as the app.
import { request } from 'node:https'
import { defaultIds } from '@dataverse-s2s/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run, start, startWorld, type TestWorld, until } from './support.ts'

let world: TestWorld
let orgUrl: string

beforeAll(async () => {
  world = await startWorld()
  // a brand-new org in Fabrikam, a tenant that never consented to the app
  const org = await world.emulator.admin.createOrg({
    uniqueName: 'fabrikam-new',
    tenantId: defaultIds.fabrikamTenantId,
  })
  orgUrl = org.url
})
afterAll(async () => {
  await world?.emulator.stop()
})

function post(url: string, fields: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca: world.emulator.caCertPem,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
      (res) => {
        let text = ''
        res.on('data', (c: Buffer) => {
          text += c.toString('utf8')
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
      },
    )
    req.on('error', reject)
    req.end(new URLSearchParams(fields).toString())
  })
}

describe('provision', () => {
  it('signs the admin in with a device code, then creates the application user with the role', async () => {
    const before = await run(['check', ...world.flags(orgUrl)])
    expect(before.code).toBe(3)

    const cli = start(['provision', ...world.flags(orgUrl), '--role', 'Basic User', '--json'])
    await until(() => /enter the code \w+/.test(cli.output().stderr), 30_000, 'the device code prompt')
    const prompt = cli.output().stderr
    const code = /enter the code (\w+)/.exec(prompt)?.[1] as string
    const page = /open the page (\S+)/.exec(prompt)?.[1] as string
    expect(page).toBe(`${world.emulator.url}/common/oauth2/deviceauth`)
    const admin = 'admin@fabrikam.onmicrosoft.com'
    expect((await post(page, { __step: 'code', otc: code })).text).toContain(admin)
    const consent = await post(page, { __step: 'signin', otc: code, login: admin })
    expect(consent.text).toContain('Permissions requested')
    expect(
      (await post(page, { __step: 'approve', otc: code, login: admin, consent: 'accept' })).text,
    ).toContain('You have signed in')
    const res = await cli.done
    expect(res.stderr).not.toContain(defaultIds.multiTenantAppSecret)
    expect(res.code).toBe(0)
    const body = JSON.parse(res.stdout)
    expect(body).toMatchObject({
      tenantId: defaultIds.fabrikamTenantId,
      applicationId: defaultIds.multiTenantAppId,
      created: true,
      rolesAdded: ['Basic User'],
      verified: true,
    })

    const after = await run(['check', ...world.flags(orgUrl), '--role', 'Basic User'])
    expect(after.stdout).toContain('Basic User')
    expect(after.code).toBe(0)
  })

  it('stops with DEVICE_CODE_DECLINED when the admin cancels', async () => {
    const cli = start(['provision', ...world.flags(orgUrl), '--role', 'Basic User'])
    await until(() => /enter the code \w+/.test(cli.output().stderr), 30_000, 'the device code prompt')
    const code = /enter the code (\w+)/.exec(cli.output().stderr)?.[1] as string
    const page = /open the page (\S+)/.exec(cli.output().stderr)?.[1] as string
    await post(page, {
      __step: 'approve',
      otc: code,
      login: 'admin@fabrikam.onmicrosoft.com',
      consent: 'cancel',
    })
    const res = await cli.done
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(/\[DEVICE_CODE_DECLINED\] .*\nfix: Run the command again and choose Accept/)
  })
})
