# Is everything in place? Exit code 3 and one fix per missing piece when not.
dataverse-s2s check --org "$ORG" --role "Basic User" || echo "check exited with $?"

# As an administrator of the org: sign in with a device code, then create the application user with the role
dataverse-s2s provision --org "$ORG" --role "Basic User"

# Now as the app itself
dataverse-s2s check --org "$ORG" --role "Basic User" --read accounts
