"""pyv.acquire.archive.safety: one rule for every archive pyv unpacks, and the bounds it sets.

The same hostile members go through each entry point that unpacks an archive
(interpreter archives as tar and zip, mirror bundles, wheels) and must get the
same verdict, for the same reason.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from archives import BuiltArchive, build_synthetic_archive, mirror_layout, write_catalog
from pyv.acquire.archive import extract_archive
from pyv.acquire.archive.safety import (
    DEVICE,
    DIR,
    FIFO,
    FILE,
    HARDLINK,
    SOCKET,
    SYMLINK,
    UnsafeMember,
    check_member,
)
from pyv.acquire.mirror import METADATA, unpack_bundle
from pyv.core.errors import ArchiveError, ExitCode
from pyv.venv.wheel import Scheme, install_wheel, unpack_wheel

MTIME = 1_700_000_000
#: What each kind is in a tar header and in a zip member's Unix mode.
TAR_TYPES = {FILE: tarfile.REGTYPE, DIR: tarfile.DIRTYPE, SYMLINK: tarfile.SYMTYPE,
             HARDLINK: tarfile.LNKTYPE, DEVICE: tarfile.CHRTYPE, FIFO: tarfile.FIFOTYPE}
ZIP_TYPES = {FILE: stat.S_IFREG, DIR: stat.S_IFDIR, SYMLINK: stat.S_IFLNK, DEVICE: stat.S_IFBLK,
             FIFO: stat.S_IFIFO, SOCKET: stat.S_IFSOCK}

# (member name relative to the destination, kind, link target, reason the rule gives)
HOSTILE = [
    ("/tmp/evil", FILE, "", "absolute path"),
    ("C:/evil", FILE, "", "absolute path"),
    ("lib/../../evil", FILE, "", "'..' component"),
    ("..", DIR, "", "'..' component"),
    ("lib\\..\\..\\evil", FILE, "", "backslash"),
    (".pyv-install.json", FILE, "", "reserves for its record"),
    (".pyv-install.json", SYMLINK, "bin/python3", "reserves for its record"),
    (".pyv-install.json", DIR, "", "reserves for its record"),
    ("lib/.PYV-Install.json", FILE, "", "reserves for its record"),
    ("lib", SYMLINK, "../outside", "symlink leaving the destination"),
    ("lib/up", SYMLINK, "../../outside", "symlink leaving the destination"),
    ("lib", SYMLINK, "/etc", "symlink to the absolute path"),
    ("lib", SYMLINK, "", "empty or NUL-containing target"),
    ("hl", HARDLINK, "/etc/passwd", "absolute path"),
    ("hl", HARDLINK, "../outside/x", "'..' component"),
    ("dev", DEVICE, "", "device file"),
    ("pipe", FIFO, "", "is a fifo"),
    ("sock", SOCKET, "", "is a socket"),
]


# ---------------------------------------------------------------- the entry points


def _tar_info(name: str, kind: str, target: str, mode: int, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = TAR_TYPES[kind]
    info.linkname = target
    info.mode = mode
    info.mtime = MTIME
    info.size = size if kind == FILE else 0
    return info


def _zip_info(name: str, kind: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name + ("/" if kind == DIR else ""), (2023, 11, 14, 22, 13, 20))
    info.create_system = 3  # Unix, so the mode bits count
    info.external_attr = (ZIP_TYPES[kind] | (mode & 0o7777)) << 16
    return info


def _data(kind: str, target: str) -> bytes:
    return target.encode() if kind == SYMLINK else b"payload" if kind == FILE else b""


def _absolute(name: str) -> bool:
    return name.startswith("/") or name[1:2] == ":"


def via_archive_tar(box: Path, name: str, kind: str, target: str, mode: int) -> Path:
    """An interpreter archive (tar.gz); the destination is the ``python/`` subtree."""
    if kind == SOCKET:
        pytest.skip("tar cannot hold a socket")
    prefixed = name if _absolute(name) else f"python/{name}"
    link = target if kind != HARDLINK or target.startswith("/") else f"python/{target}"
    data = _data(kind, "")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_tar_info("python", DIR, "", 0o755, 0))
        tar.addfile(_tar_info(prefixed, kind, link, mode, len(data)),
                    io.BytesIO(data) if kind == FILE else None)
    dest = box / "dest"
    extract_archive(io.BytesIO(buf.getvalue()), "tar.gz", dest, root="python", name="t.tar.gz")
    return dest


def via_archive_zip(box: Path, name: str, kind: str, target: str, mode: int) -> Path:
    """An interpreter archive in zip form."""
    if kind == HARDLINK:
        pytest.skip("zip cannot hold a hard link")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(_zip_info(name if _absolute(name) else f"python/{name}", kind, mode),
                    _data(kind, target))
    dest = box / "dest"
    extract_archive(io.BytesIO(buf.getvalue()), "zip", dest, root="python", name="t.zip")
    return dest


def via_bundle(box: Path, name: str, kind: str, target: str, mode: int) -> Path:
    """A mirror bundle (plain tar; its root is the destination)."""
    if kind == SOCKET:
        pytest.skip("tar cannot hold a socket")
    path = box / "bundle.tar"
    data = _data(kind, "")
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        meta = _tar_info(METADATA, FILE, "", 0o644, 2)
        tar.addfile(meta, io.BytesIO(b"{}"))
        tar.addfile(_tar_info(name, kind, target, mode, len(data)),
                    io.BytesIO(data) if kind == FILE else None)
    dest = box / "dest"
    dest.mkdir(exist_ok=True)
    unpack_bundle(path, dest)
    return dest


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _wheel(box: Path, name: str, kind: str, target: str, mode: int) -> Path:
    if kind == HARDLINK:
        pytest.skip("zip cannot hold a hard link")
    dist = "demo-1.0.dist-info"
    files = {f"{dist}/METADATA": b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
             f"{dist}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    data = _data(kind, target)
    record = [f"{p},{_record_hash(d)},{len(d)}" for p, d in files.items()]
    record += [f"{name},{_record_hash(data)},{len(data)}", f"{dist}/RECORD,,"]
    wheel = box / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for p, d in files.items():
            zf.writestr(p, d)
        zf.writestr(_zip_info(name, kind, mode), data)
        zf.writestr(f"{dist}/RECORD", "\n".join(record) + "\n")
    return wheel


def via_wheel(box: Path, name: str, kind: str, target: str, mode: int) -> Path:
    """A wheel installed into an environment's site-packages (the destination)."""
    wheel = _wheel(box, name, kind, target, mode)
    env = box / "dest"
    scheme = Scheme(purelib=env, scripts=box / "bin", data=box / "data", headers=box / "inc",
                    python="/env/bin/python")
    install_wheel(wheel, scheme, (3, 12))
    return env


