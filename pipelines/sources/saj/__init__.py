"""SAJ Elekeeper Open Platform: `settings` (SAJ_*, documented limits), `auth` (clientSign, tokens),
`envelope` (answers and codes), `client` (endpoints), `fleet` (plants and devices from the raw lake),
`resources` (the Dagster resource), `sensors` (the alarm sensor)."""
