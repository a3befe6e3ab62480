"""The one HTTP-client edge: the shared session, the POST with its retries,
server-sent events read into text, and the one map from aiohttp's exceptions
to chatgate's errors. Nothing outside this package catches an aiohttp
exception; providers build requests and read events, and never import aiohttp.
"""

from chatgate.upstream.destinations import DestinationPolicy
from chatgate.upstream.events import MAX_LINE
from chatgate.upstream.json_answer import post_for_json
from chatgate.upstream.request import UpstreamPolicy
from chatgate.upstream.session import new_session
from chatgate.upstream.stream import Decode, EndSeen, read_events, stream_reads, stream_text

__all__ = [
    "MAX_LINE",
    "Decode",
    "DestinationPolicy",
    "EndSeen",
    "UpstreamPolicy",
    "new_session",
    "post_for_json",
    "read_events",
    "stream_reads",
    "stream_text",
]
