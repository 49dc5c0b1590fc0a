"""Typed client for the Lookalike reverse-image-search API (sync and async, on httpx)."""
from .client import AsyncClient, Client
from .errors import (BadRequest, Conflict, ContentTooLarge, Forbidden, LookalikeError, NotFound, RateLimited, ServerError,
                     Unauthorized, Unavailable, UnsupportedMediaType, Unprocessable)
from .models import (BatchResults, Collection, Decision, DuplicateGroups, Image, ImportItem, ImportJob, Match, Page, Recipe, RecipeChange,
                     Results, Upload)
from ._requests import OPERATIONS

__all__ = [
    "Client", "AsyncClient", "LookalikeError", "BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict",
    "ContentTooLarge", "UnsupportedMediaType", "Unprocessable", "RateLimited", "Unavailable", "ServerError",
    "Image", "Upload", "Match", "Results", "Collection", "Recipe", "RecipeChange", "Decision", "DuplicateGroups", "BatchResults", "ImportJob", "ImportItem",
    "Page", "OPERATIONS",
]
__version__ = "0.1.0"
