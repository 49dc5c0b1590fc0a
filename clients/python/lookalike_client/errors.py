"""Errors: every non-2xx answer becomes an exception carrying the problem+json fields (RFC 9457)."""
from __future__ import annotations

from typing import Any, Dict, Optional


class LookalikeError(Exception):
    """A request the server refused or could not answer."""

    def __init__(self, status: int, title: str, detail: str, type: str = "about:blank",
                 retry_after: Optional[float] = None, body: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type
        self.retry_after = retry_after
        self.body = body or {}


class BadRequest(LookalikeError): """400: a parameter or body is out of bounds (the detail names it)."""
class Unauthorized(LookalikeError): """401: a key is required, or the key is not valid."""
class Forbidden(LookalikeError): """403: the key's role or collections do not allow this."""
class NotFound(LookalikeError): """404: no such collection, image or job."""
class Conflict(LookalikeError): """409: exists already, a near-duplicate was rejected, or the job has ended."""
class ContentTooLarge(LookalikeError): """413."""
class UnsupportedMediaType(LookalikeError): """415: not an image format the server decodes."""
class Unprocessable(LookalikeError): """422: an image this request cannot use."""
class RateLimited(LookalikeError): """429: see retry_after."""
class Unavailable(LookalikeError): """503: loading, busy or behind the shared database; see retry_after."""
class ServerError(LookalikeError): """Any other 5xx."""


_BY_STATUS = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 413: ContentTooLarge,
              415: UnsupportedMediaType, 422: Unprocessable, 429: RateLimited, 503: Unavailable}


def error_for(status: int, headers: Any, content: bytes) -> LookalikeError:
    """The exception for a response: its class from the status, its fields from the problem+json body."""
    import json

    try:
        body = json.loads(content) if content else {}
    except ValueError:
        body = {"detail": content[:200].decode("utf-8", "replace")}
    if not isinstance(body, dict):
        body = {}
    retry = headers.get("retry-after") if headers is not None else None
    try:
        retry_after = float(retry) if retry is not None else None
    except ValueError:
        retry_after = None
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else LookalikeError)
    return cls(status=status, title=str(body.get("title", "")), detail=str(body.get("detail", "")),
               type=str(body.get("type", "about:blank")), retry_after=retry_after, body=body)
