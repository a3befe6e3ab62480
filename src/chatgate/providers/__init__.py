"""One module per provider, each turning a chat request into a stream of text.

Providers know nothing of the database, the web framework or the settings:
keys, URLs and limits arrive as arguments.
"""
