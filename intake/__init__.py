"""Bytes to text columns: decoding, CSV, spreadsheets, ODS, census XML, header identification, file-name facts."""
