"""Validation suites declared as data, one module per dataset, and the one runner that executes them."""
