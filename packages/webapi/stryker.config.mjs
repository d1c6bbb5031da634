import { strykerConfig } from '../../scripts/mutation/shared.mjs'

// What decides whether a write happens once, is retried, or is refused: the pipeline and its governor, the filter
// template and paths (injection), batch and bulk.
export default strykerConfig('packages/webapi', [
  'src/internal/pipeline.ts',
  'src/internal/governor.ts',
  'src/internal/paths.ts',
  'src/filter.ts',
  'src/batch.ts',
  'src/bulk.ts',
])
