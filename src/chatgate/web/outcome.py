"""How a request that spends a provider's tokens ended, said once for every such
route: its outcome on the ledger and in the metrics, its log line, and the error
the client gets (``{"message"}``, or OpenAI's shape on ``/v1``)."""

from __future__ import annotations

import logging
from types import TracebackType

from starlette.types import Receive, Scope, Send

from chatgate.errors import ChatgateError
from chatgate.runtime import Runtime
from chatgate.usage.meter import UsageMeter
from chatgate.web.body import ClientDisconnected
from chatgate.web.errors import error_response, unexpected_error_response
from chatgate.web.relay import StreamAborted

log = logging.getLogger(__name__)


class Answering:
    """``async with Answering(...) as answering:`` around a route's work. Set
    ``answering.meter`` once the request is on its way to the provider and call
    ``complete()`` when the answer is whole; whatever ends it otherwise is
    caught here, and the meter's row is kept in every case."""

    def __init__(
        self, runtime: Runtime, scope: Scope, receive: Receive, send: Send, *, what: str
    ) -> None:
        self.runtime, self.scope, self.receive, self.send = runtime, scope, receive, send
        self.what = what
        self.state = scope.setdefault("state", {})
        self.request_id: str = self.state.get("request_id", "-")
        self.meter: UsageMeter | None = None
        self.outcome = "cut_off"

    async def __aenter__(self) -> Answering:
        return self

    def complete(self) -> None:
        self.outcome = "complete"
        self.runtime.metrics.answers_complete.inc()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        _traceback: TracebackType | None,
    ) -> bool:
        try:
            return exc is not None and await self._ended_by(exc)
        finally:
            if self.meter is not None and self.meter.upstream_called:
                self.runtime.usage.ledger.record(self.meter.finish(self.outcome))

    async def _ended_by(self, exc: BaseException) -> bool:
        metrics, extra = self.runtime.metrics, {"request_id": self.request_id}
        if isinstance(exc, ClientDisconnected):
            self.outcome = self.state["outcome"] = "client_gone"
            metrics.answers_client_gone.inc()
            log.info("client went away; upstream request closed", extra=extra)
        elif isinstance(exc, StreamAborted):
            self.outcome = self.state["outcome"] = "cut_off"
            metrics.answers_cut_off.inc()
            log.warning("%s cut off mid-stream: %s", self.what, exc, extra=extra)
        elif isinstance(exc, ChatgateError):
            self.outcome = str(exc.status)
            if exc.status >= 500:
                log.warning("%s", exc.message, extra=extra)
            await error_response(exc, path=self.scope["path"])(self.scope, self.receive, self.send)
        elif isinstance(exc, Exception):
            self.outcome = "500"
            failed = unexpected_error_response(
                exc, what=self.what, request_id=self.request_id, path=self.scope["path"]
            )
            await failed(self.scope, self.receive, self.send)
        else:
            return False  # cancellation and the like go on up
        return True
