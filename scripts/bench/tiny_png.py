"""Small distinct PNGs made without Pillow: fast to upload and to decode."""
import random
import struct
import zlib


def png(i, mix=(1, 7, 13)):
    """The `i`-th 64×64 image of two colour bands; `mix` varies the family, so that two scripts' images differ."""
    w, h = 64, 64
    r, g, b = (i * mix[0]) % 251, (i * mix[1]) % 253, (i * mix[2]) % 255
    row = b"\x00" + bytes([r, g, b, (r + 64) % 256, g, (b + 128) % 256] * (w // 2))
    raw = row * (h // 2) + (b"\x00" + bytes([b, r, g] * w)) * (h // 2)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def blocks(seed):
    """A 96×72 image of eight coloured blocks placed by `seed`: distinct enough for the model to tell apart."""
    rng = random.Random(seed)
    w, h = 96, 72
    px = bytearray(w * h * 3)
    for _ in range(8):
        c = bytes(rng.randrange(256) for _ in range(3))
        x0, y0, s = rng.randrange(w), rng.randrange(h), rng.randrange(10, 40)
        for y in range(y0, min(h, y0 + s)):
            px[(y * w + x0) * 3:(y * w + min(w, x0 + s)) * 3] = c * (min(w, x0 + s) - x0)
    raw = b"".join(b"\x00" + bytes(px[y * w * 3:(y + 1) * w * 3]) for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))
