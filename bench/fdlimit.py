"""Room for many open sockets: the soft file-descriptor limit, raised."""

from __future__ import annotations

import resource


def raise_fd_limit(needed: int) -> int:
    """Raise the soft limit to at least ``needed`` (up to the hard limit); the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        soft = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft != resource.RLIM_INFINITY and soft < needed:
        raise SystemExit(f"need {needed} open files but the hard limit is {hard}")
    return soft
