"""What each call sends and how its answer is read, shared by the sync and the async client."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import quote

from . import models

ImageInput = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", IO[bytes]]

# Every operation the client calls: its method and path (with {collection} and other segments) and the served
# document's operationId. tests/test_client.py holds this table to /openapi.json, so it cannot drift.
OPERATIONS: Dict[str, Tuple[str, str, str]] = {
    "create_collection": ("POST", "/v1/collections", "createCollection"),
    "list_collections": ("GET", "/v1/collections", "listCollections"),
    "get_collection": ("GET", "/v1/collections/{collection}", "getCollection"),
    "delete_collection": ("DELETE", "/v1/collections/{collection}", "deleteCollection"),
    "change_recipe": ("PATCH", "/v1/collections/{collection}", "patchCollection"),
    "upload": ("POST", "/v1/collections/{collection}/images", "uploadImage"),
    "put_image": ("PUT", "/v1/collections/{collection}/images/{id}", "putImage"),
    "upload_batch": ("POST", "/v1/collections/{collection}/images/batch", "uploadImages"),
    "list_images": ("GET", "/v1/collections/{collection}/images", "listImages"),
    "get_image": ("GET", "/v1/collections/{collection}/images/{id}", "getImage"),
    "patch_metadata": ("PATCH", "/v1/collections/{collection}/images/{id}", "patchImage"),
    "delete_image": ("DELETE", "/v1/collections/{collection}/images/{id}", "deleteImage"),
    "thumbnail": ("GET", "/v1/collections/{collection}/images/{id}/thumbnail", "getThumbnail"),
    "similar": ("GET", "/v1/collections/{collection}/images/{id}/similar", "similarImages"),
    "search": ("POST", "/v1/collections/{collection}/search", "searchByImage"),
    "search_vector": ("POST", "/v1/collections/{collection}/search/vector", "searchByVector"),
    "recommend": ("POST", "/v1/collections/{collection}/recommend", "recommend"),
    "duplicates": ("GET", "/v1/collections/{collection}/duplicates", "duplicateGroups"),
    "not_duplicates": ("POST", "/v1/collections/{collection}/duplicates/decisions", "recordDecision"),
    "decisions": ("GET", "/v1/collections/{collection}/duplicates/decisions", "listDecisions"),
    "undo_decision": ("DELETE", "/v1/collections/{collection}/duplicates/decisions/{decision}", "undoDecision"),
    "stats": ("GET", "/v1/collections/{collection}/stats", "collectionStats"),
    "create_import": ("POST", "/v1/collections/{collection}/imports", "createImport"),
    "list_imports": ("GET", "/v1/collections/{collection}/imports", "listImports"),
    "get_import": ("GET", "/v1/collections/{collection}/imports/{job}", "getImport"),
    "import_items": ("GET", "/v1/collections/{collection}/imports/{job}/items", "importItems"),
    "cancel_import": ("POST", "/v1/collections/{collection}/imports/{job}/cancel", "cancelImport"),
    "health": ("GET", "/healthz", "health"),
    "ready": ("GET", "/readyz", "ready"),
}


@dataclass
class Call:
    """One HTTP request, and how its answer becomes a value."""
    method: str
    path: str
    parse: Callable[[Any], Any]
    params: Dict[str, str] = field(default_factory=dict)
    content: Optional[bytes] = None
    json: Any = None
    files: Optional[List[Tuple[str, Tuple[str, bytes, str]]]] = None
    headers: Dict[str, str] = field(default_factory=dict)


def path(operation: str, **segments: str) -> str:
    template = OPERATIONS[operation][1]
    for name, value in segments.items():
        template = template.replace("{" + name + "}", quote(value, safe=""))
    return template


def read_image(image: ImageInput) -> bytes:
    """Bytes of an image given as bytes, a path, or an open binary file."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        return bytes(image)
    if isinstance(image, (str, os.PathLike)):
        with open(image, "rb") as handle:
            return handle.read()
    if hasattr(image, "read"):
        return image.read()
    raise TypeError(f"an image is bytes, a path or a binary file, not {type(image).__name__}")


def search_params(k: Optional[int] = None, filter: Optional[Mapping[str, Any]] = None, min_score: Optional[float] = None,
                  exact: Optional[bool] = None, offset: Optional[int] = None, group_by: Optional[str] = None,
                  group_size: Optional[int] = None, expand: Optional[int] = None, search_k: Optional[int] = None) -> Dict[str, str]:
    """The search options as query parameters (absent ones take the server's defaults)."""
    params: Dict[str, str] = {}
    for name, value in (("k", k), ("min_score", min_score), ("offset", offset), ("group_by", group_by),
                        ("group_size", group_size), ("expand", expand), ("search_k", search_k)):
        if value is not None:
            params[name] = str(value)
    if exact is not None:
        params["exact"] = "true" if exact else "false"
    if filter is not None:
        params["filter"] = json.dumps(filter)
    return params


