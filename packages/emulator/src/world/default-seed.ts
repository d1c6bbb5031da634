import type { WorldSeed } from './types.ts'

/**
 * Fixed ids of the default world, so docs, samples and `.env` files can name them. Certificates are generated on
 * first start (and kept in the state folder when there is one); read them from the handle.
 */
export const defaultIds = {
  /** Litware, the ISV that owns the multi-tenant app. */
  isvTenantId: '8f6d2c1a-3b4e-4d5f-9a6b-7c8d9e0f1a2b',
  contosoTenantId: '2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d',
  fabrikamTenantId: '3b4c5d6e-7f8a-4b9c-8d1e-2f3a4b5c6d7e',
  /** "Litware Connector": multi-tenant (AzureADMultipleOrgs), secret + certificate, SPA + web redirects, API scope `access_as_user`. */
  multiTenantAppId: '6e2f8c4a-1d3b-4e5f-a6b7-c8d9e0f1a2b3',
  /** The development client secret of the multi-tenant app. */
  multiTenantAppSecret: 'Lw8Q~emulator-dev-secret-multi-tenant-0001',
  /** "Contoso Back Office": single-tenant (AzureADMyOrg) in Contoso, certificate + secret, web redirect. */
  singleTenantAppId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
  singleTenantAppSecret: 'Cb7Q~emulator-dev-secret-single-tenant-01',
  /** Service principal of the multi-tenant app in Contoso (Contoso has consented). */
  contosoMultiTenantSpId: '4c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e7f',
  contosoOrgId: '5d6e7f8a-9b0c-4d1e-8f2a-3b4c5d6e7f8a',
  fabrikamOrgId: '6e7f8a9b-0c1d-4e2f-9a3b-4c5d6e7f8a9b',
  /**
   * Template ids of the Entra built-in directory roles that may grant tenant-wide admin consent (entra-docs
   * permissions-reference.md); the `wids` claim carries them.
   */
  directoryRoles: {
    globalAdministrator: '62e90394-69f5-4237-9190-012177145e10',
    privilegedRoleAdministrator: 'e8611ab8-c189-46e8-94e1-60213ab1f814',
    cloudApplicationAdministrator: '158c047a-c907-4556-b7ef-446551a6b5f7',
    applicationAdministrator: '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3',
  },
  users: {
    isvAdmin: '7f8a9b0c-1d2e-4f3a-8b4c-5d6e7f8a9b0c',
    contosoAdmin: '8a9b0c1d-2e3f-4a4b-9c5d-6e7f8a9b0c1d',
    contosoAlice: '9b0c1d2e-3f4a-4b5c-8d6e-7f8a9b0c1d2e',
    contosoBob: '0c1d2e3f-4a5b-4c6d-9e7f-8a9b0c1d2e3f',
    fabrikamAdmin: '1d2e3f4a-5b6c-4d7e-8f8a-9b0c1d2e3f4a',
    fabrikamCarol: '2e3f4a5b-6c7d-4e8f-9a9b-0c1d2e3f4a5b',
    fabrikamDave: '3f4a5b6c-7d8e-4f9a-8b0c-1d2e3f4a5b6c',
  },
} as const

/**
 * Redirect URIs registered for the samples:
 * - the multi-tenant sample's SPA (Vite, msal-browser) at `http://localhost:5173` (SPA platform: CORS redemption);
 * - its Hono API at `http://localhost:3000`, which receives the admin-consent redirect (`/onboarding/callback`)
 *   and may sign users in server side (`/auth/callback`);
 * - the single-tenant sample's server-side web app at `http://localhost:3001/auth/callback`.
 */
export const sampleRedirectUris = {
  multiTenantSpa: ['http://localhost:5173', 'http://localhost:5173/', 'http://localhost:5173/auth/callback'],
  multiTenantWeb: [
    'http://localhost:3000/auth/callback',
    'http://localhost:3000/onboarding/callback',
    'http://localhost:5173/onboarding/callback',
  ],
  singleTenantWeb: ['http://localhost:3001/auth/callback', 'http://localhost:3001/onboarding/callback'],
} as const

/**
 * The default world: Litware (ISV) with a multi-tenant app; Contoso (consented, onboarded) and Fabrikam (not).
 * @example
 * const seed = defaultSeed()
 * seed.tenants.push({ id: '4c5d6e7f-8a9b-4c0d-9e1f-3a4b5c6d7e8f', displayName: 'Northwind', domain: 'northwind.onmicrosoft.com' })
 * const emulator = await startEmulator({ port: 0, seed })
 */
