import { clientSecret, createTokenProvider, defineCloud } from '@dataverse-s2s/core'
import { defaultIds, startEmulator } from '@dataverse-s2s/emulator'

export async function emulatorExample(): Promise<{ tid: unknown; aud: unknown }> {
  // #region emulator
  const emulator = await startEmulator({ port: 0 })
  try {
    // The emulator is a custom cloud: its Entra ID at https://localhost:PORT, its orgs on other localhost ports.
    const cloud = defineCloud({ name: 'emulator', authorityHost: emulator.url })
    const tokens = createTokenProvider({
      clientId: defaultIds.multiTenantAppId,
      credential: clientSecret(defaultIds.multiTenantAppSecret),
      cloud,
      http: { ca: emulator.caCertPem }, // trust the emulator's CA for this provider only
    })
    const contoso = emulator.orgs.find((o) => o.tenantId === defaultIds.contosoTenantId)!
    const { token } = await tokens.getToken({ tenantId: contoso.tenantId, resource: contoso.url })
    // #endregion emulator
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<
      string,
      unknown
    >
    return { tid: claims['tid'], aud: claims['aud'] }
    // #region emulator
  } finally {
    await emulator.stop()
  }
  // #endregion emulator
}
