import { defineProject } from 'vitest/config'

// `changeset version` and `git init` block the worker; on a loaded CI runner they can take several seconds.
export default defineProject({
  test: { name: 'tooling', include: ['test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 },
})
