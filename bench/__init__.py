"""chatgate's benchmark: `python -m bench` (or `make bench`) measures the chat
route against the no-proxy floor; `python -m bench.report` turns the results
into docs/performance.md. `python -m bench.soak` (or `make soak`) holds many
slow streams for minutes and checks that nothing accumulates."""
