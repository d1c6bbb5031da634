# OData options: a table on a terminal, NDJSON when piped
dataverse-s2s query accounts --org "$ORG" --select name,revenue --filter "revenue gt 50000" --orderby "revenue desc" --top 5

# A FetchXML file (the accounts above 90,000 in revenue), as CSV
dataverse-s2s query --org "$ORG" --fetchxml top-accounts.xml --format csv > top-accounts.csv

# Every contact to a file (Ctrl-C keeps a checkpoint: run the same command again to resume)
dataverse-s2s export --org "$ORG" --table contact --select firstname,lastname,emailaddress1 --out contacts.csv

# ...and into another org through the bulk messages (rows carry their id, so they are upserted)
dataverse-s2s import contacts.csv --org "$TARGET" --table contact
