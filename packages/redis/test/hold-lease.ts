// Takes the single-flight lease for 'killed' and never finishes: the test SIGKILLs this process.
import { createRedisTokenStore, parseKeyRing } from '../src/index.ts'
import { connectForTest } from './redis.ts'

const redis = await connectForTest()
const store = createRedisTokenStore({
  redis,
  keyRing: parseKeyRing(process.env.KEY_RING as string),
  prefix: process.env.PREFIX as string,
  lease: { ttlMs: Number(process.env.TTL_MS) },
})
void store.singleFlight(
  'killed',
  () => {
    process.stdout.write('holding\n')
    return new Promise(() => {})
  },
  undefined,
)
