"""Writes 400 distinct 320×240 PNGs (coloured blocks; no dependency on Pillow) into FOLDER/img for upload.lua.
Usage: make_upload_images.py FOLDER"""
import os, random, struct, sys, zlib
out = sys.argv[1]
def png(w, h, pixels):
    raw = b"".join(b"\x00" + pixels[y * w * 3:(y + 1) * w * 3] for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b"")
os.makedirs(out + "/img", exist_ok=True)
for i in range(400):
    rng = random.Random(i)
    w, h = 320, 240
    px = bytearray(w * h * 3)
    for b in range(12):
        c = bytes(rng.randrange(256) for _ in range(3)); x0, y0 = rng.randrange(w), rng.randrange(h); s = rng.randrange(20, 120)
        for y in range(y0, min(h, y0 + s)):
            px[(y * w + x0) * 3:(y * w + min(w, x0 + s)) * 3] = c * (min(w, x0 + s) - x0)
    open(f"{out}/img/{i}.png", "wb").write(png(w, h, bytes(px)))
