"""Other ways through chatgate, each measured right after chatgate in every
repetition of one workload, so that a ratio between the two is taken under the
same conditions on a machine whose load drifts: W1 through /v1 (W5), W1 signed
in by Chatbot UI's session cookie, W1 and W3 with more workers, and W1 and W3
through two instances behind nginx."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace

from bench.bodies import v1_body
from bench.cluster import cluster
from bench.cookie_sign_in import cookie_signed_in
from bench.measure import Target
from bench.nginx import NginxUnavailable
from bench.shared_state import StateUnavailable
from bench.systems import Systems, serving
from bench.workloads import Workload, through_v1

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Variant:
    key: str  # where its median goes in the run's results
    workload: str  # the workload it runs beside: "W1"
    target: Target
    rename: Callable[[Workload], Workload] | None = None  # W5: W1's load under its own name

    def load(self, workload: Workload) -> Workload:
        return workload if self.rename is None else self.rename(workload)


@dataclass(slots=True)
class StartedVariants:
    variants: list[Variant] = field(default_factory=list)
    cookie_skipped: str | None = None
    cluster_skipped: str | None = None
    nginx_version: str | None = None

    def beside(self, workload: Workload) -> list[Variant]:
        return [v for v in self.variants if v.workload == workload.name]


def openai_api(running_systems: Systems) -> Variant:
    """W5: W1's load through chatgate's /v1/chat/completions, streamed with usage."""
    target = replace(
        running_systems.chatgate,
        system="chatgate /v1",
        path="/v1/chat/completions",
        mode="sse",
        body=v1_body,
    )
    return Variant(key="openai_api", workload="W1", target=target, rename=through_v1)


async def start_variants(
    stack: AsyncExitStack,
    running_systems: Systems,
    *,
    scale_to: int,
    connections: int,
    progress: Progress,
) -> StartedVariants:
    """Every variant that can run here, started and entered into ``stack``; those
    that cannot are skipped with one line saying why."""
    started = StartedVariants(variants=[openai_api(running_systems)])
    if scale_to:
        service = await stack.enter_async_context(
            serving(workers=scale_to, env=running_systems.env, log_dir=running_systems.data_dir)
        )
        scaled = running_systems.through(service, system=f"chatgate {scale_to} workers")
        started.variants += [
            Variant(key="scaling", workload="W1", target=scaled),
            Variant(key="scaling_w3", workload="W3", target=scaled),
        ]
    try:
        cookie = await stack.enter_async_context(cookie_signed_in(running_systems))
    except StateUnavailable as exc:
        started.cookie_skipped = str(exc)
        progress(f"W1 signed in by Supabase's session cookie skipped: {exc}")
    else:
        started.variants.append(Variant(key="cookie_sign_in", workload="W1", target=cookie))
    try:
        shared = await stack.enter_async_context(cluster(running_systems, connections=connections))
    except (StateUnavailable, NginxUnavailable) as exc:
        started.cluster_skipped = str(exc)
        progress(f"two instances behind nginx skipped: {exc}")
    else:
        started.nginx_version = shared.nginx_version
        started.variants += [
            Variant(key="cluster_w1", workload="W1", target=shared.target),
            Variant(key="cluster_w3", workload="W3", target=shared.target),
        ]
    return started
