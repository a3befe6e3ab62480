"""The chat use case: who asks, whose key and where it goes, the upstream call,
and the answer's text as it arrives.

The chat routes call ``answer``; so can anything else that holds a ``Runtime``
(a test, another API beside Chatbot UI's), without HTTP in front of it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import replace

from chatgate.identities import Identity
from chatgate.profile_source import load_user_custom_model
from chatgate.profiles import check_api_key
from chatgate.providers import Provider
from chatgate.providers.chat import Access, ChatRequest
from chatgate.runtime import Runtime
from chatgate.upstream import EndSeen, stream_text
from chatgate.usage.meter import UsageMeter


async def answer(
    runtime: Runtime,
    *,
    identity: Identity,
    provider: Provider,
    chat: ChatRequest,
    meter: UsageMeter | None = None,
    end: EndSeen | None = None,
) -> AsyncGenerator[str, None]:
    """The answer's text, piece by piece, as the provider sends it (``end``: see
    chatgate.upstream.stream_reads).

    A failure before the answer starts (no key, the provider refusing or out of
    reach) is raised by this call or by the first step of the pieces; after it,
    by the step where it happened.
    """
    chat, access = await resolve_access(runtime, identity=identity, provider=provider, chat=chat)
    call = provider.build_call(chat, access)
    if meter is not None:  # from here on, the request has gone to the provider
        call = meter.metered_call(call, model=chat.model)
    return stream_text(
        runtime.http,
        call,
        policy=runtime.policy,
        provider_name=provider.display_name,
        end=end,
    )


async def resolve_access(
    runtime: Runtime, *, identity: Identity, provider: Provider, chat: ChatRequest
) -> tuple[ChatRequest, Access]:
    """Whose key, and where it goes: the profile (overlaid by the environment), or
    for the custom route a custom model the caller may use."""
    if provider.key_field is None:
        assert chat.custom_model_id is not None
        model_id, api_key, base_url = await load_user_custom_model(
            runtime, owner=identity.owner, custom_model_id=chat.custom_model_id
        )
        access = Access(api_key=api_key, base_url=base_url, options=runtime.provider_options)
        return replace(chat, model=model_id), access
    profile = identity.profile
    access = Access(
        api_key=check_api_key(profile.get(provider.key_field), provider.display_name),
        base_url=runtime.base_urls.get(provider.name, ""),
        profile=profile.plain_fields(),
        options=runtime.provider_options,
    )
    return chat, access
