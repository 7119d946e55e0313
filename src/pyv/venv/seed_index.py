"""The package index side of seeding: PEP 503/691 project pages and seed-wheel downloads.

Only a seed that misses pyv's wheel cache comes here, so a warm seed never imports
the HTML parser, the URL helpers or the download stack.
"""

from __future__ import annotations

import html.parser
import json
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pyv.core.errors import NetworkError
from pyv.core.report import SILENT, Reporter
from pyv.venv.wheel import SeedWheel, admits, wheel_cache, wheel_facts

if TYPE_CHECKING:
    from packaging.version import Version

    from pyv.core.settings import Settings

DEFAULT_INDEX_URL = "https://pypi.org/simple"


@dataclass(frozen=True)
class IndexFile:
    """One file listed by a simple-API project page."""

    filename: str
    url: str
    sha256: str | None
    requires_python: str | None
    yanked: bool


def index_url(settings: Settings) -> str:
    env = settings.environ
    return (env.get("PYV_INDEX_URL") or env.get("PIP_INDEX_URL") or DEFAULT_INDEX_URL).strip()


class _LinkParser(html.parser.HTMLParser):
    """Anchors of a PEP 503 page with their data-* attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links.append(dict(attrs))


def parse_project_page(content: bytes, page_url: str, content_type: str = "") -> list[IndexFile]:
    """Files of a simple-API project page, HTML (PEP 503) or JSON (PEP 691)."""
    text = content.decode("utf-8", "replace")
    files: list[IndexFile] = []
    if "json" in content_type or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise NetworkError(f"the package index page {page_url} is not valid JSON") from None
        for entry in data.get("files", []) if isinstance(data, dict) else []:
            if not isinstance(entry, dict) or "filename" not in entry or "url" not in entry:
                continue
            hashes = entry.get("hashes") or {}
            files.append(IndexFile(
                filename=str(entry["filename"]),
                url=urllib.parse.urljoin(page_url, str(entry["url"])),
                sha256=hashes.get("sha256") if isinstance(hashes, dict) else None,
                requires_python=entry.get("requires-python") or None,
                yanked=bool(entry.get("yanked")),
            ))
        return files
    parser = _LinkParser()
    parser.feed(text)
    for attrs in parser.links:
        href = attrs.get("href")
        if not href:
            continue
        url, _, fragment = urllib.parse.urljoin(page_url, href).partition("#")
        sha = fragment[len("sha256="):] if fragment.startswith("sha256=") else None
        filename = urllib.parse.unquote(url.rsplit("/", 1)[-1])
        files.append(IndexFile(
            filename=filename, url=url, sha256=sha,
            requires_python=attrs.get("data-requires-python") or None,
            yanked="data-yanked" in attrs,
        ))
    return files


def best_index_file(
    files: Iterable[IndexFile], name: str, python: tuple[int, int, int]
) -> IndexFile | None:
    """The newest final, unyanked, pure-Python wheel of ``name`` that admits ``python``."""
    best: tuple[Version, IndexFile] | None = None
    for f in files:
        if f.yanked or not f.filename.endswith(".whl"):
            continue
        facts = wheel_facts(Path(f.filename))
        if not facts or facts[0] != name or facts[1].is_prerelease:
            continue
        if not admits(f.requires_python, python):
            continue
        if best is None or facts[1] > best[0]:
            best = (facts[1], f)
    return best[1] if best else None


def _headers(page: Mapping[str, str]) -> str:
    return page.get("content-type", "")


def download_seed_wheel(
    settings: Settings, name: str, python: tuple[int, int, int], *, report: Reporter = SILENT
) -> SeedWheel | None:
    """Download the best wheel of ``name`` from the index into the wheel cache."""
    from pyv.acquire import download

    page_url = index_url(settings).rstrip("/") + f"/{name}/"
    response = download.get(page_url, settings, headers={
        "Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.2",
    })
    files = parse_project_page(response.content, response.url or page_url,
                               _headers(response.headers))
    chosen = best_index_file(files, name, python)
    if chosen is None:
        return None
    dest = wheel_cache(settings) / chosen.filename
    dest.parent.mkdir(parents=True, exist_ok=True)
    # The download's one line (its progress bar on a terminal); none for a cache hit.
    status = f"Downloading {chosen.filename} into the wheel cache"
    download.fetch(chosen.url, dest, settings, expected_sha256=chosen.sha256, report=report,
                   status=status)
    facts = wheel_facts(dest)
    assert facts is not None
    return SeedWheel(name, str(facts[1]), dest, "index")
