"""OpenAI's API over every provider: ``/v1/models`` and ``/v1/chat/completions``
for any OpenAI client (the SDKs, Open WebUI, LibreChat, curl)."""
