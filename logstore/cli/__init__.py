"""The `logstore` command line: the composition root that wires the roles into processes."""
