"""lookalike-client against a real server (the release binary in LOOKALIKE_BINARY) with the real model."""
from __future__ import annotations

import asyncio
import dataclasses
import functools
import http.server
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image as PILImage

import lookalike_client as lc
from lookalike_client import models

REPOSITORY = Path(__file__).resolve().parents[3]
CHELSEA = REPOSITORY / "Tests/InferenceTests/Fixtures/chelsea.png"
COFFEE = REPOSITORY / "Tests/InferenceTests/Fixtures/coffee.jpg"
# Routes the client leaves out on purpose: the page, its assets, metrics, the document itself, backups.
OUT_OF_SCOPE = {"webPage", "webAsset", "metrics", "openapi", "backup"}


def scene(seed: int) -> bytes:
    """A JPEG of coloured stripes, different for each seed."""
    image = PILImage.new("RGB", (160, 120))
    pixels = image.load()
    for y in range(120):
        for x in range(160):
            pixels[x, y] = ((x * (seed + 3)) % 256, (y * (seed + 7)) % 256, ((x + y) * (seed + 1)) % 256)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="module")
def server():
    binary = os.environ.get("LOOKALIKE_BINARY")
    if not binary:
        pytest.skip("set LOOKALIKE_BINARY to a lookalike build")
    work = Path(tempfile.mkdtemp())
    log = open(work / "server.log", "w")
    # Originals kept: a collection's recipe can then change (its vectors are recomputed from them).
    process = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", "0", "--db", str(work / "db.sqlite")],
                               stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, LOOKALIKE_STORAGE_KEEP_ORIGINALS="true"))
    port = None
    for _ in range(600):
        text = (work / "server.log").read_text()
        match = re.search(r"port[=\":]+\s*\"?(\d+)", text) if "index ready" in text else None
        if match:
            port = int(match.group(1))
            break
        time.sleep(0.1)
    assert port, (work / "server.log").read_text()
    yield f"http://127.0.0.1:{port}"
    process.kill()
    process.wait()


@pytest.fixture(scope="module")
def document(server):
    return httpx.get(f"{server}/openapi.json").json()


def test_the_client_and_the_served_document_agree(document):
    """Every operation the client calls is in the document with its method and path, every route of the document is
    either called by the client or left out on purpose, and each model's fields are its schema's properties."""
    operations = {}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            operations[operation["operationId"]] = (method.upper(), path)
    for name, (method, path, operation_id) in lc.OPERATIONS.items():
        assert operations.get(operation_id) == (method, path), f"{name}: {operation_id} is {operations.get(operation_id)}"
    called = {operation_id for _, _, operation_id in lc.OPERATIONS.values()}
    uncovered = {o for o in operations if not o.endswith("InDefault")} - called - OUT_OF_SCOPE
    assert not uncovered, f"routes the client does not call: {sorted(uncovered)}"
    schemas = document["components"]["schemas"]
    for model, schema, extra in [(models.Image, "Image", set()), (models.Collection, "Collection", set()),
                                 (models.ImportJob, "ImportJob", set()), (models.DuplicateGroups, "DuplicateGroups", set()),
                                 (models.Decision, "Decision", set()),
                                 (models.BatchResults, "BatchResults", set()), (models.Results, "Results", set()),
                                 (models.Upload, "Image", {"duplicates", "replaced"})]:
        names = {f.name for f in dataclasses.fields(model)}
        assert names == set(schemas[schema]["properties"]) | extra, f"{model.__name__} vs {schema}"
    item = schemas["ImportItems"]["properties"]["items"]["items"]["properties"]
    assert {f.name for f in dataclasses.fields(models.ImportItem)} == set(item)


