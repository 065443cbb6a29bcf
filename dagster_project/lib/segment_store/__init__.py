"""Schema `segments` (DESIGN.md section 5): reading what training and scoring need, and publishing
every segment table in one transaction. One module per job: reads, the type-2 history splice,
the current tables, the ledger tables, and the publish that ties them together."""
