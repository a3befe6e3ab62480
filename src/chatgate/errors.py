"""The errors a user can see, each with its HTTP status and message.

ChatgateError
 +-- BadRequest (400)
 |    +-- ApiKeyNotFound (400)
 |    +-- InvalidField (400, naming the request field)
 +-- NotAuthenticated (401)
 +-- Forbidden (403)
 |    +-- CrossSiteRequest (403)
 +-- NotFound (404)
 +-- Conflict (409)
 |    +-- ProfilesManagedInChatbotUi (409)
 |    +-- CustomModelsManagedInChatbotUi (409)
 +-- BodyTooLarge (413)
 +-- TooManyRequests (429)
 |    +-- QuotaExceeded (429)
 +-- StoredKeyUnreadable (500)
 +-- ServiceUnavailable (503)
 |    +-- AtConnectionLimit (503)
 |    +-- SigningKeysUnavailable (503)
 |    +-- ChatbotUiUnavailable (503)
 +-- UpstreamError (the upstream's own status)
      +-- ApiKeyIncorrect (401)
      +-- UpstreamUnreachable (502)
      +-- UpstreamTimeout (504)
      +-- StreamBroken (after the answer started: the response is aborted)

The message of every one of them is safe to show to the user: no secret, no
stack trace.
"""

from __future__ import annotations

from typing import Any


class ChatgateError(Exception):
    status: int = 500
    message: str = "An unexpected error occurred"

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)

    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(ChatgateError):
    status = 400


class ApiKeyNotFound(BadRequest):
    def __init__(self, provider_name: str) -> None:
        super().__init__(
            f"{provider_name} API Key not found. Please set it in your profile settings."
        )


class InvalidField(BadRequest):
    """A request field that is missing, or has a type or value that cannot be
    taken (OpenAI's API names it as the error's ``param``)."""

    def __init__(self, param: str | None, message: str) -> None:
        super().__init__(message)
        self.param = param


class NotAuthenticated(ChatgateError):
    status = 401
    message = "Missing or invalid access token"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(ChatgateError):
    status = 403
    message = "Forbidden"


class CrossSiteRequest(Forbidden):
    """A session cookie sent along with another site's page's request."""

    message = "Cross-site request refused"


class NotFound(ChatgateError):
    status = 404
    message = "Not found"


class Conflict(ChatgateError):
    status = 409


class ProfilesManagedInChatbotUi(Conflict):
    message = "Profiles are managed in Chatbot UI"


class CustomModelsManagedInChatbotUi(Conflict):
    message = "Custom models are managed in Chatbot UI"


class BodyTooLarge(ChatgateError):
    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request body is larger than the limit of {limit} bytes")


class TooManyRequests(ChatgateError):
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class QuotaExceeded(TooManyRequests):
    """A user's daily or monthly token quota is used up; it resets at 00:00 UTC."""

    code = "insufficient_quota"  # OpenAI's code for it, so its SDKs do not retry

    def __init__(self, *, period: str, limit: int, retry_after: int) -> None:
        if period == "day":
            message = f"Daily token quota of {limit} reached; it resets at 00:00 UTC"
        else:
            message = f"Monthly token quota of {limit} reached; it resets on the 1st at 00:00 UTC"
        super().__init__(message, retry_after=retry_after)
        self.period = period
        self.limit = limit


class StoredKeyUnreadable(ChatgateError):
    status = 500
    message = (
        "A key stored in your profile can no longer be decrypted (the server's secret changed). "
        "Please enter it again in your profile settings."
    )


class ServiceUnavailable(ChatgateError):
    status = 503
    message = "The database is unavailable; try again shortly"


class AtConnectionLimit(ServiceUnavailable):
    message = "The server is at its connection limit; try again shortly"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


class SigningKeysUnavailable(ServiceUnavailable):
    message = "Sign-in cannot be checked right now (the signing keys are unavailable); try again"


class ChatbotUiUnavailable(ServiceUnavailable):
    message = "Chatbot UI's database is unavailable; try again shortly"


class UpstreamError(ChatgateError):
    """The provider refused or failed the request before the answer started."""

    status = 502
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int = 502,
        retry_after: str | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.retryable = retryable

    def headers(self) -> dict[str, str]:
        return {"Retry-After": self.retry_after} if self.retry_after else {}


class ApiKeyIncorrect(UpstreamError):
    def __init__(self, provider_name: str) -> None:
        super().__init__(
            f"{provider_name} API Key is incorrect. Please fix it in your profile settings.",
            status=401,
        )


class UpstreamUnreachable(UpstreamError):
    def __init__(self, provider_name: str) -> None:
        super().__init__(f"{provider_name} could not be reached", status=502, retryable=True)


class UpstreamTimeout(UpstreamError):
    def __init__(self, provider_name: str, what: str) -> None:
        super().__init__(f"{provider_name} did not answer in time ({what})", status=504)


class StreamBroken(UpstreamError):
    """The upstream failed after text was already on its way to the client."""


def describe_validation_errors(errors: Any) -> str:
    """One readable sentence per problem, naming the field."""
    parts = []
    for error in errors:
        if error.get("type") == "json_invalid":
            return "Request body is not valid JSON"
        location = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts) or "Invalid request"
