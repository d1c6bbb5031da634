import { strykerConfig } from '../../scripts/mutation/shared.mjs'

// The emulator's guards: who a token belongs to (auth), what a user may do (privileges), optimistic concurrency
// (ETags), which rows a $filter selects (its tokens, paths through lookups and Dataverse's query functions), and the
// atomicity of a $batch change set.
export default strykerConfig('packages/emulator', [
  'src/dataverse/auth.ts',
  'src/dataverse/privileges.ts',
  'src/dataverse/etag.ts',
  'src/dataverse/odata-filter.ts',
  'src/dataverse/odata-tokens.ts',
  'src/dataverse/filter-path.ts',
  'src/dataverse/query-functions.ts',
  'src/dataverse/batch.ts',
])
