# Which tenant and cloud is this org in? (no credentials needed)
dataverse-s2s discover --org "$ORG"

# The link a customer's administrator opens to consent to your app in their tenant
dataverse-s2s consent-url --org "$ORG"

# The token Entra ID issues to your app for the org: its claims, never the token itself
dataverse-s2s token --org "$ORG"

# Who the app is inside the org (WhoAmI), as JSON for a script
dataverse-s2s whoami --org "$ORG" --json
