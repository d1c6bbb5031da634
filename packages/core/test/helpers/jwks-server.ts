import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, type JWK } from 'jose'

export interface SigningKey {
  kid: string
  privateKey: CryptoKey
  publicJwk: JWK
}

export async function makeSigningKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' } }
}

/** A loopback JWKS endpoint whose key set can be replaced, counting fetches. */
export async function startJwksServer(keys: SigningKey[]): Promise<{
  url: string
  fetches: () => number
  setKeys: (k: SigningKey[]) => void
  close: () => Promise<void>
}> {
  let current = keys
  let count = 0
  const server: Server = createServer((_req, res) => {
    count++
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ keys: current.map((k) => k.publicJwk) }))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/common/discovery/v2.0/keys`,
    fetches: () => count,
    setKeys: (k) => {
      current = k
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}
