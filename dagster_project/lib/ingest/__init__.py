"""Getting files into the raw schema: the raw contract, landing-folder loads, source-mapped loads
of a user's own files, and the log of what was loaded."""
