"""sendflow: the one import root. Each room of the project is a folder at the top of the repository,
linked here (sendflow/flows -> ../flows, ...), so an installed sendflow puts one package, `sendflow`, into
site-packages and nothing generic (see docs/architecture.md)."""
