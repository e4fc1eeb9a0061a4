"""One module per CLI command: the glue between parsed options and the library."""
