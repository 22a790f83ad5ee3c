"""The command line: one module per subcommand; each parses, makes one library call, renders."""
