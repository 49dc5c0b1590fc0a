"""Upload, search and filter with lookalike-client: python quickstart.py URL IMAGE [IMAGE...]"""
import sys

from lookalike_client import Client, NotFound

url, images = sys.argv[1], sys.argv[2:]
with Client(url, collection="quickstart") as client:
    try:
        client.get_collection("quickstart")
    except NotFound:
        client.create_collection("quickstart", indexes={"shelf": "number"})
    for shelf, path in enumerate(images):
        stored = client.upload(path, id=f"photo-{shelf}", metadata={"shelf": shelf, "source": path})
        print("stored", stored.id, stored.width, "x", stored.height)
    found = client.search(images[0], k=3)
    print("nearest to", images[0], [(m.id, round(m.score, 3)) for m in found.results])
    upper = client.search(images[0], k=3, filter={"shelf": {"$gte": 1}})
    print("on shelf 1 or above:", upper.ids())
    print("like photo-0:", client.similar("photo-0", k=2).ids())
