import { randomUUID } from 'node:crypto'
import { decodeProtectedHeader } from 'jose'
import { describe, expect, it } from 'vitest'
import { EmulatorError } from '../errors.ts'
import { defaultIds, defaultSeed } from './default-seed.ts'
import { createWorld, World } from './world.ts'

describe('world', () => {
  it('builds the default seed with consent in Contoso only', async () => {
    const world = await createWorld(defaultSeed(), { authorityUrl: 'https://localhost:9443' })
    expect(world.getTenant('contoso.onmicrosoft.com')?.id).toBe(defaultIds.contosoTenantId)
    expect(world.getServicePrincipal(defaultIds.contosoTenantId, defaultIds.multiTenantAppId)?.objectId).toBe(
      defaultIds.contosoMultiTenantSpId,
    )
    expect(
      world.getServicePrincipal(defaultIds.fabrikamTenantId, defaultIds.multiTenantAppId),
    ).toBeUndefined()
    expect(world.getServicePrincipal(defaultIds.isvTenantId, defaultIds.multiTenantAppId)).toBeDefined()
    const cert = world.getApp(defaultIds.multiTenantAppId)!.certificates[0]!
    expect(cert.privateKeyPem).toContain('BEGIN PRIVATE KEY')
    expect(cert.thumbprintSha256Hex).toMatch(/^[0-9A-F]{64}$/)
  })

  it('mints v1 app-only tokens with the claims Dataverse relies on, verifiable after a rollover', async () => {
    const world = await createWorld(defaultSeed(), { authorityUrl: 'https://localhost:9443' })
    const org = world.getOrg(defaultIds.contosoOrgId)!
    org.url = 'https://localhost:9444'
    const token = await world.mintAppToken({
      tenantId: defaultIds.contosoTenantId,
      appId: defaultIds.multiTenantAppId,
      resource: 'https://localhost:9444/.default',
    })
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256', typ: 'JWT' })
    const claims = await world.verifyJwt(token)
    expect(claims).toMatchObject({
      aud: 'https://localhost:9444',
      iss: `https://localhost:9443/${defaultIds.contosoTenantId}/`,
      tid: defaultIds.contosoTenantId,
      oid: defaultIds.contosoMultiTenantSpId,
      sub: defaultIds.contosoMultiTenantSpId,
      appid: defaultIds.multiTenantAppId,
      appidacr: '1',
      idtyp: 'app',
      ver: '1.0',
    })
    await world.signingKeys.rollover()
    await expect(world.verifyJwt(token)).resolves.toMatchObject({ ver: '1.0' })
    expect(world.signingKeys.jwks().keys).toHaveLength(2)
    await world.signingKeys.rollover({ retainPrevious: false })
    await expect(world.verifyJwt(token)).rejects.toThrow(EmulatorError)
  })

  it('refuses tokens for tenants without consent and for unknown resources', async () => {
    const world = await createWorld(defaultSeed())
    world.getOrg(defaultIds.fabrikamOrgId)!.url = 'https://localhost:9445'
    const fabrikam = { tenantId: defaultIds.fabrikamTenantId, appId: defaultIds.multiTenantAppId }
    await expect(
      world.mintAppToken({ ...fabrikam, resource: 'https://localhost:9445' }),
    ).rejects.toMatchObject({
      code: 'NO_SERVICE_PRINCIPAL',
    })
    world.grantConsent(defaultIds.fabrikamTenantId, defaultIds.multiTenantAppId)
    await expect(
      world.mintAppToken({ ...fabrikam, resource: 'https://nowhere.example' }),
    ).rejects.toMatchObject({
      code: 'UNKNOWN_RESOURCE',
    })
    expect(world.revokeConsent(defaultIds.fabrikamTenantId, defaultIds.multiTenantAppId)).toBe(true)
    expect(() => world.grantConsent(defaultIds.fabrikamTenantId, defaultIds.singleTenantAppId)).toThrow(
      /single-tenant/,
    )
  })

  it('round-trips through a snapshot', async () => {
    const world = await createWorld(defaultSeed())
    const token = await world.mintIdToken({
      userObjectId: defaultIds.users.contosoAlice,
      appId: defaultIds.multiTenantAppId,
      nonce: 'n1',
    })
    const copy = await World.fromSnapshot(JSON.parse(JSON.stringify(world.snapshot())))
    expect(await copy.verifyJwt(token)).toMatchObject({
      nonce: 'n1',
      preferred_username: 'alice@contoso.onmicrosoft.com',
    })
    expect(copy.getServicePrincipal(defaultIds.contosoTenantId, defaultIds.multiTenantAppId)).toBeDefined()
    expect(copy.users.size).toBe(world.users.size)
  })

  it('validates input', async () => {
    const world = await createWorld({ tenants: [] })
    expect(() => world.addTenant({ id: 'nope', displayName: 'X' })).toThrow(/GUID/)
    expect(() => world.addUser({ tenantId: 'missing.onmicrosoft.com', userPrincipalName: 'a@b' })).toThrow(
      /does not exist/,
    )
    const t = world.addTenant({ displayName: 'T' })
    await world.addApp({ homeTenantId: t.id, displayName: 'A', identifierUri: 'api://a' })
    await expect(
      world.addApp({ homeTenantId: t.id, displayName: 'B', identifierUri: 'api://a/' }),
    ).rejects.toThrow(/already used/)
    await expect(
      world.addApp({ homeTenantId: t.id, displayName: 'C', identifierUri: 'not a uri' }),
    ).rejects.toThrow(/not a URI/)
    expect(world.apps.size).toBe(1)
  })

  describe('access tokens for an app’s own API follow its requestedAccessTokenVersion', () => {
    const A = 'https://localhost:9443'
    const apiUri = `api://${defaultIds.multiTenantAppId}`
    const alice = {
      userObjectId: defaultIds.users.contosoAlice,
      appId: defaultIds.multiTenantAppId,
      resource: apiUri,
    }

    it('issues v2.0 tokens by default (the emulator’s default, unlike Entra’s null)', async () => {
      const world = await createWorld(defaultSeed(), { authorityUrl: A })
      expect(world.getApp(defaultIds.multiTenantAppId)?.requestedAccessTokenVersion).toBe(2)
      const token = await world.mintUserAccessToken(alice)
      expect(decodeProtectedHeader(token).x5t).toBeUndefined()
      expect(await world.verifyJwt(token)).toMatchObject({
        aud: defaultIds.multiTenantAppId,
        iss: `${A}/${defaultIds.contosoTenantId}/v2.0`,
        azp: defaultIds.multiTenantAppId,
        preferred_username: 'alice@contoso.onmicrosoft.com',
        ver: '2.0',
      })
    })

    it('issues v1.0 tokens shaped like Entra’s once the app asks for version 1', async () => {
      const world = await createWorld(defaultSeed(), { authorityUrl: A })
      world.setRequestedAccessTokenVersion(defaultIds.multiTenantAppId, 1)
      const token = await world.mintUserAccessToken(alice)
      expect(decodeProtectedHeader(token).x5t).toBe(decodeProtectedHeader(token).kid)
      const claims = await world.verifyJwt(token)
      expect(claims).toMatchObject({
        aud: apiUri, // the identifier the client asked for
        iss: `${A}/${defaultIds.contosoTenantId}/`,
        idp: `${A}/${defaultIds.contosoTenantId}/`,
        tid: defaultIds.contosoTenantId,
        oid: defaultIds.users.contosoAlice,
        appid: defaultIds.multiTenantAppId,
        appidacr: '0',
        name: 'Alice Anderson',
        upn: 'alice@contoso.onmicrosoft.com',
        unique_name: 'alice@contoso.onmicrosoft.com',
        scp: 'access_as_user',
        ver: '1.0',
      })
      expect(claims.azp).toBeUndefined()
      expect(claims.preferred_username).toBeUndefined()
      // asked for by app id, the v1.0 audience is the app id
      const byId = await world.mintUserAccessToken({ ...alice, resource: defaultIds.multiTenantAppId })
      expect((await world.verifyJwt(byId)).aud).toBe(defaultIds.multiTenantAppId)
      // app-only tokens for the API follow the same setting; Dataverse tokens stay v1.0 whatever the app asks
      const appOnly = await world.mintAppToken({
        tenantId: defaultIds.isvTenantId,
        appId: defaultIds.multiTenantAppId,
        resource: `${apiUri}/.default`,
      })
      expect(await world.verifyJwt(appOnly)).toMatchObject({
        aud: apiUri,
        iss: `${A}/${defaultIds.isvTenantId}/`,
        appid: defaultIds.multiTenantAppId,
        idtyp: 'app',
        ver: '1.0',
      })
      world.setRequestedAccessTokenVersion(defaultIds.multiTenantAppId, 2)
      expect((await world.verifyJwt(await world.mintUserAccessToken(alice))).ver).toBe('2.0')
    })

    it('takes the setting from a seed (null means 1, as in Entra), keeps it in snapshots, and refuses other values', async () => {
      const world = await createWorld({ tenants: [{ displayName: 'T' }] }, { authorityUrl: A })
      const tid = [...world.tenants.keys()][0]!
      const v1 = await world.addApp({
        homeTenantId: tid,
        displayName: 'Legacy API',
        identifierUri: 'api://legacy',
        requestedAccessTokenVersion: null,
      })
      expect(v1.requestedAccessTokenVersion).toBe(1)
      const copy = await World.fromSnapshot(JSON.parse(JSON.stringify(world.snapshot())), A)
      expect(copy.getApp(v1.appId)?.requestedAccessTokenVersion).toBe(1)
      const token = await copy.mintAppToken({ tenantId: tid, appId: v1.appId, resource: 'api://legacy' })
      expect((await copy.verifyJwt(token)).ver).toBe('1.0')
      await expect(
        world.addApp({ homeTenantId: tid, displayName: 'Odd', requestedAccessTokenVersion: 3 as never }),
      ).rejects.toThrow(/requestedAccessTokenVersion .* must be 1, 2 or null/)
      expect(() => world.setRequestedAccessTokenVersion(v1.appId, '2' as never)).toThrow(EmulatorError)
      expect(() => world.setRequestedAccessTokenVersion(randomUUID(), 2)).toThrow(/does not exist/)
    })
  })

  describe('wids: directory roles in tokens, when the app registration asks for them', () => {
    const A = 'https://localhost:9443'
    const apiUri = `api://${defaultIds.multiTenantAppId}`
    const token = (world: World, userObjectId: string) =>
      world.mintUserAccessToken({ userObjectId, appId: defaultIds.multiTenantAppId, resource: apiUri })

    it('gives tenant admins the Global Administrator template id in wids, others no wids (default seed asks)', async () => {
      const world = await createWorld(defaultSeed(), { authorityUrl: A })
      expect(world.getApp(defaultIds.multiTenantAppId)?.groupMembershipClaims).toBe('DirectoryRole')
      const admin = await world.verifyJwt(await token(world, defaultIds.users.fabrikamAdmin))
      expect(admin.wids).toEqual([defaultIds.directoryRoles.globalAdministrator])
      const carol = await world.verifyJwt(await token(world, defaultIds.users.fabrikamCarol))
      expect(carol.wids).toBeUndefined()
      const id = await world.verifyJwt(
        await world.mintIdToken({
          userObjectId: defaultIds.users.fabrikamAdmin,
          appId: defaultIds.multiTenantAppId,
        }),
      )
      expect(id.wids).toEqual([defaultIds.directoryRoles.globalAdministrator])
      // Dataverse tokens are for Dataverse's own registration: no wids
      const org = world.getOrg(defaultIds.fabrikamOrgId)!
      org.url = 'https://localhost:9445'
      const dv = await world.mintUserAccessToken({
        userObjectId: defaultIds.users.fabrikamAdmin,
        appId: defaultIds.multiTenantAppId,
        resource: org.url,
      })
      expect((await world.verifyJwt(dv)).wids).toBeUndefined()
    })

    it('issues no wids once the manifest stops asking (None), and again with All; v1.0 tokens carry them too', async () => {
      const world = await createWorld(defaultSeed(), { authorityUrl: A })
      world.setGroupMembershipClaims(defaultIds.multiTenantAppId, 'None')
      expect((await world.verifyJwt(await token(world, defaultIds.users.fabrikamAdmin))).wids).toBeUndefined()
      world.setGroupMembershipClaims(defaultIds.multiTenantAppId, null)
      expect((await world.verifyJwt(await token(world, defaultIds.users.fabrikamAdmin))).wids).toBeUndefined()
      world.setGroupMembershipClaims(defaultIds.multiTenantAppId, 'All')
      world.setRequestedAccessTokenVersion(defaultIds.multiTenantAppId, 1)
      const v1 = await world.verifyJwt(await token(world, defaultIds.users.fabrikamAdmin))
      expect(v1).toMatchObject({ ver: '1.0', wids: [defaultIds.directoryRoles.globalAdministrator] })
      expect(() => world.setGroupMembershipClaims(defaultIds.multiTenantAppId, 'Roles' as never)).toThrow(
        /groupMembershipClaims/,
      )
    })

    it('carries the roles a user was given, keeps them in snapshots, and refuses ids that are not GUIDs', async () => {
      const world = await createWorld(defaultSeed(), { authorityUrl: A })
      const appAdmin = defaultIds.directoryRoles.applicationAdministrator
      world.setDirectoryRoles(defaultIds.users.fabrikamCarol, [appAdmin.toUpperCase()])
      expect((await world.verifyJwt(await token(world, defaultIds.users.fabrikamCarol))).wids).toEqual([
        appAdmin,
      ])
      world.setDirectoryRoles(defaultIds.users.fabrikamAdmin, [])
      expect((await world.verifyJwt(await token(world, defaultIds.users.fabrikamAdmin))).wids).toBeUndefined()
      const copy = await World.fromSnapshot(JSON.parse(JSON.stringify(world.snapshot())), A)
      expect((await copy.verifyJwt(await token(copy, defaultIds.users.fabrikamCarol))).wids).toEqual([
        appAdmin,
      ])
      expect(() => world.setDirectoryRoles(defaultIds.users.fabrikamCarol, ['admin'])).toThrow(/GUIDs/)
      expect(() =>
        world.addUser({
          tenantId: defaultIds.fabrikamTenantId,
          userPrincipalName: 'eve@fabrikam.onmicrosoft.com',
          directoryRoles: ['x'],
        }),
      ).toThrow(/GUIDs/)
    })
  })
})
