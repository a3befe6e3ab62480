"""The default connection cap."""

from __future__ import annotations

import pytest

from chatgate.web.connections import default_max_connections


@pytest.mark.parametrize("limit", [256, 1024, 20_000])
def test_the_default_cap_leaves_a_descriptor_for_each_upstream(limit: int) -> None:
    cap = default_max_connections(limit)
    # Each client connection may hold an upstream one too, and the rest need some.
    assert 2 * cap + 100 <= limit
    assert cap >= 16
