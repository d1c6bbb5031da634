import type { Child, FC } from 'hono/jsx'
import type { Environment } from './config.ts'
import type { DashboardData } from './dashboard.ts'
import type { SessionData } from './session.ts'

export const css = `
:root { font-family: system-ui, sans-serif; color: #1b1b1f; background: #f6f7f9; }
body { margin: 0; }
header { display: flex; align-items: center; gap: 1rem; padding: .75rem 1.5rem; background: #0f4c81; color: #fff; }
header h1 { font-size: 1.1rem; margin: 0; flex: 1; }
header form { margin: 0; }
main { max-width: 960px; margin: 1.5rem auto; padding: 0 1.5rem; }
section { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 1rem 1.25rem; margin-bottom: 1rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #eceff3; }
button, .button { font: inherit; padding: .4rem .9rem; border-radius: 4px; border: 1px solid #0f4c81; background: #0f4c81; color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary { background: #fff; color: #0f4c81; }
.toolbar { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: end; }
.toolbar form { display: flex; gap: .5rem; align-items: end; margin: 0; }
.muted { color: #5c6370; }
.problem { border-color: #c62828; background: #fff5f5; }
`

const Layout: FC<{ title: string; session?: SessionData | undefined; children?: Child }> = ({
  title,
  session,
  children,
}) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{title} · Single-tenant Dataverse app</title>
      <link rel="stylesheet" href="/app.css" />
    </head>
    <body>
      <header>
        <h1>Single-tenant Dataverse app</h1>
        {session?.user ? (
          <>
            <span data-testid="signed-in-as">{session.user.name || session.user.username}</span>
            <form method="post" action="/auth/signout">
              <input type="hidden" name="_csrf" value={session.csrfToken} />
              <button type="submit" class="secondary">
                Sign out
              </button>
            </form>
          </>
        ) : null}
      </header>
      <main>{children}</main>
    </body>
  </html>
)

export const SignedOutPage: FC<{ organization: string; notice?: string | undefined }> = ({
  organization,
  notice,
}) => (
  <Layout title="Sign in">
    <section>
      <h2>Welcome</h2>
      {notice ? <p class="muted">{notice}</p> : null}
      <p>This app is for members of {organization} only. Sign in with your work account.</p>
      <a class="button" href="/auth/signin">
        Sign in
      </a>
    </section>
  </Layout>
)

export const RefusedPage: FC<{ organization: string; message: string; username?: string | undefined }> = ({
  organization,
  message,
  username,
}) => (
  <Layout title="Access refused">
    <section class="problem" data-testid="refused">
      <h2>Access refused</h2>
      <p>
        {message} {username ? <strong>{username}</strong> : null}
      </p>
      <p>
        This app is only for accounts of {organization}. Your account was not signed in and nothing was saved.
        Sign out of the other account, or use a private window, and sign in with your {organization} account.
      </p>
      <a class="button" href="/auth/signin">
        Sign in with another account
      </a>
    </section>
  </Layout>
)

export const ProblemPage: FC<{ title: string; message: string }> = ({ title, message }) => (
  <Layout title={title}>
    <section class="problem" data-testid="problem">
      <h2>{title}</h2>
      <p>{message}</p>
      <a class="button" href="/">
        Back to the start page
      </a>
    </section>
  </Layout>
)

export const DashboardPage: FC<{
  session: SessionData
  environments: readonly Environment[]
  current: Environment
  data?: DashboardData | undefined
  error?: string | undefined
}> = ({ session, environments, current, data, error }) => (
  <Layout title="Dashboard" session={session}>
    <section class="toolbar">
      <form method="post" action="/environment">
        <input type="hidden" name="_csrf" value={session.csrfToken} />
        <label>
          Environment{' '}
          <select name="environment" data-testid="environment">
            {environments.map((e) => (
              <option value={e.name} selected={e.name === current.name}>
                {e.name}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Switch</button>
      </form>
      <form method="post" action="/impersonation">
        <input type="hidden" name="_csrf" value={session.csrfToken} />
        <input type="hidden" name="actAsUser" value={session.actAsUser ? 'false' : 'true'} />
        <button type="submit" class="secondary" data-testid="toggle-impersonation">
          {session.actAsUser ? 'Read as the application user' : 'Read as me (impersonation)'}
        </button>
      </form>
    </section>
    <p class="muted" data-testid="context">
      Environment <strong data-testid="current-environment">{current.name}</strong> ({current.url}), reading
      as{' '}
      <strong data-testid="caller">
        {session.actAsUser ? `${session.user?.name ?? 'you'} (impersonated)` : 'the application user'}
      </strong>
      {data ? ` — Dataverse user ${data.caller.name || data.caller.userId}` : ''}
    </p>
    {error ? (
      <section class="problem" data-testid="data-error">
        <h2>Could not read {current.name}</h2>
        <p>{error}</p>
      </section>
    ) : null}
    {data ? (
      <>
        <section>
          <h2>Accounts by owner</h2>
          <p class="muted" data-testid="accounts-read">
            {data.accountsRead} accounts{data.accountsTruncated ? ' (first ones only)' : ''}
          </p>
          <table data-testid="owners">
            <thead>
              <tr>
                <th>Owner</th>
                <th>Accounts</th>
              </tr>
            </thead>
            <tbody>
              {data.owners.map((o) => (
                <tr>
                  <td>{o.owner || o.ownerId}</td>
                  <td>{o.accounts}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section>
          <h2>Recent contacts</h2>
          <table data-testid="contacts">
            <thead>
              <tr>
                <th>Name</th>
                <th>Email</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {data.contacts.map((c) => (
                <tr>
                  <td>{c.fullName}</td>
                  <td>{c.email}</td>
                  <td>{c.createdOn}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </>
    ) : null}
  </Layout>
)
