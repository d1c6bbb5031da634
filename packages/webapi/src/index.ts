export type { Batch, BatchOptions, BatchRef, BatchResult, BatchWriter, ChangeSet } from './batch.ts'
export { bind } from './bind.ts'
export type {
  BulkOptions,
  BulkRows,
  BulkTable,
  CreateMultipleOptions,
  DeleteMultipleOptions,
  UpdateMultipleOptions,
  UpsertMultipleOptions,
} from './bulk.ts'
export { createDataverseClient } from './client.ts'
export type { DataverseClient } from './client-types.ts'
export type {
  ChoiceDefinition,
  ChoiceKind,
  ChoiceOption,
  ColumnDefinition,
  DataverseDefinitions,
  KeyDefinition,
  KeyIndexStatus,
  RelationshipDefinition,
  TableDefinition,
  TablesOptions,
} from './definitions-types.ts'
export type {
  BulkOperation,
  BulkProgress,
  BulkUnwrittenChunk,
  BulkWrittenChunk,
  DataverseErrorCode,
  DataverseErrorDetails,
} from './errors.ts'
export { DataverseError, isDataverseError } from './errors.ts'
export type { DownloadFileOptions, DownloadFileResult, FileData, UploadFileOptions } from './files-types.ts'
export type { GuidLiteral, ODataExpression, ODataValue, RecordKey } from './filter.ts'
export { and, formatLiteral, guid, not, odata, or } from './filter.ts'
export type {
  AccessProblem,
  BusinessUnit,
  EnsureApplicationUserOptions,
  EnsureApplicationUserResult,
  VerifyAccessOptions,
  VerifyAccessReport,
} from './onboarding.ts'
export { ensureApplicationUser, getRootBusinessUnit, verifyAccess } from './onboarding.ts'
export type { AnnotationOptions, ExpandOption, QueryOptions } from './query.ts'
export type { Row } from './row.ts'
export type {
  AutocompleteOptions,
  AutocompleteResult,
  SearchEntity,
  SearchFacet,
  SearchHit,
  SearchOptions,
  SearchQueryContext,
  SearchResult,
  SearchSuggestion,
  SuggestOptions,
  SuggestResult,
} from './search-types.ts'
export type {
  SharedGrant,
  SharedOutcome,
  SharedThrottle,
  SharedThrottleOptions,
  SharedThrottleSettings,
} from './shared-throttle.ts'
export type {
  InstrumentOptions,
  MeterLike,
  SpanLike,
  TelemetryAttributes,
  TelemetryAttributeValue,
  TelemetryOptions,
  TracerLike,
} from './telemetry.ts'
export type {
  BoundTo,
  CallOptions,
  ChangesOptions,
  ChangesPage,
  ClientClock,
  ConcurrencyOptions,
  CreateOptions,
  DataverseClientOptions,
  DefinitionsCacheOptions,
  DeleteOptions,
  FetchXmlOptions,
  FetchXmlPage,
  GetToken,
  Impersonation,
  Logger,
  OperationOptions,
  QueryCallOptions,
  QueryPage,
  RawResponse,
  RetrieveOptions,
  RetryOptions,
  RowChange,
  SessionTokenSource,
  UpdateOptions,
  UpsertOptions,
  UpsertResult,
  WhoAmIResult,
} from './types.ts'
