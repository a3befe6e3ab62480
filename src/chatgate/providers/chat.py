"""What every provider module is given and gives back.

A provider turns the front end's ``ChatRequest`` and the caller's ``Access``
into an ``UpstreamCall``: the HTTP request to send, and how to read text (and
in-band errors) out of the events that come back, and which event ends the
answer. Building the call is pure; sending it is shared (``chatgate.upstream``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from chatgate.providers.events import ReadEvent

# (status, message, code) of an upstream error: is it the provider refusing the key?
KeyRejected = Callable[[int, str, str | None], bool]
# One decoded server-sent event: its text ("" for none). Raises UpstreamError
# for an in-band error event, and AnswerEnd for the event that ends the answer.
EventText = Callable[[Any], str]


class AnswerEnd(Exception):
    """Raised by an ``EventText`` for the event that ends the answer, with its text.

    An answer whose connection closes before its end was cut off."""

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.text = text


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What the front end asked for: the model settings and the messages as sent."""

    model: str
    temperature: float | None
    messages: Sequence[Any]
    custom_model_id: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderOptions:
    """The operator's provider settings, read once at start."""

    anthropic_version: str = "2023-06-01"
    azure_api_version: str = "2024-10-21"
    azure_deployments: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Access:
    """How this caller reaches the provider, resolved from the profile and settings."""

    api_key: SecretStr | None
    base_url: str
    # The profile's non-secret fields (organization, Azure endpoint and deployments).
    profile: Mapping[str, str] = field(default_factory=dict)
    options: ProviderOptions = field(default_factory=ProviderOptions)


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    url: str
    headers: Mapping[str, str]
    body: bytes
    key_rejected: KeyRejected
    event_text: EventText
    # A data payload that is not an event but the end of the answer (OpenAI's [DONE]).
    end_marker: bytes | None = None


BuildCall = Callable[[ChatRequest, Access], UpstreamCall]


@dataclass(frozen=True, slots=True)
class TranslatedCall:
    """An OpenAI chat completion request in a provider's own wire format, and the
    reader of its answer's events (one per request: it may keep state)."""

    call: UpstreamCall
    read_event: ReadEvent


# (the client's OpenAI request body, the provider's model name, the access) -> the call.
TranslateCall = Callable[[Mapping[str, Any], str, Access], TranslatedCall]


# (the client's OpenAI request body, the provider's model name, the access) -> the call.
BuildJsonCall = Callable[[Mapping[str, Any], str, Access], UpstreamCall]


def no_event_text(_event: Any) -> str:
    """For a call whose answer is not read as text (one JSON body, or events)."""
    return ""


def only_status_401(status: int, _message: str, _code: str | None) -> bool:
    """For providers whose only credential is the key: any 401 means it was refused."""
    return status == 401
