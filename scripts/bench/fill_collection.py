"""Fills a server's default collection up to a number of images with small generated PNGs (fast to decode; keys
c<n> from the count it holds, so a second call adds rather than replaces),
then writes every stored id, one per line, for `similar.lua` to cycle through.
Usage: fill_collection.py BASE_URL IMAGES IDS_FILE"""
import concurrent.futures, json, sys, urllib.parse, urllib.request
from tiny_png import png

base, total, ids_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def put(i):
    request = urllib.request.Request(f"{base}/v1/images?id=c{i}", data=png(i), method="POST")
    return urllib.request.urlopen(request).status

have = json.load(urllib.request.urlopen(f"{base}/v1/stats"))["images"]
with concurrent.futures.ThreadPoolExecutor(4) as pool:
    list(pool.map(put, range(have, total)))
print(f"collection: {total} images stored")

ids, after = [], None
while True:
    query = "limit=1000" + (f"&after={urllib.parse.quote(after)}" if after else "")
    page = json.load(urllib.request.urlopen(f"{base}/v1/images?{query}"))
    ids += [image["id"] for image in page["images"]]
    after = page.get("next")
    if not after:
        break
open(ids_file, "w").write("\n".join(ids) + "\n")
