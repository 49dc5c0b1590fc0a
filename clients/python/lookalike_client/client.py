"""The client: `Client` (blocking, httpx.Client) and `AsyncClient` (asyncio, httpx.AsyncClient) with the same
operations; the async client's methods return awaitables of the same types."""
from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Union

import httpx

from . import models
from ._requests import Call, Calls, ImageInput, search_params
from .errors import error_for


class _Operations:
    """Every operation once; `_run` sends the call (and waits, or returns an awaitable)."""

    _calls: Calls

    def _run(self, call: Call) -> Any:
        raise NotImplementedError

    # Collections.
    def create_collection(self, name: str, *, code_scheme: Optional[str] = None, code_bits: Optional[int] = None,
                          index_kind: Optional[str] = None, indexes: Optional[Mapping[str, str]] = None) -> models.Collection:
        """A new collection; `index_kind` 'graph' for millions of images, `indexes` typed metadata columns."""
        return self._run(self._calls.create_collection(name, code_scheme, code_bits, index_kind, indexes))

    def list_collections(self) -> List[models.Collection]:
        return self._run(self._calls.list_collections())

    def get_collection(self, name: str) -> models.Collection:
        return self._run(self._calls.get_collection(name))

    def delete_collection(self, name: str) -> None:
        return self._run(self._calls.delete_collection(name))

    def change_recipe(self, name: str, *, crop: Optional[str] = None, trim_borders: Optional[bool] = None,
                      mirror_average: Optional[bool] = None, feature_power: Optional[float] = None) -> models.Collection:
        """Starts re-embedding the collection with another recipe (settings left out keep their values); it keeps
        serving on the old vectors until the switch. Follow it with wait_for_recipe_change()."""
        recipe = {key: value for key, value in (("crop", crop), ("trim_borders", trim_borders), ("mirror_average", mirror_average),
                                                ("feature_power", feature_power)) if value is not None}
        return self._run(self._calls.change_recipe(name, recipe))

    # Images.
    def upload(self, image: ImageInput, *, id: Optional[str] = None, metadata: Optional[Mapping[str, Any]] = None,
               on_duplicate: Optional[str] = None, collection: Optional[str] = None) -> models.Upload:
        """Stores an image (bytes, a path or a binary file); the same id replaces it. on_duplicate='reject': a
        near-duplicate raises Conflict instead of being stored."""
        return self._run(self._calls.upload(image, id, metadata, on_duplicate, collection))

    def put_image(self, id: str, image: ImageInput, *, collection: Optional[str] = None) -> models.Upload:
        """Stores or replaces the image with this id (keeping no metadata: use upload for that)."""
        return self._run(self._calls.put_image(id, image, collection))

    def upload_batch(self, images: Union[Mapping[str, ImageInput], Sequence[str]], *, collection: Optional[str] = None) -> models.BatchResults:
        """Many images in one request: {id: image} or paths (each stored under its file name)."""
        return self._run(self._calls.upload_batch(images, collection))

    def list_images(self, *, limit: int = 100, after: Optional[str] = None, filter: Optional[Mapping[str, Any]] = None,
                    collection: Optional[str] = None) -> models.Page:
        return self._run(self._calls.list_images(limit, after, filter, collection))

    def get_image(self, id: str, *, collection: Optional[str] = None) -> models.Image:
        return self._run(self._calls.get_image(id, collection))

    def patch_metadata(self, id: str, patch: Mapping[str, Any], *, collection: Optional[str] = None) -> models.Image:
        """A JSON merge patch (RFC 7396) of the image's metadata: null removes a key."""
        return self._run(self._calls.patch_metadata(id, patch, collection))

    def delete_image(self, id: str, *, collection: Optional[str] = None) -> None:
        return self._run(self._calls.delete_image(id, collection))

    def thumbnail(self, id: str, *, collection: Optional[str] = None) -> bytes:
        return self._run(self._calls.thumbnail(id, collection))

    # Search.
    def search(self, image: ImageInput, *, k: Optional[int] = None, filter: Optional[Mapping[str, Any]] = None,
               min_score: Optional[float] = None, exact: Optional[bool] = None, offset: Optional[int] = None,
               group_by: Optional[str] = None, group_size: Optional[int] = None, expand: Optional[int] = None,
               box: Optional[Sequence[float]] = None, collection: Optional[str] = None) -> models.Results:
        """Stored images like `image` (not stored); `filter` a Mongo-style metadata filter; `box` x,y,w,h."""
        options = search_params(k, filter, min_score, exact, offset, group_by, group_size, expand)
        return self._run(self._calls.search(image, options, box, collection))

    def search_vector(self, vector: Sequence[float], *, k: Optional[int] = None, filter: Optional[Mapping[str, Any]] = None,
                      min_score: Optional[float] = None, exact: Optional[bool] = None,
                      collection: Optional[str] = None) -> models.Results:
        return self._run(self._calls.search_vector(vector, search_params(k, filter, min_score, exact), collection))

    def similar(self, id: str, *, k: Optional[int] = None, filter: Optional[Mapping[str, Any]] = None,
                min_score: Optional[float] = None, exact: Optional[bool] = None, group_by: Optional[str] = None,
                group_size: Optional[int] = None, collection: Optional[str] = None) -> models.Results:
        """Stored images like the stored image `id`, itself excluded."""
        options = search_params(k, filter, min_score, exact, group_by=group_by, group_size=group_size)
        return self._run(self._calls.similar(id, options, collection))

    def recommend(self, positive: Sequence[Any], *, negative: Sequence[Any] = (), negative_weight: Optional[float] = None,
                  k: Optional[int] = None, filter: Optional[Mapping[str, Any]] = None,
                  collection: Optional[str] = None) -> models.Results:
        """Images like the positive examples (ids or vectors) and unlike the negative ones."""
        return self._run(self._calls.recommend(positive, negative, negative_weight, search_params(k, filter), collection))

    def duplicates(self, *, threshold: Optional[float] = None, neighbours: Optional[int] = None, limit: Optional[int] = None,
                   after: Optional[str] = None, filter: Optional[Mapping[str, Any]] = None,
                   collection: Optional[str] = None) -> models.DuplicateGroups:
        return self._run(self._calls.duplicates(threshold, neighbours, limit, after, filter, collection))

    def not_duplicates(self, ids: Sequence[str], *, collection: Optional[str] = None) -> models.Decision:
        """Records that these images are not duplicates of one another: groups and upload verdicts keep them apart."""
        return self._run(self._calls.not_duplicates(ids, collection))

    def decisions(self, *, collection: Optional[str] = None) -> List[models.Decision]:
        return self._run(self._calls.decisions(collection))

    def undo_decision(self, decision: str, *, collection: Optional[str] = None) -> None:
        return self._run(self._calls.undo_decision(decision, collection))

    def stats(self, *, collection: Optional[str] = None) -> Dict[str, Any]:
        return self._run(self._calls.stats(collection))

    # Import jobs.
    def create_import(self, manifest: Any = None, *, folder: Optional[str] = None, format: Optional[str] = None,
                      concurrency: Optional[int] = None, on_duplicate: Optional[str] = None,
                      collection: Optional[str] = None) -> models.ImportJob:
        """Starts an import job: `manifest` is records ({'id', 'url' or 'path', 'metadata'}), JSON lines or CSV
        text or bytes, or a file (.csv is CSV); or `folder` under the server's imports.root."""
        if (manifest is None) == (folder is None):
            raise ValueError("give a manifest or a folder")
        return self._run(self._calls.create_import(manifest, folder, format, concurrency, on_duplicate, collection))

    def get_import(self, job: str, *, collection: Optional[str] = None) -> models.ImportJob:
        return self._run(self._calls.get_import(job, collection))

    def list_imports(self, *, limit: int = 100, after: Optional[str] = None, collection: Optional[str] = None) -> models.Page:
        return self._run(self._calls.list_imports(limit, after, collection))

    def import_items(self, job: str, *, state: Optional[str] = None, limit: int = 1000, after: Optional[int] = None,
                     collection: Optional[str] = None) -> models.Page:
        """A page of the job's items; `state` one of pending, storing, stored, duplicate, refused."""
        return self._run(self._calls.import_items(job, state, limit, after, collection))

    def cancel_import(self, job: str, *, collection: Optional[str] = None) -> models.ImportJob:
        return self._run(self._calls.cancel_import(job, collection))


