"""The home's published files over HTTP: serve's read-only file server."""
