"""Host detection with fake loaders and cpuinfo."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from pyv.core.errors import PlatformError
from pyv.core.platform import (
    Host,
    check_runs_on,
    detect_host,
    elf_interpreter,
    normalize_arch,
    x86_64_level_from_flags,
)


def fake_elf(path: Path, interpreter: str, *, is64: bool = True, big_endian: bool = False) -> Path:
    """Write a minimal ELF file whose only program header is PT_INTERP."""
    e = ">" if big_endian else "<"
    interp = interpreter.encode() + b"\x00"
    if is64:
        ehsize, phentsize = 64, 56
        phoff = ehsize
        data_off = phoff + phentsize
        header = b"\x7fELF" + bytes([2, 2 if big_endian else 1, 1]) + b"\x00" * 9
        header += struct.pack(
            e + "HHIQQQIHHHHHH", 2, 62, 1, 0, phoff, 0, 0, ehsize, phentsize, 1, 0, 0, 0
        )
        ph = struct.pack(e + "IIQQQQQQ", 3, 4, data_off, 0, 0, len(interp), len(interp), 1)
    else:
        ehsize, phentsize = 52, 32
        phoff = ehsize
        data_off = phoff + phentsize
        header = b"\x7fELF" + bytes([1, 2 if big_endian else 1, 1]) + b"\x00" * 9
        header += struct.pack(
            e + "HHIIIIIHHHHHH", 2, 40, 1, 0, phoff, 0, 0, ehsize, phentsize, 1, 0, 0, 0
        )
        ph = struct.pack(e + "IIIIIIII", 3, data_off, 0, 0, len(interp), len(interp), 4, 1)
    path.write_bytes(header + ph + interp)
    return path


def fake_cpuinfo(path: Path, flags: str) -> Path:
    path.write_text(f"processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: {flags}\n\n")
    return path


V2 = "fpu cx16 lahf_lm popcnt pni sse4_1 sse4_2 ssse3"
V3 = V2 + " avx avx2 bmi1 bmi2 f16c fma abm movbe xsave"
V4 = V3 + " avx512f avx512bw avx512cd avx512dq avx512vl"


@pytest.mark.parametrize(
    ("flags", "level"), [("fpu sse2", 1), (V2, 2), (V3, 3), (V4, 4), (V4.replace(" avx2", ""), 2)]
)
def test_x86_64_levels(flags: str, level: int) -> None:
    assert x86_64_level_from_flags(frozenset(flags.split())) == level


@pytest.mark.parametrize("is64", [True, False])
@pytest.mark.parametrize("big_endian", [True, False])
def test_elf_interpreter_parsing(tmp_path: Path, is64: bool, big_endian: bool) -> None:
    elf = fake_elf(tmp_path / "sh", "/lib/ld-musl-x86_64.so.1", is64=is64, big_endian=big_endian)
    assert elf_interpreter(elf) == "/lib/ld-musl-x86_64.so.1"


def test_not_elf(tmp_path: Path) -> None:
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    assert elf_interpreter(script) is None
    assert elf_interpreter(tmp_path / "missing") is None


def test_musl_host(tmp_path: Path) -> None:
    sh = fake_elf(tmp_path / "sh", "/lib/ld-musl-x86_64.so.1")
    host = detect_host(
        system="linux",
        machine="x86_64",
        probe_binaries=(sh,),
        cpuinfo=fake_cpuinfo(tmp_path / "cpuinfo", V3),
    )
    assert host == Host(os="linux", arch="x86_64", libc="musl", glibc=None, x86_64_level=3)


def test_glibc_version_read_from_loader(tmp_path: Path) -> None:
    loader = tmp_path / "ld-linux-x86-64.so.2"
    loader.write_bytes(b"\x7fELF junk\x00ld.so (GNU libc) stable release version 2.28.\x00more")
    sh = fake_elf(tmp_path / "sh", str(loader))
    host = detect_host(
        system="linux",
        machine="amd64",
        probe_binaries=(sh,),
        cpuinfo=fake_cpuinfo(tmp_path / "cpuinfo", V2),
    )
    assert (host.libc, host.glibc, host.x86_64_level) == ("gnu", (2, 28), 2)


def test_glibc_version_from_symbol_versions(tmp_path: Path) -> None:
    loader = tmp_path / "ld-linux-aarch64.so.1"
    loader.write_bytes(b"\x00GLIBC_2.17\x00GLIBC_2.34\x00GLIBC_PRIVATE\x00")
    sh = fake_elf(tmp_path / "sh", str(loader))
    host = detect_host(system="linux", machine="arm64", probe_binaries=(sh,))
    assert (host.arch, host.libc, host.glibc, host.x86_64_level) == (
        "aarch64",
        "gnu",
        (2, 34),
        None,
    )


def test_armv7_hard_float(tmp_path: Path) -> None:
    loader = tmp_path / "ld-linux-armhf.so.3"
    loader.write_bytes(b"GLIBC_2.31")
    sh = fake_elf(tmp_path / "sh", str(loader), is64=False)
    host = detect_host(system="linux", machine="armv7l", probe_binaries=(sh,))
    assert (host.arch, host.libc) == ("armv7", "gnueabihf")


def test_darwin_and_windows_have_no_libc() -> None:
    assert detect_host(system="darwin", machine="arm64").libc == "none"
    assert detect_host(system="win32", machine="AMD64").os == "windows"


def test_real_host_is_sane() -> None:
    host = detect_host()
    assert host.os == "linux"
    assert host.arch == normalize_arch(__import__("platform").machine())
    if host.libc == "gnu":
        assert host.glibc is not None and host.glibc >= (2, 17)


GLIBC_HOST = Host(os="linux", arch="x86_64", libc="gnu", glibc=(2, 36), x86_64_level=3)


def test_check_runs_on_accepts_matching_build() -> None:
    check_runs_on(GLIBC_HOST, os="linux", arch="x86_64", libc="gnu", arch_variant="v3", what="x")


@pytest.mark.parametrize(
    ("host", "build", "needle"),
    [
        (
            Host("linux", "x86_64", "gnu", (2, 12), 3),
            ("linux", "x86_64", "gnu", None),
            "glibc 2.17",
        ),
        (
            Host("linux", "riscv64", "gnu", (2, 27), None),
            ("linux", "riscv64", "gnu", None),
            "glibc 2.28",
        ),
        (GLIBC_HOST, ("linux", "x86_64", "gnu", "v4"), "x86-64-v4"),
        (GLIBC_HOST, ("linux", "x86_64", "musl", None), "musl"),
        (GLIBC_HOST, ("linux", "aarch64", "gnu", None), "aarch64"),
        (Host("linux", "x86_64", "musl", None, 1), ("linux", "x86_64", "gnu", None), "glibc"),
    ],
)
def test_check_runs_on_refuses(
    host: Host, build: tuple[str, str, str, str | None], needle: str
) -> None:
    os_name, arch, libc, variant = build
    with pytest.raises(PlatformError) as info:
        check_runs_on(host, os=os_name, arch=arch, libc=libc, arch_variant=variant, what="build")
    assert needle in info.value.render()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("glibc 2.35", (2, 35)), ("glibc 2.28.9000", (2, 28)), ("glibc 2.17-stable", (2, 17)),
     ("musl 1.2", None), ("glibc x.y", None), ("glibc 2.", None), ("", None)],
)
def test_glibc_version_from_confstr(
    monkeypatch: pytest.MonkeyPatch, text: str, expected: tuple[int, int] | None
) -> None:
    import os

    from pyv.core import platform as pyv_platform

    monkeypatch.setattr(os, "confstr", lambda name: text, raising=False)
    assert pyv_platform._confstr_glibc() == expected


def test_machine_is_what_platform_reports() -> None:
    import platform

    from pyv.core import platform as pyv_platform

    assert pyv_platform._machine() == platform.machine()


def test_the_release_banner_beside_the_loader_beats_its_symbol_versions(tmp_path: Path) -> None:
    # Debian 12: ld.so's newest symbol version is GLIBC_2.35, the release is 2.36; the
    # loader is a symlink into the directory that holds libc.so.6.
    libdir = tmp_path / "lib" / "x86_64-linux-gnu"
    libdir.mkdir(parents=True)
    (libdir / "ld-linux-x86-64.so.2").write_bytes(b"\x00GLIBC_2.34\x00GLIBC_2.35\x00")
    (libdir / "libc.so.6").write_bytes(
        b"GLIBC_2.36\x00GNU C Library (Debian GLIBC 2.36-9) stable release version 2.36.\x00"
    )
    (tmp_path / "lib64").mkdir()
    loader = tmp_path / "lib64" / "ld-linux-x86-64.so.2"
    loader.symlink_to(libdir / "ld-linux-x86-64.so.2")
    sh = fake_elf(tmp_path / "sh", str(loader))
    host = detect_host(system="linux", machine="x86_64", probe_binaries=(sh,),
                       cpuinfo=fake_cpuinfo(tmp_path / "cpuinfo", V3))
    assert host.glibc == (2, 36)


def test_the_glibc_this_process_runs_on_needs_no_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import sys

    from pyv.core import platform as pyv_platform

    own = elf_interpreter(Path(sys.executable))
    if own is None or "musl" in own or not hasattr(os, "confstr"):
        pytest.skip("needs a dynamically linked glibc Python")
    monkeypatch.setattr(os, "confstr", lambda name: "glibc 2.99", raising=False)

    def no_file(loader: Path) -> None:
        raise AssertionError(f"read {loader} for what confstr knows")

    monkeypatch.setattr(pyv_platform, "glibc_version_of_loader", no_file)
    libc, version = pyv_platform.detect_libc("x86_64", (Path(sys.executable),))
    assert (libc, version) == ("gnu", (2, 99))
