"""Allow ``python -m pyv``."""

from __future__ import annotations

from pyv.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
