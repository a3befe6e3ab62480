"""chatgate's own page: static files served at ``/`` (see ``routes``)."""