def via_wheel_cache(box: Path, name: str, kind: str, target: str, mode: int) -> Path:
    """A wheel unpacked once into the seed cache, to be linked into environments."""
    wheel = _wheel(box, name, kind, target, mode)
    unpack_wheel(wheel, box / "tree")
    return box / "tree" / "files"


ENTRY_POINTS: dict[str, Callable[[Path, str, str, str, int], Path]] = {
    "archive-tar": via_archive_tar,
    "archive-zip": via_archive_zip,
    "bundle": via_bundle,
    "wheel": via_wheel,
    "wheel-cache": via_wheel_cache,
}


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Path]:
    """``box/dest`` is where members may go; ``box/outside`` must stay empty."""
    (tmp_path / "outside").mkdir()
    yield tmp_path
    assert list((tmp_path / "outside").iterdir()) == []
    assert not (tmp_path / "evil").exists()


# ---------------------------------------------------------------- the same verdicts everywhere


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(("name", "kind", "target", "reason"), HOSTILE,
                         ids=[f"{k}:{n}->{t}" for n, k, t, _ in HOSTILE])
def test_hostile_member_refused_by_every_entry_point(
    box: Path, entry: str, name: str, kind: str, target: str, reason: str
) -> None:
    with pytest.raises(UnsafeMember, match=reason):
        check_member(name, kind, target)
    with pytest.raises(ArchiveError) as info:
        ENTRY_POINTS[entry](box, name, kind, target, 0o644)
    assert reason in info.value.message, info.value.message
    if kind == HARDLINK:  # the line names the link, and the target it refuses
        assert "is a hard link to '" in info.value.message and target in info.value.message
    assert info.value.exit_code == ExitCode.BAD_ARCHIVE
    assert "\n" not in info.value.render()
    dest = box / "dest"
    if dest.exists():
        assert not any(p.name.casefold() == ".pyv-install.json" for p in dest.rglob("*"))


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("mode", [0o4755, 0o2755, 0o1777, 0o6777, 0o666])
def test_special_and_world_write_bits_never_reach_the_disk(box: Path, entry: str,
                                                           mode: int) -> None:
    """A file the rule accepts keeps only pyv's modes: executable or not, nothing more."""
    assert check_member("bin/tool", FILE) == ["bin", "tool"]
    dest = ENTRY_POINTS[entry](box, "bin/tool", FILE, "", mode)
    st = (dest / "bin/tool").stat()
    assert not st.st_mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX | stat.S_IWOTH)
    assert bool(st.st_mode & stat.S_IXUSR) == bool(mode & 0o111)


