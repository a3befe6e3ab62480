"""The web edge: everything between a client's connection and the chat use case."""
