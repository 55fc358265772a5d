"""One module per section of the trust report: its tables, their readings and the section itself."""
