"""Acquiring an interpreter: the catalog, downloads, archives, the installer, the store,
fix-ups and checks, offline mirrors and catalog updates."""
