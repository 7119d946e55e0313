"""Settings precedence: CLI flag > environment > config file > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyv.errors import ConfigError
from pyv.settings import load_settings


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
