"""Allow ``python -m pyv``."""

from __future__ import annotations

from pyv.cli.entry import main

if __name__ == "__main__":
    raise SystemExit(main())
