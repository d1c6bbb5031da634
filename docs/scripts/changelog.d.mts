export interface ParsedChangeset {
  releases: { name: string; type: 'major' | 'minor' | 'patch' | 'none' }[]
  summary: string
}
export declare function parseChangeset(text: string): ParsedChangeset
export declare function renderChangelog(dirs: { changesetDir: string; packagesDir: string }): string
export declare function generateChangelog(): Promise<string>
