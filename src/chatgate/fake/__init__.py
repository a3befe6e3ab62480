"""A fake of every provider's streaming API, for tests, benchmarks and try-outs.

One aiohttp app serves each wire format under its real path, with its real
events, error bodies and status codes:

  POST /v1/chat/completions             OpenAI and the OpenAI-compatible providers
  POST /local/v1/chat/completions       the same, needing no key (a local server)
  POST /openai/deployments/{d}/chat/completions?api-version=...   Azure OpenAI
  POST /v1/embeddings (and /local/..., Azure's /openai/deployments/{d}/embeddings)  embeddings
  POST /v1/messages                     Anthropic
  POST /v1beta/models/{m}:streamGenerateContent?alt=sse           Google Gemini

A key ending in ``bad`` is refused as the provider refuses a wrong key. A
line in the last message's text of the form ``#fake key=value ...`` makes
that one request misbehave:

status=N [code=C] [retry_after=S] [times=K]  answer status N (the first K times)
chunks=N  delay_ms=D  first_byte_delay_ms=D  shape of the answer
fail_after=N     drop the connection after N text chunks
error_after=N    send the provider's in-band error event after N text chunks
malformed_after=N  send a line that is not JSON after N text chunks
stall_after=N    stop sending (keep the connection open) after N text chunks
trickle=1        send each event a byte at a time
keepalive_ms=K   with first_byte_delay_ms: send keep-alive comments every K ms meanwhile
no_end=1         close the answer cleanly without the provider's end event
linger_ms=D      after the end event, wait D ms before ending the response
redirect=URL [redirect_status=N]  answer with a redirect there (307 by default)
tool=NAME        end the answer with a call of tool NAME (arguments {"city": "Paris"})
finish=REASON    the provider's own stop reason for the answer's end (OpenAI's wire:
                 REASON,REASON,... one a choice when the request asks for n of them)
cached=N         report N prompt tokens read from the cache (Anthropic: and 3 written)
thoughts=N       (Gemini) report N thinking tokens

A request to OpenAI's wire with ``n`` > 1 is answered with that many choices,
streamed as OpenAI streams them: one chunk per choice at every step, choice k's
words starting k further along (``reply_pieces(count, choice=k)``).

GET /_fake/requests lists what it received (path, headers, body); DELETE
clears the list. GET /_fake/stats counts streams (open, completed, and cut
short by the client going away).
"""

from chatgate.fake.answer import reply_pieces
from chatgate.fake.app import create_fake_app, run_fake

__all__ = ["create_fake_app", "reply_pieces", "run_fake"]
