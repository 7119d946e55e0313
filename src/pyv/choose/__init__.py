"""Choosing the interpreter that runs here: discovery, selection, the resolver, the shims."""