def test_rule_accepts_what_interpreters_hold() -> None:
    assert check_member("./bin/python3", SYMLINK, "python3.12") == ["bin", "python3"]
    assert check_member("lib/python3.12/config/x", SYMLINK, "../../../bin/python3") == [
        "lib", "python3.12", "config", "x"]
    assert check_member("lib/a.json", FILE) == ["lib", "a.json"]
    assert check_member("share/pyv-install.json.txt", FILE) == ["share", "pyv-install.json.txt"]
    assert check_member("bin/python", HARDLINK, "bin/python3.12") == ["bin", "python"]


# ---------------------------------------------------------------- the write bound


def sparse_tar(name: str, apparent: int, tail: bytes = b"tail") -> bytes:
    """A gzip'd pax tar of one sparse file: ``apparent`` bytes, nearly all of them a hole."""
    sparse_map = f"1\n{apparent - len(tail)}\n{len(tail)}\n".encode().ljust(512, b"\0")
    head, _, base = name.rpartition("/")
    info = tarfile.TarInfo(f"{head}/GNUSparseFile.0/{base}")
    info.size = len(sparse_map) + len(tail)
    info.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0",
                        "GNU.sparse.name": name, "GNU.sparse.realsize": str(apparent)}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(sparse_map + tail))
    return gzip.compress(buf.getvalue(), 9)


