import { strykerConfig } from '../../scripts/mutation/shared.mjs'

// The code that guards security and data: who a token belongs to, single-use consent, what the cache serves.
export default strykerConfig('packages/core', [
  'src/verifier.ts',
  'src/verifier-keys.ts',
  'src/verifier-claims.ts',
  'src/verifier-signatures.ts',
  'src/consent.ts',
  'src/token-cache.ts',
  'src/credentials.ts',
])
