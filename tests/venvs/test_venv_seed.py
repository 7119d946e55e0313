"""Seeding: the wheel installer, the wheel cache, the index, bundled wheels, pip/uv on top."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from fixtures_venv import REAL_MINOR, build_wheel, system_python
from pyv.core.errors import ArchiveError, NotFound
from pyv.core.settings import load_settings
from pyv.venv.manage import make_environment
from pyv.venv.seed import (
    bundled_wheels_dir,
    find_seed_wheels,
    seed_packages,
    unpacked_dir,
    wheel_cache,
)
from pyv.venv.seed_index import best_index_file, parse_project_page
from pyv.venv.wheel import Scheme, install_wheel, launcher, shebang

PY = tuple(sys.version_info[:3])
BUNDLED = bundled_wheels_dir(system_python(), f"lib/python{REAL_MINOR}/site-packages")


def _bundled(name: str) -> Path:
    found = sorted(BUNDLED.glob(f"{name}-*.whl"))
    if not found:
        pytest.skip(f"the running Python bundles no {name} wheel")
    return found[-1]


def _scheme(root: Path, python: str = "/env/bin/python") -> Scheme:
    return Scheme(purelib=root / "site", scripts=root / "bin", data=root, headers=root / "inc",
                  python=python)


def _hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def test_wheel_installer_writes_record_and_scripts(tmp_path):
    wheel = build_wheel(tmp_path / "dist")
    result = install_wheel(wheel, _scheme(tmp_path / "env"), (3, 12))
    site = tmp_path / "env" / "site"
    assert (site / "pyvdemo" / "__init__.py").is_file()
    script = tmp_path / "env" / "bin" / "pyvdemo-hello"
    assert script.read_text().startswith("#!/env/bin/python\n")
    assert os.access(script, os.X_OK)
    assert result.scripts == ("pyvdemo-hello",)
    dist = site / "pyvdemo-1.0.dist-info"
    assert (dist / "INSTALLER").read_text() == "pyv\n"
    rows = [line.split(",") for line in (dist / "RECORD").read_text().splitlines()]
    paths = {r[0]: r[1] for r in rows}
    assert paths["../bin/pyvdemo-hello"] == _hash(script.read_bytes())
    assert paths["pyvdemo/__init__.py"] == _hash((site / "pyvdemo" / "__init__.py").read_bytes())
    assert paths["pyvdemo-1.0.dist-info/RECORD"] == ""


def test_pip_scripts_are_named_for_the_target_python(tmp_path):
    result = install_wheel(_bundled("pip"), _scheme(tmp_path), (3, 14))
    assert set(result.scripts) == {"pip", "pip3", "pip3.14"}


def test_wheel_with_a_bad_hash_or_escaping_path_is_refused(tmp_path):
    wheel = build_wheel(tmp_path / "dist")
    bad = tmp_path / "bad" / wheel.name
    bad.parent.mkdir()
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("__init__.py"):
                data += b"# tampered\n"
            dst.writestr(item, data)
    with pytest.raises(ArchiveError, match="RECORD hash"):
        install_wheel(bad, _scheme(tmp_path / "env1"), (3, 12))
    evil = tmp_path / "evil" / wheel.name
    evil.parent.mkdir()
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(evil, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("../outside.py", b"x")
    with pytest.raises(ArchiveError, match="escapes"):
        install_wheel(evil, _scheme(tmp_path / "env2"), (3, 12))
    assert not (tmp_path / "outside.py").exists()


def test_long_interpreter_path_uses_a_sh_trampoline(tmp_path):
    long_dir = tmp_path / ("d" * 120) / "with space"
    header = shebang(str(long_dir / "bin" / "python"))
    assert header.startswith(b"#!/bin/sh\n'''exec' ")
    code = launcher(str(sys.executable), "json.tool:main")
    target = tmp_path / "tool"
    target.write_bytes(shebang(sys.executable + " " * 0) + code.split(b"\n", 1)[1])
    # The trampoline form must also be valid Python and run the interpreter it names.
    trampoline = tmp_path / "t"
    trampoline.write_bytes(
        b"#!/bin/sh\n'''exec' \"" + sys.executable.encode() + b"\" \"$0\" \"$@\"\n' '''\n"
        b"import sys\nprint('ran', sys.argv[1])\n"
    )
    trampoline.chmod(0o755)
    out = subprocess.run([str(trampoline), "arg"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ran arg"
    with pytest.raises(ArchiveError):
        launcher("/x/python", "bad module:main")


def test_seed_offline_from_bundled_wheels_then_pip_and_uv_work(run_pyv, tmp_path):
    _bundled("pip")
    result = run_pyv("venv", "-p", str(system_python()), "--seed", "--offline", check=True)
    env = Path.cwd() / ".venv"
    assert "Seeded: pip" in result.stderr
    for script in ("pip", "pip3", f"pip{REAL_MINOR}"):
        assert os.access(env / "bin" / script, os.X_OK)
    version = subprocess.run([str(env / "bin" / "python"), "-m", "pip", "--version"],
                             capture_output=True, text=True, check=True).stdout
    assert str(env) in version
    wheel = build_wheel(tmp_path / "dist")
    subprocess.run([str(env / "bin" / "pip"), "install", "--no-index", "--quiet", str(wheel)],
                   check=True, capture_output=True)
    hello = subprocess.run([str(env / "bin" / "pyvdemo-hello")], capture_output=True, text=True,
                           check=True)
    assert hello.stdout.strip() == "hello from pyvdemo"
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not os.access(uv, os.X_OK):
        pytest.skip("uv is not installed")
    other = build_wheel(tmp_path / "dist2", name="pyvother")
    subprocess.run([uv, "pip", "install", "--offline", "--python", str(env / "bin" / "python"),
                    str(other)], check=True, capture_output=True,
                   env={**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv-cache")})
    listed = subprocess.run([str(env / "bin" / "python"), "-m", "pip", "list"],
                            capture_output=True, text=True, check=True).stdout
    assert "pyvother" in listed and "pyvdemo" in listed


class _Index:
    """A static PEP 503 index on loopback (directories serve their index.html)."""

    def __init__(self, root: Path) -> None:
        import functools
        import threading
        from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.requests: list[str] = []
        seen = self.requests

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                seen.append(self.path)

        self.server = ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def index_server(tmp_path):
    server = _Index(tmp_path / "index-root")
    yield server
    server.close()


def test_seed_from_index_fills_the_cache_then_stays_offline(index_server, pyv_home, tmp_path):
    http_server = index_server
    http_server.root.mkdir(exist_ok=True)
    pip_wheel = _bundled("pip")
    names = seed_packages(PY)  # type: ignore[arg-type]
    project_dir = http_server.root / "simple" / "pip"
    project_dir.mkdir(parents=True)
    shutil.copy(pip_wheel, http_server.root / pip_wheel.name)
    digest = hashlib.sha256(pip_wheel.read_bytes()).hexdigest()
    (project_dir / "index.html").write_text(
        f'<html><body><a href="../../{pip_wheel.name}#sha256={digest}" '
        f'data-requires-python="&gt;=3.7">{pip_wheel.name}</a>'
        '<a href="../../pip-1.0-py3-none-any.whl" data-yanked="">pip-1.0-py3-none-any.whl</a>'
        "</body></html>"
    )
    # setuptools: the index has none, so the bundled one is used (and cached);
    # wheel: a stand-in served by the index.
    for other in names[1:]:
        (http_server.root / "simple" / other).mkdir()
        page = "<html></html>"
        if other == "wheel":
            stand_in = build_wheel(http_server.root, name="wheel", version="0.99")
            page = f'<a href="../../{stand_in.name}">{stand_in.name}</a>'
        (http_server.root / "simple" / other / "index.html").write_text(page)
    environ = {**os.environ, "PYV_INDEX_URL": f"{http_server.url}/simple"}
    settings = load_settings(environ)
    env = make_environment(settings, Path.cwd(), path="one", python=str(system_python()),
                           seed=True)
    assert any(s.startswith("pip ") for s in env.seeded)
    cached = settings.cache_dir / "wheels" / pip_wheel.name
    assert cached.is_file()
    requests_before = len(http_server.requests)
    assert requests_before >= 2
    # The second seed uses the cache: no request at all, even with the index gone.
    http_server.close()
    env2 = make_environment(settings, Path.cwd(), path="two", python=str(system_python()),
                            seed=True)
    assert [s for s in env2.seeded if s.startswith("pip")] == [
        s for s in env.seeded if s.startswith("pip")]
    assert len(http_server.requests) == requests_before


def test_seed_without_any_pip_wheel_fails_cleanly(pyv_home, tmp_path, monkeypatch):
    import pyv.venv.seed as seed

    monkeypatch.setattr(seed, "bundled_wheels_dir", lambda *a: tmp_path / "none")
    settings = load_settings(overrides={"offline": True})
    with pytest.raises(NotFound, match="no pip wheel"):
        make_environment(settings, Path.cwd(), path="env", python=str(system_python()), seed=True)
    assert not (Path.cwd() / "env").exists()


def test_index_pages_html_and_json():
    html = (b'<a href="/files/pip-24.0-py3-none-any.whl#sha256=aa" data-requires-python="&gt;=3.7">'
            b'x</a><a href="pip-25.0-py3-none-any.whl" data-requires-python="&gt;=3.99">y</a>'
            b'<a href="pip-24.1b1-py3-none-any.whl">z</a><a href="pip-24.0.tar.gz">s</a>')
    files = parse_project_page(html, "https://idx.example/simple/pip/")
    assert files[0].url == "https://idx.example/files/pip-24.0-py3-none-any.whl"
    assert files[0].sha256 == "aa" and files[0].requires_python == ">=3.7"
    best = best_index_file(files, "pip", (3, 12, 1))
    assert best is not None and best.filename == "pip-24.0-py3-none-any.whl"
    doc = (b'{"files": [{"filename": "pip-24.2-py3-none-any.whl", "url": "../../p/pip.whl",'
           b' "hashes": {"sha256": "bb"}, "requires-python": ">=3.8", "yanked": false}]}')
    files = parse_project_page(doc, "https://idx.example/simple/pip/", "application/json")
    assert files[0].url == "https://idx.example/p/pip.whl" and files[0].sha256 == "bb"
    assert seed_packages((3, 11, 9)) == ("pip", "setuptools", "wheel")
    assert seed_packages((3, 12, 0)) == ("pip",)


# ----- the unpacked-tree cache: verified once, hard-linked into every environment -------------
def _record_rows(site: Path) -> list[list[str]]:
    import csv

    (record,) = site.glob("pip-*.dist-info/RECORD")
    return list(csv.reader(record.read_text().splitlines()))


def _assert_record_true(site: Path) -> int:
    """Every RECORD row of pip names a file there whose bytes have the recorded hash."""
    rows = _record_rows(site)
    for path, digest, size in rows:
        if not digest:
            assert path.endswith(".dist-info/RECORD")
            continue
        data = (site / path).read_bytes()
        assert (_hash(data), len(data)) == (digest, int(size)), path
    return len(rows)


def _offline_env(name: str, **overrides: object) -> Path:
    settings = load_settings(overrides={"offline": True, **overrides})
    env = make_environment(settings, Path.cwd(), path=name, python=str(system_python()), seed=True)
    return env.path


def _site(env: Path) -> Path:
    return env / "lib" / f"python{REAL_MINOR}" / "site-packages"


def _pip_tree(pyv_home: Path) -> Path:
    (tree,) = (pyv_home / "cache" / "wheels" / "unpacked").glob("pip-*")
    return tree


def test_seed_links_the_verified_tree_and_records_true_hashes(pyv_home):
    _bundled("pip")
    one, two = _offline_env("one"), _offline_env("two")
    tree = _pip_tree(pyv_home)
    trees = tree.parent
    assert (tree / "manifest.json").is_file()
    assert not [p for p in trees.iterdir() if p.name.endswith((".tmp", ".old"))]
    init = "pip/__init__.py"
    cached = (tree / "files" / init).stat()
    for env in (one, two):
        assert (_site(env) / init).stat().st_ino == cached.st_ino
        assert _assert_record_true(_site(env)) > 100
        # Scripts are per environment: they name its own python and are not links.
        pip = env / "bin" / "pip"
        assert pip.read_bytes().startswith(f"#!{env}/bin/python\n".encode())
        assert pip.stat().st_nlink == 1 and os.access(pip, os.X_OK)
        (dist,) = _site(env).glob("pip-*.dist-info")
        assert (dist / "INSTALLER").read_text() == "pyv\n" and (dist / "REQUESTED").exists()
        assert (dist / "RECORD").stat().st_nlink == 1
    assert cached.st_nlink == 3  # the tree and two environments


def test_link_failure_switches_to_copies_once_per_seed(pyv_home, monkeypatch):
    import errno

    _bundled("pip")
    _offline_env("warm")  # makes the tree
    calls = []

    def refuse(src: object, dst: object, **kwargs: object) -> None:
        calls.append(dst)
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", refuse)
    env = _offline_env("copied")
    assert len(calls) == 1  # decided at the first failure, not retried per file
    site = _site(env)
    tree = _pip_tree(pyv_home)
    cached = (tree / "files/pip/__init__.py").stat()
    assert (site / "pip/__init__.py").stat().st_ino != cached.st_ino
    assert (site / "pip/__init__.py").stat().st_nlink == 1
    assert _assert_record_true(site) > 100


def test_damaged_or_stale_tree_is_remade(pyv_home):
    _bundled("pip")
    _offline_env("first")
    tree = _pip_tree(pyv_home)
    files = tree / "files"
    with open(files / "pip" / "__init__.py", "ab") as fh:
        fh.write(b"# changed in place\n")
    # A half-made tree of a seed that died is never used, and is cleared away.
    dead = tree.parent / f".{tree.name}.999999999.0badc0de.tmp"
    (dead / "files").mkdir(parents=True)
    env = _offline_env("second")
    assert b"changed in place" not in (files / "pip" / "__init__.py").read_bytes()
    assert _assert_record_true(_site(env)) > 100
    (files / "pip" / "__main__.py").unlink()
    env = _offline_env("second-b")
    assert (files / "pip" / "__main__.py").is_file()
    assert _assert_record_true(_site(env)) > 100
    assert not dead.exists()
    # "first" keeps the edited inode (a link shares an edit made in place: pip never makes
    # one); the new environment links the new tree.
    assert b"changed in place" in (_site(Path.cwd() / "first") / "pip/__init__.py").read_bytes()
    fresh = (files / "pip/__init__.py").stat().st_ino
    assert (_site(env) / "pip/__init__.py").stat().st_ino == fresh
    # An unreadable manifest is remade too.
    (tree / "manifest.json").write_text("{not json")
    _offline_env("third")
    manifest = (tree / "manifest.json").read_text()
    assert manifest.startswith("{") and '"format":1' in manifest


def test_tree_of_a_replaced_wheel_is_remade(pyv_home):
    wheels = pyv_home / "cache" / "wheels"
    wheels.mkdir(parents=True)
    cached = wheels / _bundled("pip").name
    shutil.copy2(_bundled("pip"), cached)
    _offline_env("first")
    tree = _pip_tree(pyv_home)
    assert (tree / "manifest.json").is_file()
    inode = (tree / "files/pip/__init__.py").stat().st_ino
    os.utime(cached, ns=(0, 0))  # the same name, another file: its tree no longer counts
    env = _offline_env("second")
    fresh = (tree / "files/pip/__init__.py").stat().st_ino
    assert fresh != inode and (_site(env) / "pip/__init__.py").stat().st_ino == fresh


def test_corrupt_cached_wheel_is_dropped_with_its_tree_and_the_seed_fails_cleanly(pyv_home):
    from pyv.core.errors import PyvError

    pip = _bundled("pip")
    wheels = pyv_home / "cache" / "wheels"
    wheels.mkdir(parents=True)
    bad = wheels / pip.name
    with zipfile.ZipFile(pip) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "pip/__init__.py":
                data += b"# tampered\n"
            dst.writestr(item, data)
    stale = wheels / "unpacked" / pip.name[: -len(".whl")]
    (stale / "files").mkdir(parents=True)  # an old tree of that name, without a manifest
    with pytest.raises(PyvError, match="does not match its RECORD hash") as info:
        _offline_env("env")
    assert info.value.hint == "run the command again"
    assert not bad.exists() and not stale.exists()
    assert [p.name for p in (wheels / "unpacked").iterdir()] == [".lock"]  # no half-made tree
    assert list(Path.cwd().iterdir()) == []
    # Run again: the bundled wheel is used, and its verified tree made.
    assert _assert_record_true(_site(_offline_env("env"))) > 100


def test_unwritable_tree_cache_falls_back_to_installing_from_the_wheel(pyv_home):
    _bundled("pip")
    wheels = pyv_home / "cache" / "wheels"
    wheels.mkdir(parents=True)
    (wheels / "unpacked").write_text("in the way")  # mkdir fails here even for root
    env = _offline_env("env")
    assert _assert_record_true(_site(env)) > 100
    assert (_site(env) / "pip/__init__.py").stat().st_nlink == 1


def test_unpacked_wheel_maps_data_scripts_and_records_them(tmp_path):
    from pyv.venv.wheel import FilePlacer, install_unpacked, load_unpacked, unpack_wheel

    files = {
        "tool/__init__.py": b"",
        "tool-2.0.data/scripts/tool-run": b"#!python\nprint('run')\n",
        "tool-2.0.data/data/share/tool.txt": b"shared\n",
        "tool-2.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: tool\nVersion: 2.0\n",
        "tool-2.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\n",
    }
    wheel = tmp_path / "tool-2.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr("tool-2.0.dist-info/RECORD", "".join(
            f"{n},{_hash(d)},{len(d)}\n" for n, d in files.items()))
    (tmp_path / "tree").mkdir()
    unpack_wheel(wheel, tmp_path / "tree")
    unpacked = load_unpacked(tmp_path / "tree")
    assert unpacked is not None and unpacked.made_from(wheel.stat())
    env = tmp_path / "env"
    result = install_unpacked(unpacked, _scheme(env), (3, 12), FilePlacer())
    assert result.name == "tool" and result.version == "2.0"
    script = env / "bin" / "tool-run"
    assert script.read_bytes() == b"#!/env/bin/python\nprint('run')\n"
    assert os.access(script, os.X_OK) and script.stat().st_nlink == 1
    assert (env / "share" / "tool.txt").stat().st_nlink == 2  # linked from the tree
    rows = {r.split(",")[0]: r.split(",")[1] for r in
            (env / "site" / "tool-2.0.dist-info" / "RECORD").read_text().splitlines()}
    assert rows["../bin/tool-run"] == _hash(script.read_bytes())
    assert rows["../share/tool.txt"] == _hash(b"shared\n")
    assert rows["tool/__init__.py"] == _hash(b"")
    # The tree itself keeps the wheel's bytes (the placeholder shebang included).
    assert (tmp_path / "tree/files/tool-2.0.data/scripts/tool-run").read_bytes().startswith(
        b"#!python\n")


def test_uninstalling_pip_in_one_env_leaves_the_others_and_the_cache_intact(pyv_home):
    _bundled("pip")
    one, two = _offline_env("one"), _offline_env("two")
    tree = _pip_tree(pyv_home)
    manifest = (tree / "manifest.json").read_bytes()
    # pip unlinks what it removes (an upgrade does the same before writing new files).
    subprocess.run([str(one / "bin" / "python"), "-m", "pip", "uninstall", "-y", "pip"],
                   check=True, capture_output=True, env={**os.environ, "PIP_NO_INDEX": "1"})
    assert not list(_site(one).glob("pip*"))
    assert _assert_record_true(_site(two)) > 100
    from pyv.venv.wheel import load_unpacked

    unpacked = load_unpacked(tree)
    assert unpacked is not None and (tree / "manifest.json").read_bytes() == manifest
    for f in unpacked.files:
        assert _hash((tree / "files" / f.member).read_bytes()) == f.digest, f.member
    for env in (two, _offline_env("three")):
        out = subprocess.run([str(env / "bin" / "pip"), "--version"], capture_output=True,
                             text=True, check=True).stdout
        assert str(env) in out


def test_remembered_choice_follows_the_cache_listing(pyv_home, tmp_path):
    settings = load_settings(overrides={"offline": True})
    cache = wheel_cache(settings)
    python = (3, 12, 0)  # pip only
    base, site = system_python(), "lib/python3.12/site-packages"

    def chosen() -> list[str]:
        return [w.path.name for w in find_seed_wheels(settings, python, base, site)]

    build_wheel(cache, name="pip", version="1.0")
    assert chosen() == ["pip-1.0-py3-none-any.whl"]
    memo = unpacked_dir(settings) / "choices.json"
    assert "pip-1.0-py3-none-any.whl" in memo.read_text()
    assert chosen() == ["pip-1.0-py3-none-any.whl"]
    newer = build_wheel(cache, name="pip", version="2.0")
    assert chosen() == ["pip-2.0-py3-none-any.whl"]  # a new wheel is seen at once
    newer.unlink()
    assert chosen() == ["pip-1.0-py3-none-any.whl"]
    # A damaged or tampered memo is ignored, never followed outside the cache.
    for text in ("{", '{"format":1,"pythons":{"3.12.0":{"listing":["pip-1.0-py3-none-any.whl"],'
                      '"wheels":[["pip","9","../../evil.whl"]]}}}'):
        memo.write_text(text)
        assert chosen() == ["pip-1.0-py3-none-any.whl"]


def test_warm_seed_reads_no_wheel_and_no_version_machinery(pyv_home, tmp_path):
    from test_lazy_imports import run_probe

    _bundled("pip")
    if "wheel" in seed_packages(PY):  # type: ignore[arg-type]
        # Not bundled: the index would provide it; here the cache does.
        build_wheel(wheel_cache(load_settings()), name="wheel", version="0.99")
    python = str(system_python())
    for n in range(2):  # the first fills the cache, the second remembers the choice
        run_probe("venv", "-p", python, "--seed", f"warm{n}")
    data = run_probe("venv", "-p", python, "--seed", "warm")
    assert data["code"] == 0, data["err"]
    loaded = data["loaded"]
    assert isinstance(loaded, list)
    assert "pyv.venv.wheel" in loaded  # it did seed
    heavy = ("zipfile", "configparser", "packaging.specifiers", "packaging.utils",
             "packaging.version", "pyv.venv.seed_index", "pyv.acquire.download", "httpx", "html.parser")
    assert [m for m in heavy if m in loaded] == []
    assert (Path.cwd() / "warm" / "bin" / "pip").exists()
