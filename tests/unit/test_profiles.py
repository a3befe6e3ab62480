from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from chatgate.crypto import Keyring, SealError, load_secret
from chatgate.errors import ApiKeyNotFound, BadRequest
from chatgate.profiles import check_api_key, mask, overlay_env, validate_update


def test_environment_wins_over_every_profile_value() -> None:
    stored = {"openai_api_key": SecretStr("sk-user"), "anthropic_api_key": SecretStr("ak-user")}
    env = {"OPENAI_API_KEY": SecretStr("sk-team"), "GROQ_API_KEY": SecretStr("gsk-team")}
    values = overlay_env(stored, env).values
    assert values["openai_api_key"] == SecretStr("sk-team")
    assert values["anthropic_api_key"] == SecretStr("ak-user")
    assert values["groq_api_key"] == SecretStr("gsk-team")


def test_empty_environment_value_does_not_overlay() -> None:
    values = overlay_env(
        {"openai_api_key": SecretStr("sk-user")}, {"OPENAI_API_KEY": SecretStr("")}
    ).values
    assert values["openai_api_key"] == SecretStr("sk-user")


@pytest.mark.parametrize("value", [None, SecretStr(""), SecretStr("   ")])
def test_missing_key_message(value: SecretStr | None) -> None:
    with pytest.raises(ApiKeyNotFound) as raised:
        check_api_key(value, "OpenAI")
    assert raised.value.status == 400
    assert raised.value.message == (
        "OpenAI API Key not found. Please set it in your profile settings."
    )


def test_masking_shows_at_most_the_last_four_characters_of_a_secret() -> None:
    assert mask("openai_api_key", SecretStr("sk-1234567890abcd")) == "****abcd"
    assert mask("openai_api_key", SecretStr("sk-short")) == "****"
    assert mask("openai_organization_id", SecretStr("org-visible")) == "org-visible"
    assert mask("openai_api_key", None) is None


def test_updates_are_validated() -> None:
    assert validate_update("openai_api_key", "  sk-x  ") == "sk-x"
    assert validate_update("openai_api_key", "") is None
    with pytest.raises(BadRequest, match="longer than 1000"):
        validate_update("openai_api_key", "k" * 1001)
    for smuggled in ("sk-a\r\nX-Injected: 1", "sk-\x0bvt", "sk-\x7f", "sk\x00"):
        with pytest.raises(BadRequest, match="printable text on one line"):
            validate_update("openai_api_key", smuggled)
    with pytest.raises(BadRequest, match="Unknown profile field"):
        validate_update("password", "x")


def test_sealed_keys_open_only_in_their_own_place() -> None:
    keyring = Keyring([SecretStr("a long enough secret for tests")])
    sealed = keyring.seal("sk-secret", context="profile:1:openai_api_key")
    assert "sk-secret" not in sealed
    assert (
        keyring.open(sealed, context="profile:1:openai_api_key").get_secret_value() == "sk-secret"
    )
    with pytest.raises(SealError):
        keyring.open(sealed, context="profile:2:openai_api_key")  # another user's row
    with pytest.raises(SealError):
        Keyring([SecretStr("another secret")]).open(sealed, context="profile:1:openai_api_key")


def test_a_keyring_with_the_old_secret_second_still_opens_old_values() -> None:
    old, new = SecretStr("old secret"), SecretStr("new secret")
    sealed = Keyring([old]).seal("sk-x", context="c")
    rotating = Keyring([new, old])
    assert rotating.open(sealed, context="c").get_secret_value() == "sk-x"
    assert not rotating.sealed_with_current(sealed)
    assert rotating.sealed_with_current(rotating.seal("sk-x", context="c"))


def test_generated_secret_is_private_and_stable(tmp_path: Path) -> None:
    first = load_secret(None, tmp_path, may_generate=True)
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    again = load_secret(None, tmp_path, may_generate=True)
    assert again.get_secret_value() == first.get_secret_value()
    configured = load_secret(SecretStr("configured"), tmp_path, may_generate=False)
    assert configured.get_secret_value() == "configured"


def test_a_server_key_takes_its_providers_other_fields_from_the_server_or_none() -> None:
    stored = {
        "azure_openai_endpoint": SecretStr("https://users-own.example"),
        "azure_openai_35_turbo_id": SecretStr("users-deployment"),
        "openai_organization_id": SecretStr("org-users"),
        "openai_api_key": SecretStr("sk-users-own"),
    }
    env = {
        "AZURE_OPENAI_API_KEY": SecretStr("operator-azure-key"),
        "AZURE_GPT_45_TURBO_NAME": SecretStr("operator-deployment"),
    }
    values = overlay_env(stored, env).values
    assert "azure_openai_endpoint" not in values
    assert "azure_openai_35_turbo_id" not in values
    assert values["azure_openai_45_turbo_id"] == SecretStr("operator-deployment")
    # The user's own OpenAI key may go with the user's own organization.
    assert values["openai_organization_id"] == SecretStr("org-users")

    with_org = overlay_env(stored, {"OPENAI_API_KEY": SecretStr("sk-operator")}).values
    assert "openai_organization_id" not in with_org


def test_a_server_endpoint_with_a_users_key_is_the_operators_choice() -> None:
    stored = {"azure_openai_api_key": SecretStr("users-azure-key")}
    env = {"AZURE_OPENAI_ENDPOINT": SecretStr("https://operator.example")}
    overlay = overlay_env(stored, env)
    assert overlay.values["azure_openai_api_key"] == SecretStr("users-azure-key")
    assert overlay.from_server == {"azure_openai_endpoint"}
