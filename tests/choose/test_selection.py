"""Selection order, the version-file format, fallback chains and missing versions."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from pyv.choose.pins import (
    Origin,
    SelectionError,
    find_version_file,
    parse_entries,
    read_version_file,
)
from pyv.choose.selection import CommandNotFound, NotInstalled, pinned_requests, resolve, select
from pyv.core.errors import ExitCode
from pyv.core.report import Reporter
from pyv.core.settings import Settings, load_settings


def settings(**overrides: object) -> Settings:
    return load_settings(dict(os.environ), overrides)


# ----- the file format: one rule per case ------------------------------------------------
FORMAT_CASES = [
    ("one request", "3.12\n", ["3.12"]),
    ("no trailing newline", "3.12", ["3.12"]),
    ("blank lines skipped", "\n\n3.12\n\n", ["3.12"]),
    ("comment lines skipped", "# pinned for CI\n3.12\n", ["3.12"]),
    ("indented comment skipped", "   # note\n3.11\n", ["3.11"]),
    ("surrounding whitespace ignored", "  \t3.12  \t\n", ["3.12"]),
    ("CRLF line endings", "3.12\r\n3.11\r\n", ["3.12", "3.11"]),
    ("UTF-8 BOM ignored", "\ufeff3.12\n", ["3.12"]),
    ("BOM then whitespace", "\ufeff  3.12\n", ["3.12"]),
    ("only the first word counts", "3.12 this is ignored\n", ["3.12"]),
    ("trailing comment after the word", "3.12 # comment\n", ["3.12"]),
    ("every line counts", "3.12\n3.11\npypy3.10\n", ["3.12", "3.11", "pypy3.10"]),
    ("request syntax", "cpython@3.12\n3.13t\n>=3.11\n", ["cpython@3.12", "3.13t", ">=3.11"]),
    ("system", "system\n", ["system"]),
    ("named environment", "astro-env\n", ["astro-env"]),
    ("absolute path", "/usr/bin/python3\n", ["/usr/bin/python3"]),
]


@pytest.mark.parametrize(
    ("case", "text", "expected"), FORMAT_CASES, ids=[c[0] for c in FORMAT_CASES]
)
def test_version_file_format(case: str, text: str, expected: list[str], tmp_path: Path) -> None:
    path = tmp_path / ".python-version"
    path.write_bytes(text.encode("utf-8"))
    found = read_version_file(path)
    assert [e.text for e in found.entries] == expected
    assert found.warnings == ()


def test_entries_carry_line_numbers_and_kinds(tmp_path: Path) -> None:
    path = tmp_path / ".python-version"
    path.write_text("# header\n3.12\nastro-env\nsystem\n")
    entries = read_version_file(path).entries
    kinds = [(e.line, e.request.kind) for e in entries]
    assert kinds == [(2, "version"), (3, "name"), (4, "system")]
    assert entries[0].where == f"{path}:2"


@pytest.mark.parametrize("word", ["../outside/bin/python", "..", "3.*", "3.1?", "[3]", "a/../b"])
def test_escaping_entries_are_ignored_with_a_warning(word: str, tmp_path: Path) -> None:
    path = tmp_path / ".python-version"
    path.write_text(f"{word}\n3.12\n")
    found = read_version_file(path)
    assert [e.text for e in found.entries] == ["3.12"]
    assert len(found.warnings) == 1
    assert str(path) in found.warnings[0] and word in found.warnings[0]


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "\ufeff\r\n  # x\r\n"])
def test_empty_or_comment_only_file_is_reported(text: str, tmp_path: Path) -> None:
    path = tmp_path / ".python-version"
    path.write_text(text)
    with pytest.raises(SelectionError) as info:
        read_version_file(path)
    assert str(path) in info.value.message
    assert info.value.exit_code == ExitCode.CONFIG


def test_file_of_only_escaping_entries_is_reported(tmp_path: Path) -> None:
    path = tmp_path / ".python-version"
    path.write_text("../x\n")
    with pytest.raises(SelectionError, match="ignored"):
        read_version_file(path)


def test_invalid_request_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / ".python-version"
    path.write_text("3.12\ncpython-nonsense\n")
    with pytest.raises(SelectionError, match=rf"{path}:2"):
        read_version_file(path)


def test_relative_path_is_relative_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / ".python-version"
    path.write_text("venv/bin/python\n")
    entry = read_version_file(path).entries[0]
    assert entry.request.path == tmp_path / "venv" / "bin" / "python"


def test_parse_entries_for_pyv_version_has_no_lines() -> None:
    entries, warnings = parse_entries(b"3.12\n3.11", Origin("env"))
    assert [e.line for e in entries] == [1, 2] and warnings == []


# ----- discovery of the file and the selection order ------------------------------------
def test_nearest_file_walking_up(tmp_path: Path) -> None:
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    (tmp_path / ".python-version").write_text("3.11\n")
    (tmp_path / "a" / ".python-versions").write_text("3.12\n")
    assert find_version_file(tmp_path / "a" / "b" / "c") == tmp_path / "a" / ".python-versions"
    (tmp_path / "a" / "b" / ".python-version").write_text("3.13\n")
    assert find_version_file(tmp_path / "a" / "b" / "c") == tmp_path / "a" / "b" / ".python-version"


def test_selection_order(tmp_path: Path, pyv_home: Path) -> None:
    project = tmp_path / "work" / "proj"
    sub = project / "src" / "pkg"
    sub.mkdir(parents=True)
    s = settings()
    # 5. fallback
    sel = select(s, sub, {})
    assert sel.origin.kind == "fallback" and [e.text for e in sel.entries] == ["system"]
    assert select(settings(fallback="error"), sub, {}).entries == ()
    # 4. requires-python
    (project / "pyproject.toml").write_text('[project]\nname = "x"\nrequires-python = ">=3.11"\n')
    sel = select(s, sub, {})
    assert sel.origin == Origin("pyproject", project / "pyproject.toml")
    assert [e.text for e in sel.entries] == [">=3.11"]
    # 3. global file (one that requires-python excludes is skipped, as uv does)
    pyv_home.mkdir(exist_ok=True)
    s.global_version_file.write_text("3.10\n")
    assert select(s, sub, {}).origin.kind == "pyproject"
    s.global_version_file.write_text("3.13\n")
    sel = select(s, sub, {})
    assert sel.origin.kind == "global" and [e.text for e in sel.entries] == ["3.13"]
    # 2. nearest .python-version
    (project / ".python-version").write_text("3.12\n")
    sel = select(s, sub, {})
    assert sel.origin == Origin("file", project / ".python-version")
    # 1. PYV_VERSION
    sel = select(s, sub, {"PYV_VERSION": "3.13:pypy3.10"})
    assert sel.origin.kind == "env" and [e.text for e in sel.entries] == ["3.13", "pypy3.10"]
    assert pinned_requests(s, sub, {"PYV_VERSION": "3.13"}) == ["3.13"]


def test_pinned_requests_exclude_the_fallback(tmp_path: Path) -> None:
    assert pinned_requests(settings(), tmp_path, {}) == []


def test_deleted_cwd_uses_nearest_existing_parent(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    gone = project / "gone"
    gone.mkdir(parents=True)
    (project / ".python-version").write_text("3.12\n")
    gone.rmdir()
    sel = select(settings(), gone, {"PWD": str(gone)})
    assert [e.text for e in sel.entries] == ["3.12"]


# ----- resolving commands -------------------------------------------------------------
def test_fallback_chain(fake_python, tmp_path: Path) -> None:
    p312 = fake_python("3.12.4")
    p311 = fake_python("3.11.9")
    (tmp_path / "work" / ".python-version").write_text("3.12\n3.11\n")
    s = settings()
    cwd = tmp_path / "work"
    assert resolve(s, cwd, "python", {}).path == p312 / "bin" / "python3"
    assert resolve(s, cwd, "python3.12", {}).path == p312 / "bin" / "python3.12"
    hit = resolve(s, cwd, "python3.11", {})
    assert hit.path == p311 / "bin" / "python3.11"
    assert hit.entry.line == 2 and hit.installation is not None


def test_missing_version_names_version_file_and_command(fake_python, tmp_path: Path) -> None:
    fake_python("3.12.4")
    path = tmp_path / "work" / ".python-version"
    path.write_text("3.9\n")
    with pytest.raises(NotInstalled) as info:
        resolve(settings(), tmp_path / "work", "python", {})
    err = info.value
    assert err.exit_code == 127
    line = err.render()
    assert "\n" not in line
    assert "3.9" in line and str(path) in line and "`pyv install 3.9`" in line


def test_command_missing_from_selection_lists_providers(fake_python, tmp_path: Path) -> None:
    fake_python("3.12.4")
    fake_python("3.11.9")
    (tmp_path / "work" / ".python-version").write_text("3.12\n")
    with pytest.raises(CommandNotFound) as info:
        resolve(settings(), tmp_path / "work", "python3.11", {})
    assert info.value.exit_code == 127
    assert "cpython-3.11.9-linux-x86_64-gnu" in (info.value.hint or "")


def test_system_fallback_skips_shims(system_bin: Path, pyv_home: Path, tmp_path: Path) -> None:
    shims = pyv_home / "shims"
    shims.mkdir(parents=True)
    (shims / "python3").write_text("#!/bin/sh\n")
    (shims / "python3").chmod(0o755)
    env = {"PATH": os.pathsep.join([str(shims), str(system_bin)])}
    hit = resolve(settings(), tmp_path, "python3", env)
    assert hit.path == system_bin / "python3"
    with pytest.raises(CommandNotFound, match="fallback setting is 'error'"):
        resolve(settings(fallback="error"), tmp_path, "python3", env)


def test_named_environment_and_its_console_scripts(fake_env, tmp_path: Path) -> None:
    env = fake_env("astro-env", ("python", "black"))
    (tmp_path / "work" / ".python-version").write_text("astro-env\n")
    s = settings()
    assert resolve(s, tmp_path / "work", "black", {}).path == env / "bin" / "black"
    assert resolve(s, tmp_path / "work", "python", {}).env_dir == env
    (tmp_path / "work" / ".python-version").write_text("no-such-env\n")
    with pytest.raises(NotInstalled, match="no-such-env"):
        resolve(s, tmp_path / "work", "python", {})


def test_path_entry(tmp_path: Path) -> None:
    from fixtures_shims import write_fake_exe

    exe = write_fake_exe(tmp_path / "work" / "venv" / "bin" / "python3", "venv")
    write_fake_exe(tmp_path / "work" / "venv" / "bin" / "pip", "venv")
    (tmp_path / "work" / ".python-version").write_text("venv/bin/python3\n")
    s = settings()
    with pytest.raises(SelectionError, match="not trusted"):  # it runs what the tree ships
        resolve(s, tmp_path / "work", "python", {})
    from pyv.choose.trust import set_trusted

    set_trusted(s, tmp_path / "work" / ".python-version", b"venv/bin/python3\n")
    assert resolve(s, tmp_path / "work", "python", {}).path == exe
    assert resolve(s, tmp_path / "work", "pip", {}).path.name == "pip"


def test_pyproject_hint_used_when_installed_else_fallback(
    fake_python, system_bin: Path, tmp_path: Path
) -> None:
    (tmp_path / "work" / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.11"\n')
    env = {"PATH": str(system_bin)}
    s = settings()
    assert resolve(s, tmp_path / "work", "python", env).path == system_bin / "python"
    p312 = fake_python("3.12.4")
    assert resolve(s, tmp_path / "work", "python", env).path == p312 / "bin" / "python3"


def test_auto_install_installs_then_runs(
    pbs_mirror, real_archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    minor = ".".join(map(str, real_archive.version[:2]))
    for name, value in pbs_mirror([real_archive]).items():
        monkeypatch.setenv(name, value)
    (tmp_path / "work" / ".python-version").write_text(f"{minor}\n")
    with pytest.raises(NotInstalled):
        resolve(settings(), tmp_path / "work", "python", {})
    err = io.StringIO()
    hit = resolve(settings(auto_install=True), tmp_path / "work", "python", {},
                  report=Reporter(err))
    assert hit.installation is not None and hit.path.is_file()
    assert f"installing Python {minor}" in err.getvalue()


# ----- path entries: symlinks first, then consent --------------------------------------
def _sel(pyv_home: Path, cwd: Path):
    from pyv.choose.selection import select

    return select(load_settings(), cwd)


def test_a_path_into_the_files_own_tree_needs_trust(tmp_path: Path, pyv_home: Path) -> None:
    from pyv.choose.trust import set_trusted

    repo = tmp_path / "repo"
    (repo / "tools").mkdir(parents=True)
    version_file = repo / ".python-version"
    version_file.write_text("./tools/python\n")
    with pytest.raises(SelectionError, match=r"not trusted") as info:
        _sel(pyv_home, repo)
    assert f"{version_file}:1" in info.value.message
    assert f"pyv trust {repo}" in (info.value.hint or "")
    set_trusted(load_settings(), version_file, version_file.read_bytes())
    assert [e.text for e in _sel(pyv_home, repo).entries] == ["./tools/python"]
    version_file.write_text("./tools/python3\n")  # changed since: trusted no more
    with pytest.raises(SelectionError, match="not trusted"):
        _sel(pyv_home, repo)


def test_an_absolute_path_into_the_tree_needs_trust_too(tmp_path: Path, pyv_home: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".python-version").write_text(f"{repo}/bin/python\n")
    with pytest.raises(SelectionError, match="not trusted"):
        _sel(pyv_home, repo)
    (repo / ".python-version").write_text("/usr/bin/python3\n")  # outside: the user's own
    assert [e.text for e in _sel(pyv_home, repo).entries] == ["/usr/bin/python3"]


def test_symlinks_are_resolved_before_the_path_rules(tmp_path: Path, pyv_home: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "up").symlink_to("..")  # `up/…` leads out of the tree without writing `..`
    (repo / "sys").symlink_to("/usr")
    (repo / ".python-version").write_text("./up/other/bin/python\n./sys/bin/python3\n3.12\n")
    found = read_version_file(repo / ".python-version")
    assert [e.text for e in found.entries] == ["3.12"]
    assert len(found.warnings) == 2 and "symbolic link" in found.warnings[0]
    # A symlink inside the tree that points back into it still needs trust.
    (repo / "bin").mkdir()
    (repo / "link").symlink_to(repo / "bin")
    (repo / ".python-version").write_text("link/python\n")
    with pytest.raises(SelectionError, match="not trusted"):
        _sel(pyv_home, repo)


@pytest.mark.parametrize(("line", "text"), [
    ("3.12", "3.12"), ("  3.12  # for CI\r", "3.12"), (">=3.11, <3.13", ">=3.11, <3.13"),
    ("\ufeff>3.10, <3.13  # uv\r", ">3.10, <3.13"), ("3.12 3.11", "3.12 3.11"),
    ("3.12\t# x y", "3.12"),
])
def test_line_text_keeps_what_follows_the_word_unless_a_comment(line: str, text: str) -> None:
    from pyv.core.versionfile import line_text

    assert line_text(line) == text