def test_tiny_sparse_archive_cannot_write_gigabytes(tmp_path: Path) -> None:
    """The issue's archive: a few hundred bytes claiming GiBs. Run under a file-size limit,
    so a regression fails fast instead of filling the disk."""
    bomb = tmp_path / "bomb.tar.gz"
    bomb.write_bytes(sparse_tar("python/lib/big", 5 << 30))
    assert bomb.stat().st_size < 512
    script = textwrap.dedent(f"""
        import json, resource
        from pathlib import Path
        from pyv.acquire.archive import extract_archive
        from pyv.core.errors import PyvError
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 20, 64 << 20))
        try:
            with open({str(bomb)!r}, "rb") as fh:
                extract_archive(fh, "tar.gz", Path({str(tmp_path / "dest")!r}), root="python",
                                name="bomb.tar.gz")
            print(json.dumps(["ok", 0]))
        except PyvError as exc:
            print(json.dumps([exc.render(), int(exc.exit_code)]))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    line, code = json.loads(out)
    assert code == ExitCode.BAD_ARCHIVE, line
    assert line.startswith("error: refusing to extract bomb.tar.gz: member 'python/lib/big' "
                           "would take what the archive writes past 4096 MiB"), line
    assert not (tmp_path / "dest/lib/big").exists()


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_write_bound_counts_every_file(tmp_path: Path, fmt: str) -> None:
    files = [("python/a", b"a" * 600), ("python/b", b"b" * 400), ("python/c", b"c")]
    buf = io.BytesIO()
    if fmt == "zip":
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in files:
                zf.writestr(name, data)
    else:
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for name, data in files:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    stats = extract_archive(io.BytesIO(raw), fmt, tmp_path / "ok", root="python", max_bytes=1001)
    assert stats.bytes == 1001
    with pytest.raises(ArchiveError, match="member 'python/c' would take what the archive "
                                           "writes past 0 MiB"):
        extract_archive(io.BytesIO(raw), fmt, tmp_path / "no", root="python", max_bytes=1000)


def test_sparse_member_counts_its_apparent_size(tmp_path: Path) -> None:
    raw = sparse_tar("python/big", 3 << 20)
    with pytest.raises(ArchiveError, match="apparent sizes"):
        extract_archive(io.BytesIO(raw), "tar.gz", tmp_path / "d", root="python",
                        max_bytes=2 << 20)
    extract_archive(io.BytesIO(raw), "tar.gz", tmp_path / "e", root="python",
                    max_bytes=3 << 20)
    assert (tmp_path / "e/big").stat().st_size == 3 << 20


def test_bundle_write_bound_is_its_size_plus_the_archive_bound(tmp_path: Path) -> None:
    """A header may claim any size; the member is refused before its data is read."""
    bundle = tmp_path / "b.tar"
    with tarfile.open(bundle, "w") as tar:
        meta = tarfile.TarInfo(METADATA)
        meta.size = 2
        tar.addfile(meta, io.BytesIO(b"{}"))
    claim = tarfile.TarInfo("x/big")
    claim.size = 5 << 30
    with open(bundle, "r+b") as fh:  # replace the end-of-archive blocks by a bare header
        fh.seek(1024)
        fh.write(claim.tobuf(tarfile.GNU_FORMAT) + bytes(1024))
        fh.truncate()
    (tmp_path / "out").mkdir()
    with pytest.raises(ArchiveError, match=r"refusing to unpack the bundle .*'x/big' would take"):
        unpack_bundle(bundle, tmp_path / "out")
    assert not (tmp_path / "out/x/big").exists()


def test_bundle_refuses_sparse_members(tmp_path: Path) -> None:
    bundle = tmp_path / "b.tar"
    bundle.write_bytes(gzip.decompress(sparse_tar("x/big", 5 << 30)))
    with tarfile.open(bundle, "a") as tar:
        meta = tarfile.TarInfo(METADATA)
        meta.size = 2
        tar.addfile(meta, io.BytesIO(b"{}"))
    with pytest.raises(ArchiveError, match="'x/big' is a sparse file"):
        unpack_bundle(bundle, tmp_path / "out")


# ---------------------------------------------------------------- modes whatever the umask


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield int(request.param)
    finally:
        os.umask(old)


def _modes(root: Path) -> dict[str, int]:
    out = {".": stat.S_IMODE(root.stat().st_mode)}
    for p in root.rglob("*"):
        if not p.is_symlink():
            out[str(p.relative_to(root))] = stat.S_IMODE(p.lstat().st_mode)
    return out


def _tree_archive() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, kind, mode in (("python", DIR, 0o777), ("python/bin", DIR, 0o700),
                                 ("python/bin/python3", FILE, 0o777),
                                 ("python/lib/os.py", FILE, 0o666),
                                 ("python/lib/ro.txt", FILE, 0o400)):
            info = _tar_info(name, kind, "", mode, 1)
            tar.addfile(info, io.BytesIO(b"x") if kind == FILE else None)
    return buf.getvalue()


@pytest.mark.parametrize("umask", [0o000, 0o002, 0o022, 0o077], indirect=True)
def test_a_umask_never_adds_permissions(tmp_path: Path, umask: int) -> None:
    """pyv's modes, whatever the archive says; a umask may narrow them, never widen them."""
    dest = tmp_path / "tree"
    dest.mkdir()  # as the installer makes it, under the same umask
    extract_archive(io.BytesIO(_tree_archive()), "tar.gz", dest, root="python")
    d, x, f = 0o755 & ~umask, 0o755 & ~umask, 0o644 & ~umask
    assert _modes(dest) == {".": d, "bin": d, "bin/python3": x, "lib": d,
                            "lib/os.py": f, "lib/ro.txt": f}


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077], indirect=True)
def test_group_store_modes(tmp_path: Path, umask: int) -> None:
    dest = tmp_path / "tree"
    extract_archive(io.BytesIO(_tree_archive()), "tar.gz", dest, root="python", group=True)
    assert _modes(dest) == {".": 0o2775, "bin": 0o2775, "bin/python3": 0o775, "lib": 0o2775,
                            "lib/os.py": 0o664, "lib/ro.txt": 0o664}


