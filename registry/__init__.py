"""The one list of datasets: each entry names its layouts, transform, suite, tables and what its loads reach."""
