"""Storage: SQLModel table definitions, the lake writer, bulk loaders, the load ledger and views."""
