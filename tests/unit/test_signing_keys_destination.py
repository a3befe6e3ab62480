"""The identity provider's signing keys are the operator's destination, even on a
private address that users' own upstreams may not reach."""

from __future__ import annotations

from pathlib import Path

from chatgate.runtime import destination_policy
from chatgate.settings import Settings


def test_a_self_hosted_supabase_on_a_private_address_serves_its_keys(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        host="0.0.0.0",  # noqa: S104
        supabase_url="http://10.0.0.5:54321",
    )
    policy = destination_policy(settings)
    assert policy.deny_private
    assert policy.exempt("10.0.0.5", 54321)
    assert not policy.exempt("10.0.0.5", 5432)
