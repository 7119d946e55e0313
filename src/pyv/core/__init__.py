"""Shared basics every layer may use: errors, records, paths, the host platform, files,
settings, version files, shells, requests, locks and hashes."""
