"""Pure Polars transforms: frame in, frame out. No Prefect, no file or database I/O."""
