"""One module per group of commands; pyv.cli.main registers them lazily."""
