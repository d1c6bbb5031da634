import { existsSync, readFileSync } from 'node:fs'
import type { DefaultTheme } from 'vitepress'

// The reference's part of the sidebar (one collapsed group per package, a page per symbol) is written by
// scripts/reference.mjs next to the pages it lists; before the first build there is none, and nothing to list.
const referenceSidebarFile = new URL('./reference-sidebar.json', import.meta.url)

function referenceSidebar(): DefaultTheme.SidebarItem[] {
  if (!existsSync(referenceSidebarFile)) return []
  return JSON.parse(readFileSync(referenceSidebarFile, 'utf8')) as DefaultTheme.SidebarItem[]
}

// One sidebar for the whole site, so every page is one click away and the browser test can walk it.
export const sidebar: DefaultTheme.SidebarItem[] = [
  {
    text: 'Start here',
    items: [
      { text: 'What is S2S authentication?', link: '/start/' },
      { text: 'Multi-tenant or single-tenant?', link: '/start/choosing' },
      { text: 'Install', link: '/start/install' },
      { text: 'Quickstart on the emulator', link: '/start/quickstart' },
    ],
  },
  {
    text: 'Walkthroughs',
    items: [
      { text: 'Multi-tenant app', link: '/walkthroughs/multi-tenant' },
      { text: 'Single-tenant app', link: '/walkthroughs/single-tenant' },
      { text: 'Multi-tenant on your real tenants', link: '/walkthroughs/real-tenants' },
    ],
  },
  {
    text: 'Guides',
    items: [
      { text: 'Tokens and caching', link: '/guides/tokens-and-caching' },
      { text: 'Clouds', link: '/guides/clouds' },
      { text: 'Tenant discovery', link: '/guides/tenant-discovery' },
      { text: 'Admin consent', link: '/guides/admin-consent' },
      { text: 'Onboarding router (Hono)', link: '/guides/onboarding-router' },
      { text: 'Working with records', link: '/guides/records' },
      { text: 'File columns', link: '/guides/files' },
      { text: 'Querying and paging', link: '/guides/querying-and-paging' },
      { text: 'Dataverse search', link: '/guides/search' },
      { text: 'Batch', link: '/guides/batch' },
      { text: 'Bulk operations', link: '/guides/bulk-operations' },
      { text: 'Table definitions and choices', link: '/guides/definitions' },
      { text: 'Syncing with change tracking', link: '/guides/sync' },
      { text: 'Generating types', link: '/guides/codegen' },
      { text: 'The command line', link: '/guides/cli' },
      { text: 'CLI: tokens, consent, discovery', link: '/guides/cli-identity' },
      { text: 'CLI: checking and provisioning', link: '/guides/cli-access' },
      { text: 'CLI: queries, exports, imports', link: '/guides/cli-data' },
      { text: 'Errors and retries', link: '/guides/errors-and-retries' },
      { text: 'Service protection limits', link: '/guides/service-protection-limits' },
      { text: 'Observability (OpenTelemetry)', link: '/guides/observability' },
      { text: 'Scaling out (Redis + PostgreSQL)', link: '/guides/scaling-out' },
      { text: 'Impersonation', link: '/guides/impersonation' },
      { text: 'Provisioning the application user', link: '/guides/provisioning' },
      { text: 'The emulator', link: '/guides/emulator' },
      { text: 'Security checklist', link: '/guides/security-checklist' },
      { text: 'What runs where', link: '/guides/deploy-runtimes' },
      { text: 'Deploy on App Service / Container Apps', link: '/guides/deploy-azure' },
      { text: 'Deploy on Azure Functions', link: '/guides/deploy-functions' },
      { text: 'Migrating from dynamics-web-api', link: '/guides/migrate-from-dynamics-web-api' },
    ],
  },
  {
    text: 'Reference',
    items: [
      { text: 'Overview', link: '/reference/' },
      ...referenceSidebar(),
      { text: 'Changelog', link: '/reference/changelog' },
    ],
  },
  {
    text: 'Troubleshooting',
    items: [
      { text: 'Overview', link: '/troubleshooting/' },
      { text: 'Entra ID errors (AADSTS)', link: '/troubleshooting/entra-errors' },
      { text: 'Dataverse errors', link: '/troubleshooting/dataverse-errors' },
      { text: 'Error codes of the packages', link: '/troubleshooting/error-codes' },
    ],
  },
]
