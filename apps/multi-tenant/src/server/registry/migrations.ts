/**
 * Schema migrations, applied in order once each. Plain PostgreSQL: the same statements run on PGlite (embedded)
 * and on a PostgreSQL server. Never edit a released migration; add the next one.
 */
export const migrations: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'tenants',
    sql: `
      CREATE TABLE tenants (
        tenant_id        uuid PRIMARY KEY,
        org_url          text NOT NULL,
        status           text NOT NULL CHECK (status IN ('consented', 'provisioned', 'verified', 'offboarded')),
        onboarded_by     uuid,
        onboarded_by_name text,
        consented_at     timestamptz NOT NULL,
        provisioned_at   timestamptz,
        verified_at      timestamptz,
        offboarded_at    timestamptz,
        last_check_at    timestamptz,
        last_check_ok    boolean,
        last_check_detail text,
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX tenants_status_idx ON tenants (status);
    `,
  },
  {
    version: 2,
    name: 'used consent states',
    sql: `
      CREATE TABLE used_consent_states (
        state_id   text PRIMARY KEY,
        expires_at timestamptz NOT NULL
      );
      CREATE INDEX used_consent_states_expiry_idx ON used_consent_states (expires_at);
    `,
  },
]