def _send_sync(client: httpx.Client, call: Call) -> Any:
    response = client.request(call.method, call.path, params=call.params or None, content=call.content, json=call.json,
                              files=call.files, headers=call.headers or None)
    if response.status_code >= 300:
        raise error_for(response.status_code, response.headers, response.content)
    return call.parse(response)


class Client(_Operations):
    """A blocking client. `Client("http://localhost:8080", api_key=..., collection="shop")`; use as a context
    manager or call close()."""

    def __init__(self, base_url: str = "http://127.0.0.1:8080", *, api_key: Optional[str] = None, collection: str = "default",
                 timeout: float = 60.0, http: Optional[httpx.Client] = None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = http or httpx.Client(base_url=base_url, headers=headers, timeout=timeout)
        self._calls = Calls(collection)

    def _run(self, call: Call) -> Any:
        return _send_sync(self._http, call)

    def health(self) -> bool:
        return self._http.get("/healthz").status_code == 200

    def ready(self) -> bool:
        return self._http.get("/readyz").status_code == 200

    def iter_images(self, *, filter: Optional[Mapping[str, Any]] = None, page_size: int = 500,
                    collection: Optional[str] = None) -> Iterator[models.Image]:
        """Every image, page after page."""
        after: Optional[str] = None
        while True:
            page = self.list_images(limit=page_size, after=after, filter=filter, collection=collection)
            yield from page.items
            if not page.next:
                return
            after = page.next

    def iter_import_items(self, job: str, *, state: Optional[str] = None, collection: Optional[str] = None) -> Iterator[models.ImportItem]:
        after: Optional[int] = None
        while True:
            page = self.import_items(job, state=state, after=after, collection=collection)
            yield from page.items
            if not page.next:
                return
            after = int(page.next)

    def wait_for_import(self, job: str, *, progress: bool = True, poll: float = 0.5, timeout: Optional[float] = None,
                        collection: Optional[str] = None) -> models.ImportJob:
        """Follows a job until it ends, with a tqdm progress bar unless `progress` is False."""
        return self._follow(lambda: self.get_import(job, collection=collection), f"import {job}", "item", progress, poll, timeout)

    def wait_for_recipe_change(self, name: str, *, progress: bool = True, poll: float = 0.5,
                               timeout: Optional[float] = None) -> Optional[models.RecipeChange]:
        """Follows a collection's re-embedding until it ends (None when it has none), with a tqdm progress bar unless
        `progress` is False."""
        return self._follow(lambda: self.get_collection(name).recipe_change, f"re-embed {name}", "image", progress, poll, timeout)

    @staticmethod
    def _follow(read: Callable[[], Any], what: str, unit: str, progress: bool, poll: float, timeout: Optional[float]) -> Any:
        """Polls `read()` until its value has ended (or is None), with a bar over its total and done counts."""
        bar = None
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                status = read()
                if status is None:
                    return None
                if progress and status.total:
                    if bar is None:
                        from tqdm import tqdm
                        bar = tqdm(total=status.total, unit=unit, desc=what)
                    bar.update(status.done - bar.n)
                if status.ended:
                    return status
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"{what} has not ended: {status.done}/{status.total}")
                time.sleep(poll)
        finally:
            if bar is not None:
                bar.close()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncClient(_Operations):
    """The same operations on asyncio: `async with AsyncClient(url) as client: await client.search(...)`."""

    def __init__(self, base_url: str = "http://127.0.0.1:8080", *, api_key: Optional[str] = None, collection: str = "default",
                 timeout: float = 60.0, http: Optional[httpx.AsyncClient] = None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = http or httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout)
        self._calls = Calls(collection)

    async def _send(self, call: Call) -> Any:
        response = await self._http.request(call.method, call.path, params=call.params or None, content=call.content,
                                            json=call.json, files=call.files, headers=call.headers or None)
        if response.status_code >= 300:
            raise error_for(response.status_code, response.headers, response.content)
        return call.parse(response)

    def _run(self, call: Call) -> Any:
        return self._send(call)

    async def iter_images(self, *, filter: Optional[Mapping[str, Any]] = None, page_size: int = 500,
                          collection: Optional[str] = None) -> AsyncIterator[models.Image]:
        after: Optional[str] = None
        while True:
            page = await self.list_images(limit=page_size, after=after, filter=filter, collection=collection)
            for image in page.items:
                yield image
            if not page.next:
                return
            after = page.next

    async def wait_for_import(self, job: str, *, poll: float = 0.5, timeout: Optional[float] = None,
                              collection: Optional[str] = None) -> models.ImportJob:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = await self.get_import(job, collection=collection)
            if status.ended:
                return status
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"import {job} has not ended: {status.done}/{status.total}")
            await asyncio.sleep(poll)

    async def wait_for_recipe_change(self, name: str, *, poll: float = 0.5,
                                     timeout: Optional[float] = None) -> Optional[models.RecipeChange]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            change = (await self.get_collection(name)).recipe_change
            if change is None or change.ended:
                return change
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"re-embedding of {name} has not ended: {change.done}/{change.total}")
            await asyncio.sleep(poll)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