@pytest.mark.parametrize("umask", [0o000], indirect=True)
def test_bundle_modes_do_not_depend_on_the_umask(tmp_path: Path, umask: int) -> None:
    dest = via_bundle(tmp_path, "sub/deeper/file", FILE, "", 0o666)
    assert stat.S_IMODE((dest / "sub/deeper/file").stat().st_mode) == 0o644
    assert stat.S_IMODE((dest / "sub").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "sub/deeper").stat().st_mode) == 0o755


# ---------------------------------------------------------------- through `pyv install`


def _pyv(*args: str, env: dict[str, str], umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    """The real pyv, as a user runs it, under a chosen umask."""
    exe = Path(sys.executable).parent / "pyv"
    cmd = [str(exe), *args] if exe.exists() else [sys.executable, "-m", "pyv", *args]
    return subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=300, preexec_fn=lambda: os.umask(umask), check=False)


def _mirror(tmp_path: Path, archive: BuiltArchive) -> dict[str, str]:
    mirror_layout(tmp_path / "mirror", archive)
    catalog = write_catalog(tmp_path / "catalog.json", [archive])
    return {"PYV_PYTHON_INSTALL_MIRROR": (tmp_path / "mirror").as_uri(),
            "PYV_DOWNLOADS_JSON": str(catalog)}


def test_install_refuses_an_archive_that_brings_its_own_record(
    tmp_path: Path, pyv_home: Path
) -> None:
    forged = json.dumps({"executable": "/bin/sh"}).encode()
    archive = build_synthetic_archive(tmp_path / "a", (3, 12, 4),
                                      extra_members=[("python/.pyv-install.json", forged)])
    result = _pyv("install", "3.12", env=_mirror(tmp_path, archive))
    assert result.returncode == ExitCode.BAD_ARCHIVE, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: refusing to extract ") and "Traceback" not in result.stderr
    assert "member 'python/.pyv-install.json' is named '.pyv-install.json'" in lines[-1]
    pythons = pyv_home / "pythons"
    assert not pythons.exists() or [p.name for p in pythons.iterdir()
                                     if not p.name.startswith(".")] == []


def test_install_under_umask_000_is_not_world_writable(tmp_path: Path, pyv_home: Path) -> None:
    archive = build_synthetic_archive(tmp_path / "a", (3, 12, 4))
    result = _pyv("install", "3.12", env=_mirror(tmp_path, archive), umask=0o000)
    assert result.returncode == 0, result.stderr
    tree = pyv_home / "pythons" / archive.key
    modes = _modes(tree)
    assert modes["."] == 0o755 and modes["bin/python3.12"] == 0o755
    assert modes["lib/python3.12/os.py"] == 0o644 and modes["lib/python3.12"] == 0o755
