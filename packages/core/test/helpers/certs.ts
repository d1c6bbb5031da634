import { createPrivateKey, generateKeyPairSync } from 'node:crypto'
import { createWorld, defaultIds, defaultSeed } from '@dataverse-s2s/emulator'

export interface TestCertificate {
  certificatePem: string
  privateKeyPem: string
}

/** Two RSA certificates with their keys (the emulator generates the sample apps' credentials). */
export async function makeCertificates(): Promise<[TestCertificate, TestCertificate]> {
  const world = await createWorld(defaultSeed())
  const pick = (appId: string): TestCertificate => {
    const c = world.getApp(appId)!.certificates[0]!
    return { certificatePem: c.certificatePem, privateKeyPem: c.privateKeyPem! }
  }
  return [pick(defaultIds.multiTenantAppId), pick(defaultIds.singleTenantAppId)]
}

/** The key encrypted (PKCS#8, AES-256-CBC) with `passphrase`. */
export function encryptKey(privateKeyPem: string, passphrase: string): string {
  return createPrivateKey(privateKeyPem)
    .export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase })
    .toString()
}

/** An EC P-256 private key (not usable for Entra ID certificate credentials). */
export function ecKey(): string {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString()
}