export function defaultSeed(): WorldSeed {
  const ids = defaultIds
  return {
    tenants: [
      { id: ids.isvTenantId, displayName: 'Litware', domain: 'litware.onmicrosoft.com' },
      { id: ids.contosoTenantId, displayName: 'Contoso', domain: 'contoso.onmicrosoft.com' },
      { id: ids.fabrikamTenantId, displayName: 'Fabrikam', domain: 'fabrikam.onmicrosoft.com' },
    ],
    apps: [
      {
        appId: ids.multiTenantAppId,
        homeTenantId: ids.isvTenantId,
        displayName: 'Litware Connector',
        signInAudience: 'AzureADMultipleOrgs',
        secrets: [{ id: 'f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b', value: ids.multiTenantAppSecret }],
        certificates: [{ generate: true, subject: 'Litware Connector' }],
        redirectUris: {
          web: [...sampleRedirectUris.multiTenantWeb],
          spa: [...sampleRedirectUris.multiTenantSpa],
        },
        identifierUri: `api://${ids.multiTenantAppId}`,
        exposedScopes: ['access_as_user'],
        // The sample decides who administers a tenant's connection from the directory roles in `wids`.
        groupMembershipClaims: 'DirectoryRole',
      },
      {
        appId: ids.singleTenantAppId,
        homeTenantId: ids.contosoTenantId,
        displayName: 'Contoso Back Office',
        signInAudience: 'AzureADMyOrg',
        secrets: [{ id: 'e2d3c4b5-a6f7-4089-9b0c-1d2e3f4a5b6c', value: ids.singleTenantAppSecret }],
        certificates: [{ generate: true, subject: 'Contoso Back Office' }],
        redirectUris: { web: [...sampleRedirectUris.singleTenantWeb], spa: [] },
        exposedScopes: [],
      },
    ],
    users: [
      {
        objectId: ids.users.isvAdmin,
        tenantId: ids.isvTenantId,
        userPrincipalName: 'admin@litware.onmicrosoft.com',
        displayName: 'Lee Gu',
        isTenantAdmin: true,
      },
      {
        objectId: ids.users.contosoAdmin,
        tenantId: ids.contosoTenantId,
        userPrincipalName: 'admin@contoso.onmicrosoft.com',
        displayName: 'Megan Bowen',
        isTenantAdmin: true,
        dataverseRoles: ['System Administrator'],
      },
      {
        objectId: ids.users.contosoAlice,
        tenantId: ids.contosoTenantId,
        userPrincipalName: 'alice@contoso.onmicrosoft.com',
        displayName: 'Alice Anderson',
        isTenantAdmin: false,
        dataverseRoles: ['Basic User'],
      },
      {
        objectId: ids.users.contosoBob,
        tenantId: ids.contosoTenantId,
        userPrincipalName: 'bob@contoso.onmicrosoft.com',
        displayName: 'Bob Brown',
        isTenantAdmin: false,
        dataverseRoles: [],
      },
      {
        objectId: ids.users.fabrikamAdmin,
        tenantId: ids.fabrikamTenantId,
        userPrincipalName: 'admin@fabrikam.onmicrosoft.com',
        displayName: 'Nestor Wilke',
        isTenantAdmin: true,
        dataverseRoles: ['System Administrator'],
      },
      {
        objectId: ids.users.fabrikamCarol,
        tenantId: ids.fabrikamTenantId,
        userPrincipalName: 'carol@fabrikam.onmicrosoft.com',
        displayName: 'Carol Clark',
        isTenantAdmin: false,
        dataverseRoles: ['Basic User'],
      },
      {
        objectId: ids.users.fabrikamDave,
        tenantId: ids.fabrikamTenantId,
        userPrincipalName: 'dave@fabrikam.onmicrosoft.com',
        displayName: 'Dave Davis',
        isTenantAdmin: false,
        dataverseRoles: [],
      },
    ],
    consents: [
      { tenantId: ids.contosoTenantId, appId: ids.multiTenantAppId, objectId: ids.contosoMultiTenantSpId },
    ],
    orgs: [
      {
        id: ids.contosoOrgId,
        uniqueName: 'contoso',
        tenantId: ids.contosoTenantId,
        displayName: 'Contoso (Production)',
      },
      {
        id: ids.fabrikamOrgId,
        uniqueName: 'fabrikam',
        tenantId: ids.fabrikamTenantId,
        displayName: 'Fabrikam',
      },
    ],
  }
}
