import { ensureBuilt } from './site.ts'

// The browser test needs the built site: build it when it is missing or older than any source
// (turbo's build task does not keep .vitepress/dist as an output, and a fresh clone has none).
export default function setup(): void {
  ensureBuilt()
}