def manifest_body(manifest: Union[str, bytes, "os.PathLike[str]", Iterable[Mapping[str, Any]]], format: Optional[str]) -> Tuple[bytes, str]:
    """A manifest's bytes and content type: records become JSON lines; a path ending in .csv (or format='csv') is CSV."""
    if isinstance(manifest, (str, os.PathLike)) and os.path.exists(manifest):
        with open(manifest, "rb") as handle:
            content = handle.read()
        format = format or ("csv" if str(manifest).lower().endswith(".csv") else "jsonl")
    elif isinstance(manifest, str):
        content = manifest.encode()
    elif isinstance(manifest, (bytes, bytearray)):
        content = bytes(manifest)
    else:
        content = "\n".join(json.dumps(dict(item)) for item in manifest).encode()
        format = "jsonl"
    return content, "text/csv" if format == "csv" else "application/x-ndjson"


class Calls:
    """The request of each operation, for a collection."""

    def __init__(self, collection: str) -> None:
        self.collection = collection

    def c(self, collection: Optional[str]) -> str:
        return collection or self.collection

    def create_collection(self, name: str, code_scheme: Optional[str], code_bits: Optional[int], index_kind: Optional[str],
                          indexes: Optional[Mapping[str, str]]) -> Call:
        body: Dict[str, Any] = {"name": name}
        if code_scheme:
            body["code_scheme"] = code_scheme
        if code_bits:
            body["code_bits"] = code_bits
        if index_kind:
            body["index"] = {"kind": index_kind}
        if indexes:
            body["indexes"] = dict(indexes)
        return Call("POST", path("create_collection"), lambda r: models.Collection.from_json(r.json()), json=body)

    def list_collections(self) -> Call:
        return Call("GET", path("list_collections"), lambda r: [models.Collection.from_json(c) for c in r.json()["collections"]])

    def get_collection(self, name: str) -> Call:
        return Call("GET", path("get_collection", collection=name), lambda r: models.Collection.from_json(r.json()))

    def change_recipe(self, name: str, recipe: Mapping[str, Any]) -> Call:
        return Call("PATCH", path("change_recipe", collection=name), lambda r: models.Collection.from_json(r.json()),
                    json={"recipe": dict(recipe)})

    def delete_collection(self, name: str) -> Call:
        return Call("DELETE", path("delete_collection", collection=name), lambda r: None)

    def upload(self, image: ImageInput, id: Optional[str], metadata: Optional[Mapping[str, Any]], on_duplicate: Optional[str],
               collection: Optional[str]) -> Call:
        params: Dict[str, str] = {}
        if id is not None:
            params["id"] = id
        if metadata is not None:
            params["metadata"] = json.dumps(metadata)
        if on_duplicate is not None:
            params["on_duplicate"] = on_duplicate
        return Call("POST", path("upload", collection=self.c(collection)),
                    lambda r: models.Upload.from_json(r.json(), replaced=r.status_code == 200),
                    params=params, content=read_image(image), headers={"Content-Type": "application/octet-stream"})

    def put_image(self, id: str, image: ImageInput, collection: Optional[str]) -> Call:
        return Call("PUT", path("put_image", collection=self.c(collection), id=id),
                    lambda r: models.Upload.from_json(r.json(), replaced=r.status_code == 200),
                    content=read_image(image), headers={"Content-Type": "application/octet-stream"})

    def upload_batch(self, images: Union[Mapping[str, ImageInput], Sequence[Union[str, "os.PathLike[str]"]]],
                     collection: Optional[str]) -> Call:
        entries = images.items() if isinstance(images, Mapping) else [(os.path.basename(str(p)), p) for p in images]
        files = [("image", (name, read_image(image), "application/octet-stream")) for name, image in entries]
        return Call("POST", path("upload_batch", collection=self.c(collection)),
                    lambda r: models.BatchResults.from_json(r.json()), files=files)

    def list_images(self, limit: int, after: Optional[str], filter: Optional[Mapping[str, Any]], collection: Optional[str]) -> Call:
        params = {"limit": str(limit)}
        if after:
            params["after"] = after
        if filter is not None:
            params["filter"] = json.dumps(filter)
        return Call("GET", path("list_images", collection=self.c(collection)),
                    lambda r: models.Page([models.Image.from_json(i) for i in r.json()["images"]], r.json().get("next")), params=params)

    def get_image(self, id: str, collection: Optional[str]) -> Call:
        return Call("GET", path("get_image", collection=self.c(collection), id=id), lambda r: models.Image.from_json(r.json()))

    def patch_metadata(self, id: str, patch: Mapping[str, Any], collection: Optional[str]) -> Call:
        return Call("PATCH", path("patch_metadata", collection=self.c(collection), id=id), lambda r: models.Image.from_json(r.json()),
                    content=json.dumps(patch).encode(), headers={"Content-Type": "application/merge-patch+json"})

    def delete_image(self, id: str, collection: Optional[str]) -> Call:
        return Call("DELETE", path("delete_image", collection=self.c(collection), id=id), lambda r: None)

    def thumbnail(self, id: str, collection: Optional[str]) -> Call:
        return Call("GET", path("thumbnail", collection=self.c(collection), id=id), lambda r: r.content)

    def search(self, image: ImageInput, options: Dict[str, str], box: Optional[Sequence[float]], collection: Optional[str]) -> Call:
        params = dict(options)
        if box is not None:
            params["box"] = ",".join(str(v) for v in box)
        return Call("POST", path("search", collection=self.c(collection)), lambda r: models.Results.from_json(r.json()),
                    params=params, content=read_image(image), headers={"Content-Type": "application/octet-stream"})

    def search_vector(self, vector: Sequence[float], options: Dict[str, str], collection: Optional[str]) -> Call:
        return Call("POST", path("search_vector", collection=self.c(collection)), lambda r: models.Results.from_json(r.json()),
                    params=options, json={"vector": [float(v) for v in vector]})

    def similar(self, id: str, options: Dict[str, str], collection: Optional[str]) -> Call:
        return Call("GET", path("similar", collection=self.c(collection), id=id), lambda r: models.Results.from_json(r.json()), params=options)

    def recommend(self, positive: Sequence[Any], negative: Sequence[Any], negative_weight: Optional[float], options: Dict[str, str],
                  collection: Optional[str]) -> Call:
        body: Dict[str, Any] = {"positive": list(positive)}
        if negative:
            body["negative"] = list(negative)
        if negative_weight is not None:
            body["negative_weight"] = negative_weight
        return Call("POST", path("recommend", collection=self.c(collection)), lambda r: models.Results.from_json(r.json()),
                    params=options, json=body)

    def duplicates(self, threshold: Optional[float], neighbours: Optional[int], limit: Optional[int], after: Optional[str],
                   filter: Optional[Mapping[str, Any]], collection: Optional[str]) -> Call:
        params: Dict[str, str] = {}
        for name, value in (("threshold", threshold), ("neighbours", neighbours), ("limit", limit), ("after", after)):
            if value is not None:
                params[name] = str(value)
        if filter is not None:
            params["filter"] = json.dumps(filter)
        return Call("GET", path("duplicates", collection=self.c(collection)), lambda r: models.DuplicateGroups.from_json(r.json()),
                    params=params)

    def not_duplicates(self, ids: Sequence[str], collection: Optional[str]) -> Call:
        return Call("POST", path("not_duplicates", collection=self.c(collection)), lambda r: models.Decision.from_json(r.json()),
                    json={"ids": list(ids)})

    def decisions(self, collection: Optional[str]) -> Call:
        return Call("GET", path("decisions", collection=self.c(collection)),
                    lambda r: [models.Decision.from_json(d) for d in r.json()["decisions"]])

    def undo_decision(self, decision: str, collection: Optional[str]) -> Call:
        return Call("DELETE", path("undo_decision", collection=self.c(collection), decision=str(decision)), lambda r: None)

    def stats(self, collection: Optional[str]) -> Call:
        return Call("GET", path("stats", collection=self.c(collection)), lambda r: r.json())

    def create_import(self, manifest: Any, folder: Optional[str], format: Optional[str], concurrency: Optional[int],
                      on_duplicate: Optional[str], collection: Optional[str]) -> Call:
        params: Dict[str, str] = {}
        if concurrency is not None:
            params["concurrency"] = str(concurrency)
        if on_duplicate is not None:
            params["on_duplicate"] = on_duplicate
        parse = lambda r: models.ImportJob.from_json(r.json())  # noqa: E731
        if folder is not None:
            return Call("POST", path("create_import", collection=self.c(collection)), parse, params=params, json={"folder": folder})
        content, content_type = manifest_body(manifest, format)
        return Call("POST", path("create_import", collection=self.c(collection)), parse, params=params, content=content,
                    headers={"Content-Type": content_type})

    def list_imports(self, limit: int, after: Optional[str], collection: Optional[str]) -> Call:
        params = {"limit": str(limit)}
        if after:
            params["after"] = after
        return Call("GET", path("list_imports", collection=self.c(collection)),
                    lambda r: models.Page([models.ImportJob.from_json(j) for j in r.json()["jobs"]], r.json().get("next")), params=params)

    def get_import(self, job: str, collection: Optional[str]) -> Call:
        return Call("GET", path("get_import", collection=self.c(collection), job=job), lambda r: models.ImportJob.from_json(r.json()))

    def import_items(self, job: str, state: Optional[str], limit: int, after: Optional[int], collection: Optional[str]) -> Call:
        params = {"limit": str(limit)}
        if state:
            params["state"] = state
        if after:
            params["after"] = str(after)
        return Call("GET", path("import_items", collection=self.c(collection), job=job),
                    lambda r: models.Page([models.ImportItem.from_json(i) for i in r.json()["items"]],
                                          r.json().get("next")), params=params)

    def cancel_import(self, job: str, collection: Optional[str]) -> Call:
        return Call("POST", path("cancel_import", collection=self.c(collection), job=job), lambda r: models.ImportJob.from_json(r.json()))
