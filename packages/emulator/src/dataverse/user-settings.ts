import type { OrgModel } from './org-model.ts'

// Formatted values follow the calling user's settings (Microsoft Learn, "Query data using the Web API" § Formatted
// values; "Specify time zone settings for a user": the `usersettings` table, one row per user keyed by
// `systemuserid`, `timezonecode` naming a TimeZoneDefinition.TimeZoneCode, `localeid` a Windows LCID). When the call
// impersonates a user, that user's settings apply. A user without a row, or with a code the emulator does not know,
// gets en-US in UTC (the emulator's org default).

/** How one user sees values: a BCP 47 locale and an IANA time zone. */
export interface UserFormat {
  locale: string
  timeZone: string
}

export const DEFAULT_FORMAT: UserFormat = { locale: 'en-US', timeZone: 'UTC' }

/** Windows LCIDs (MS-LCID) of the locales the emulator formats for. */
const LOCALES: Record<number, string> = {
  1030: 'da-DK',
  1031: 'de-DE',
  1033: 'en-US',
  1034: 'es-ES',
  1035: 'fi-FI',
  1036: 'fr-FR',
  1040: 'it-IT',
  1041: 'ja-JP',
  1043: 'nl-NL',
  1044: 'nb-NO',
  1045: 'pl-PL',
  1046: 'pt-BR',
  1053: 'sv-SE',
  2052: 'zh-CN',
  2057: 'en-GB',
  3082: 'es-ES',
  3084: 'fr-CA',
}

/**
 * TimeZoneDefinition codes (Microsoft's time zone index values) of common zones, with the IANA zone of their Windows
 * standard name (CLDR windowsZones).
 */
const TIME_ZONES: Record<number, { standardName: string; iana: string }> = {
  4: { standardName: 'Pacific Standard Time', iana: 'America/Los_Angeles' },
  10: { standardName: 'Mountain Standard Time', iana: 'America/Denver' },
  20: { standardName: 'Central Standard Time', iana: 'America/Chicago' },
  35: { standardName: 'Eastern Standard Time', iana: 'America/New_York' },
  85: { standardName: 'GMT Standard Time', iana: 'Europe/London' },
  92: { standardName: 'UTC', iana: 'UTC' },
  95: { standardName: 'Central Europe Standard Time', iana: 'Europe/Budapest' },
  105: { standardName: 'Romance Standard Time', iana: 'Europe/Paris' },
  110: { standardName: 'W. Europe Standard Time', iana: 'Europe/Berlin' },
  190: { standardName: 'India Standard Time', iana: 'Asia/Kolkata' },
  235: { standardName: 'Tokyo Standard Time', iana: 'Asia/Tokyo' },
  255: { standardName: 'AUS Eastern Standard Time', iana: 'Australia/Sydney' },
}

/** The format of user `userId` in `org`, from its `usersettings` row. */
export function userFormat(org: OrgModel, userId: string | undefined): UserFormat {
  if (!userId) return DEFAULT_FORMAT
  const table = org.store.tables.get('usersettings')
  const row = table?.get(userId)
  if (!table || !row) return DEFAULT_FORMAT
  const value = (name: string) => {
    const col = table.def.byName.get(name)
    return col ? row[col.index] : undefined
  }
  const locale = LOCALES[Number(value('localeid'))] ?? DEFAULT_FORMAT.locale
  const timeZone = TIME_ZONES[Number(value('timezonecode'))]?.iana ?? DEFAULT_FORMAT.timeZone
  return locale === DEFAULT_FORMAT.locale && timeZone === DEFAULT_FORMAT.timeZone
    ? DEFAULT_FORMAT
    : { locale, timeZone }
}
