"""Settings precedence: CLI flag > environment > config file > default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pyv.core.errors import ConfigError
from pyv.core.settings import load_settings


def test_defaults_follow_pyv_home(tmp_path: Path) -> None:
    s = load_settings({"PYV_HOME": str(tmp_path / "h")})
    assert s.home == tmp_path / "h"
    assert s.pythons_dir == tmp_path / "h" / "pythons"
    assert s.config_file == tmp_path / "h" / "config.toml"
    assert (s.offline, s.auto_install, s.arch_variant, s.fallback) == (False, False, "", "system")


def test_default_home_uses_platformdirs(tmp_path: Path) -> None:
    s = load_settings({"XDG_DATA_HOME": str(tmp_path / "data"), "HOME": str(tmp_path)})
    assert s.home == tmp_path / "data" / "pyv"


def test_precedence(tmp_path: Path) -> None:
    home = tmp_path / "h"
    home.mkdir()
    (home / "config.toml").write_text(
        'python-install-mirror = "https://file.example/pbs"\noffline = true\n'
        'lock_timeout = 7\nstores = ["/srv/a", "/srv/b"]\n'
    )
    env = {"PYV_HOME": str(home)}
    s = load_settings(env)
    assert s.python_install_mirror == "https://file.example/pbs"
    assert s.offline is True and s.lock_timeout == 7
    assert s.stores == (Path("/srv/a"), Path("/srv/b"))
    s = load_settings(
        {**env, "PYV_PYTHON_INSTALL_MIRROR": "http://env.example", "PYV_OFFLINE": "0"}
    )
    assert s.python_install_mirror == "http://env.example" and s.offline is False
    s = load_settings({**env, "PYV_OFFLINE": "0"}, {"offline": True})
    assert s.offline is True


def test_pyv_table_form_and_explicit_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "elsewhere.toml"
    cfg.write_text('[pyv]\nauto-install = true\narch_variant = "v3"\n')
    s = load_settings({"PYV_HOME": str(tmp_path), "PYV_CONFIG_FILE": str(cfg)})
    assert s.auto_install is True and s.arch_variant == "v3"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("offline = [", "not valid TOML"),
        ("colour = 1", "unknown setting"),
        ('lock_timeout = "soon"', "must be a number"),
        ('fallback = "maybe"', "must be one of"),
    ],
)
def test_bad_config_file(tmp_path: Path, content: str, needle: str) -> None:
    (tmp_path / "config.toml").write_text(content)
    with pytest.raises(ConfigError) as info:
        load_settings({"PYV_HOME": str(tmp_path)})
    assert needle in info.value.render()


def test_bad_env_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"PYV_HOME": str(tmp_path), "PYV_OFFLINE": "perhaps"})
    assert "PYV_OFFLINE" in info.value.render()


def test_ci_disables_progress(tmp_path: Path) -> None:
    assert load_settings({"PYV_HOME": str(tmp_path), "CI": "true"}).progress is False
    assert load_settings({"PYV_HOME": str(tmp_path)}).progress is True


def test_bad_config_is_one_line_from_the_cli(run_pyv, pyv_home: Path) -> None:
    pyv_home.mkdir(parents=True, exist_ok=True)
    (pyv_home / "config.toml").write_text("offline = [")
    result = run_pyv("list", "--installed")
    assert result.returncode == 10
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")


def test_pyv_home_that_is_a_file(tmp_path: Path) -> None:
    home = tmp_path / "file"
    home.write_text("")
    with pytest.raises(ConfigError) as info:
        load_settings({"PYV_HOME": str(home)})
    assert "PYV_HOME" in info.value.render()


def _config_error(run_pyv: Any, env: dict[str, str] | None = None) -> str:
    result = run_pyv("list", "--installed", env=env)
    assert result.returncode == 10, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        ("stores = ['" + "x" * 5000 + "']", ("stores", "path too long")),
        ("stores = ['/srv/" + "x" * 300 + "']", ("stores", "longer than 255")),
        ("stores = ['/" + "/".join(["y" * 200] * 30) + "']", ("stores", "path too long")),
        ("lock_timeout = nan", ("lock_timeout", "finite")),
        ("lock-timeout = inf", ("lock-timeout", "finite")),
        ("lock_timeout = 1e309", ("lock_timeout", "finite")),
        ("connect_timeout = -inf", ("connect_timeout", "finite")),
        ("retries = 2.5", ("retries", "whole number", "2.5")),
        ("retries = true", ("retries", "whole number")),
        ("python-install-mirror = 5", ("python-install-mirror", "must be a string")),
        ("offline = 1", ("offline", "boolean")),
        ('lock_timeout = "300"', ("lock_timeout", "number")),
        ("fallback = 3", ("fallback", "string")),
        ("[pyv]\noffline = true\n[tool]\nx = 1", ("unknown table 'tool'", "[pyv]")),
        ("retries = 1\n[pyv]\noffline = true", ("unknown key 'retries'", "[pyv]")),
        ("[colours]\nx = 1", ("unknown table 'colours'",)),
        ("auto_install = true\nauto-install = false", ("'auto_install' and 'auto-install'",)),
        ("x = " + "[" * 5000 + "]" * 5000, ("config.toml",)),
    ],
)
def test_config_file_is_checked_strictly(
    run_pyv: Any, pyv_home: Path, content: str, needles: tuple[str, ...]
) -> None:
    pyv_home.mkdir(parents=True, exist_ok=True)
    (pyv_home / "config.toml").write_text(content + "\n")
    line = _config_error(run_pyv)
    assert str(pyv_home / "config.toml") in line, line
    for needle in needles:
        assert needle in line, line


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("PYV_LOCK_TIMEOUT", "nan", "finite"),
        ("PYV_READ_TIMEOUT", "1e309", "finite"),
        ("PYV_RETRIES", "2.5", "whole number"),
        ("PYV_STORES", "x" * 5000, "path too long"),
        ("PYV_HOME", "/" + "z" * 300, "longer than 255"),
    ],
)
def test_bad_environment_values_are_one_line(
    run_pyv: Any, name: str, value: str, needle: str
) -> None:
    line = _config_error(run_pyv, {name: value})
    assert name in line and needle in line, line


def test_missing_explicit_config_file_is_an_error(run_pyv: Any, tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent.toml"
    line = _config_error(run_pyv, {"PYV_CONFIG_FILE": str(missing)})
    assert str(missing) in line and "PYV_CONFIG_FILE" in line, line


def test_missing_default_config_file_is_fine(tmp_path: Path) -> None:
    assert load_settings({"PYV_HOME": str(tmp_path)}).config_file == tmp_path / "config.toml"


def test_valid_numbers_are_accepted(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("lock_timeout = 2.5\nretries = 0\nread-timeout = 10\n")
    s = load_settings({"PYV_HOME": str(tmp_path)})
    assert (s.lock_timeout, s.retries, s.read_timeout) == (2.5, 0, 10.0)
    s = load_settings({"PYV_HOME": str(tmp_path), "PYV_LOCK_TIMEOUT": "0.5", "PYV_RETRIES": "3"})
    assert (s.lock_timeout, s.retries) == (0.5, 3)


def test_doctor_reports_stores_that_are_missing_or_not_pyv_stores(
    run_pyv: Any, tmp_path: Path
) -> None:
    import json

    missing = tmp_path / "gone"
    foreign = tmp_path / "usr"
    (foreign / "bin").mkdir(parents=True)
    (foreign / "bin" / "tool").write_text("")
    shared = tmp_path / "shared"
    (shared / "pythons" / "cpython-3.12.4-linux-x86_64-gnu").mkdir(parents=True)
    (shared / "pythons" / "cpython-3.12.4-linux-x86_64-gnu" / ".pyv-install.json").write_text("{}")
    stores = ":".join(str(p) for p in (missing, foreign, shared))
    result = run_pyv("doctor", "--json", env={"PYV_STORES": stores})
    findings = {f["message"]: f["level"] for f in json.loads(result.stdout)["findings"]
                if f["check"] == "permissions"}
    assert findings[f"the shared store {missing} does not exist"] == "warning"
    [foreign_finding] = [m for m in findings if str(foreign) in m]
    assert "not a pyv store" in foreign_finding and findings[foreign_finding] == "warning"
    assert not any(str(shared) in m and "not a pyv store" in m for m in findings)
    assert result.returncode == 1
