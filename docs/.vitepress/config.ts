import { defineConfig } from 'vitepress'
import { sidebar } from './sidebar.ts'

// Everything is served from this site: the default theme's fonts are bundled, search is local (minisearch),
// and nothing is loaded from a CDN, so the site builds and runs offline.
export default defineConfig({
  title: 'Dataverse S2S',
  description:
    'Server-to-server (S2S) authentication for web apps on Microsoft Dynamics 365 / Dataverse: tokens for many tenants, a Web API client, onboarding, and a local emulator.',
  lang: 'en-US',
  cleanUrls: false,
  lastUpdated: false,
  srcExclude: ['**/README.md', 'test/**', 'snippets/**', 'scripts/**', 'test-results/**'],
  head: [['link', { rel: 'icon', type: 'image/svg+xml', href: '/logo.svg' }]],
  markdown: {
    theme: { light: 'github-light', dark: 'github-dark' },
    lineNumbers: false,
  },
  themeConfig: {
    logo: '/logo.svg',
    nav: [
      { text: 'Start here', link: '/start/', activeMatch: '^/start/' },
      { text: 'Walkthroughs', link: '/walkthroughs/multi-tenant', activeMatch: '^/walkthroughs/' },
      { text: 'Guides', link: '/guides/tokens-and-caching', activeMatch: '^/guides/' },
      { text: 'Reference', link: '/reference/', activeMatch: '^/reference/' },
      { text: 'Troubleshooting', link: '/troubleshooting/', activeMatch: '^/troubleshooting/' },
    ],
    sidebar,
    search: { provider: 'local' },
    outline: { level: [2, 3] },
    footer: {
      message: 'Released under the MIT License. Not affiliated with Microsoft.',
    },
    docFooter: { prev: 'Previous', next: 'Next' },
  },
})
