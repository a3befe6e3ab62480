"""The one web edge: every HTTP request enters chatgate here.

``connections`` bounds what uvicorn holds before a request exists; ``router``
sends the chat routes straight to their plain ASGI endpoint and every other
request to the FastAPI app, after its credential (where its route needs one)
and its body, within bounds. Errors are rendered by ``errors`` alone.
"""
