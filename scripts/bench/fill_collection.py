"""Fills a server's default collection up to a number of images with small generated PNGs (fast to decode),
then writes every stored id, one per line, for `similar.lua` to cycle through.
Usage: fill_collection.py BASE_URL IMAGES IDS_FILE"""
import concurrent.futures, json, struct, sys, urllib.parse, urllib.request, zlib

base, total, ids_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def png(i):
    w, h = 64, 64
    r, g, b = i % 251, (i * 7) % 253, (i * 13) % 255
    row = b"\x00" + bytes([r, g, b, (r + 64) % 256, g, (b + 128) % 256] * (w // 2))
    raw = row * (h // 2) + (b"\x00" + bytes([b, r, g] * w)) * (h // 2)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

def put(i):
    request = urllib.request.Request(f"{base}/v1/images?id=c{i}", data=png(i), method="POST")
    return urllib.request.urlopen(request).status

have = json.load(urllib.request.urlopen(f"{base}/v1/stats"))["images"]
with concurrent.futures.ThreadPoolExecutor(4) as pool:
    list(pool.map(put, range(max(0, total - have))))
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
