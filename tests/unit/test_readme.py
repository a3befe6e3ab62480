"""The README is the user's manual: it must list every setting there is."""

from __future__ import annotations

from pathlib import Path

from chatgate.settings import PROVIDER_ENV_VARS, Settings

README = (Path(__file__).parents[2] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        if name in ("provider_env", "openai_base_url"):
            continue
        assert f"`CHATGATE_{name.upper()}`" in README, name
    assert "`OPENAI_BASE_URL`" in README


def test_every_server_wide_key_is_documented() -> None:
    for name in PROVIDER_ENV_VARS:
        assert f"`{name}`" in README, name


def test_readme_opens_with_the_two_commands() -> None:
    opening = README.split("```")[1]
    assert "make serve" in opening
    assert "make test" in opening
