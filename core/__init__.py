"""The floor every room stands on: the vocabulary of typed values, the settings, atomic file writes."""