def test_collections_images_search_filters_and_errors(server):
    with lc.Client(server, collection="shop") as client:
        created = client.create_collection("shop", indexes={"price": "number"})
        assert created.name == "shop" and created.indexes == {"price": "number"}
        assert "shop" in [c.name for c in client.list_collections()]
        cat = client.upload(CHELSEA, id="cat", metadata={"price": 10, "kind": "cat"})
        assert (cat.id, cat.format, cat.width, cat.height) == ("cat", "png", 451, 300)
        with open(COFFEE, "rb") as handle:
            assert client.upload(handle, id="coffee", metadata={"price": 30}).id == "coffee"
        assert client.put_image("stripes", scene(1)).replaced is False
        assert client.upload(scene(1), id="stripes", metadata={"price": 55}).replaced is True
        batch = client.upload_batch({"s2": scene(2), "s3": scene(3)})
        assert (batch.stored, batch.failed) == (2, 0)

        found = client.search(CHELSEA, k=3)
        assert found.ids()[0] == "cat" and found.results[0].score > 0.99
        cheap = client.search(CHELSEA, k=5, filter={"price": {"$gte": 20}})
        assert "cat" not in cheap.ids() and set(cheap.ids()) <= {"coffee", "stripes"}
        assert client.similar("cat", k=10).ids().count("cat") == 0
        assert "cat" not in client.recommend(["cat"], k=3).ids()
        assert len(client.search_vector([0.03] * 1280, k=2).results) == 2
        assert client.get_image("cat").metadata == {"price": 10, "kind": "cat"}
        assert client.patch_metadata("cat", {"kind": None, "price": 12}).metadata == {"price": 12}
        assert sorted(i.id for i in client.iter_images(page_size=2)) == ["cat", "coffee", "s2", "s3", "stripes"]
        assert [i.id for i in client.list_images(limit=10, filter={"price": {"$lt": 20}}).items] == ["cat"]
        assert client.thumbnail("cat")[:2] == b"\xff\xd8"
        assert client.upload(CHELSEA, id="cat-copy").duplicates[0].id == "cat"
        assert ["cat", "cat-copy"] in client.duplicates(threshold=0.95).groups
        decision = client.not_duplicates(["cat-copy", "cat"])
        assert decision.ids == ["cat", "cat-copy"] and decision.decision == "not_duplicates"
        assert ["cat", "cat-copy"] not in client.duplicates(threshold=0.95).groups
        assert [d.id for d in client.decisions()] == [decision.id]
        client.undo_decision(decision.id)
        assert ["cat", "cat-copy"] in client.duplicates(threshold=0.95).groups and client.decisions() == []
        with pytest.raises(lc.NotFound):
            client.undo_decision(decision.id)
        assert client.stats()["images"] == 6

        with pytest.raises(lc.NotFound) as missing:
            client.get_image("nobody")
        assert missing.value.status == 404 and "nobody" in missing.value.detail
        with pytest.raises(lc.BadRequest) as bad:
            client.search(CHELSEA, k=0)
        assert "k" in bad.value.detail and bad.value.title == "Bad Request"
        with pytest.raises(lc.Conflict):
            client.upload(CHELSEA, id="cat-again", on_duplicate="reject")
        with pytest.raises(lc.UnsupportedMediaType):
            client.upload(b"%PDF-1.7 not an image", id="pdf")
        client.delete_image("cat-copy")
        with pytest.raises(lc.NotFound):
            client.get_image("cat-copy")


def test_changing_a_collections_recipe(server):
    with lc.Client(server, collection="recipes") as client:
        created = client.create_collection("recipes")
        assert created.recipe_change is None and isinstance(created.recipe, lc.Recipe)
        for seed in range(4, 9):
            client.upload(scene(seed), id=f"r{seed}")
        with pytest.raises(lc.BadRequest):
            client.change_recipe("recipes", crop="diagonal")
        started = client.change_recipe("recipes", crop="squash", feature_power=0.5)
        assert started.recipe_change is not None and started.recipe_change.target.crop == "squash"
        with pytest.raises(lc.Conflict):
            client.change_recipe("recipes", crop="center")
        change = client.wait_for_recipe_change("recipes", progress=False, timeout=120)
        assert change is not None and change.state == "done" and (change.done, change.total) == (5, 5)
        now = client.get_collection("recipes")
        assert (now.recipe.crop, now.recipe.feature_power) == ("squash", 0.5) and "+squash+pow0.5" in now.model
        found = client.search(scene(6), k=1)
        assert found.ids() == ["r6"] and found.results[0].score > 0.9999


def test_imports_with_progress_and_outcomes(server, tmp_path):
    for seed in range(3):
        (tmp_path / f"p{seed}.jpg").write_bytes(scene(10 + seed))
    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=origin.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{origin.server_address[1]}"
    try:
        with lc.Client(server, collection="imports") as client:
            client.create_collection("imports")
            records = [{"id": f"p{seed}", "url": f"{base}/p{seed}.jpg", "metadata": {"seed": seed}} for seed in range(3)]
            records.append({"id": "gone", "url": f"{base}/missing.jpg"})
            job = client.create_import(records, concurrency=2)
            assert job.state == "queued" and job.total == 4
            done = client.wait_for_import(job.id, progress=True, timeout=120)
            assert done.state == "completed" and done.counts["stored"] == 3 and done.counts["refused"] == 1
            refused = list(client.iter_import_items(job.id, state="refused"))
            assert [(i.id, i.state) for i in refused] == [("gone", "refused")] and "404" in (refused[0].reason or "")
            assert client.get_image("p1").metadata == {"seed": 1}
            assert job.id in [j.id for j in client.list_imports().items]
            with pytest.raises(lc.Conflict):
                client.cancel_import(job.id)
            csv = "id,url\np0,%s/p0.jpg\n" % base
            again = client.wait_for_import(client.create_import(csv, format="csv").id, progress=False, timeout=120)
            assert again.counts == {"pending": 0, "storing": 0, "stored": 0, "duplicate": 1, "refused": 0}
    finally:
        origin.shutdown()


def test_async_client(server):
    async def main():
        async with lc.AsyncClient(server) as client:
            stored = await client.upload(scene(20), id="async-1", metadata={"a": 1})
            assert stored.id == "async-1"
            found = await client.search(scene(20), k=1)
            assert found.ids() == ["async-1"]
            assert [i.id async for i in client.iter_images() if i.id == "async-1"] == ["async-1"]
            try:
                await client.get_image("missing")
            except lc.NotFound as error:
                return error.status
    assert asyncio.run(main()) == 404


def test_the_quickstart_example_runs(server):
    example = REPOSITORY / "clients/python/examples/quickstart.py"
    assert len(example.read_text().splitlines()) <= 25
    result = subprocess.run([sys.executable, str(example), server, str(CHELSEA), str(COFFEE)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "nearest to" in result.stdout and "'photo-0'" in result.stdout
    assert "on shelf 1 or above: ['photo-1']" in result.stdout
