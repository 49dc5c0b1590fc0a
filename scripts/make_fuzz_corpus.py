#!/usr/bin/env python3
"""Writes the seed corpus for scripts/fuzz into Tests/FuzzTargetTests/Corpus/<target>/ (small, valid inputs
the fuzzer mutates). Needs Pillow for the JPEG seeds; the rest is written by hand here."""
import io, json, os, struct, sys, zlib

from PIL import Image

root = os.path.join(os.path.dirname(__file__), "..", "Tests", "FuzzTargetTests", "Corpus")


def write(target, name, data):
    folder = os.path.join(root, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def gradient(mode, size=(12, 9)):
    image = Image.new("RGB", size)
    image.putdata([((x * 23) % 256, (y * 29) % 256, ((x + y) * 11) % 256)
                   for y in range(size[1]) for x in range(size[0])])
    return image.convert(mode)


def exif_app1(orientation, little_endian):
    order = b"II" if little_endian else b"MM"
    e = "<" if little_endian else ">"
    tiff = order + struct.pack(e + "HI", 42, 8) + struct.pack(e + "H", 1)
    tiff += struct.pack(e + "HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(e + "I", 0)
    return b"Exif\x00\x00" + tiff


# JPEG: baseline colour and grey, progressive, CMYK, with EXIF.
for name, image, options in [
    ("rgb.jpg", gradient("RGB"), {}),
    ("gray.jpg", gradient("L"), {}),
    ("progressive.jpg", gradient("RGB", (17, 13)), {"progressive": True}),
    ("cmyk.jpg", gradient("CMYK"), {}),
    ("subsampled.jpg", gradient("RGB", (33, 31)), {"subsampling": 2}),
]:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70, **options)
    write("jpeg", name, buffer.getvalue())
buffer = io.BytesIO()
gradient("RGB").save(buffer, "JPEG", quality=60)
plain = buffer.getvalue()
for orientation, little in [(6, True), (3, False), (8, True)]:
    segment = exif_app1(orientation, little)
    with_exif = plain[:2] + b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment + plain[2:]
    write("jpeg", f"exif{orientation}.jpg", with_exif)
    write("exif", f"app1-{orientation}-{'le' if little else 'be'}.bin", segment)
write("exif", "jpeg-with-exif.jpg", with_exif[:200])


# PNG: written by hand so every colour type and bit depth is covered.
def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width, height, colour_type, depth, rows, extra=b"", interlace=0):
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, interlace)
    raw = b"".join(b"\x00" + row for row in rows)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + extra + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")


w, h = 7, 5
write("png", "gray8.png", png(w, h, 0, 8, [bytes((x * 30 + y) % 256 for x in range(w)) for y in range(h)]))
write("png", "gray1.png", png(w, h, 0, 1, [bytes([0b10110010]) for _ in range(h)]))
write("png", "gray16.png", png(w, h, 0, 16, [b"".join(struct.pack(">H", x * 9000) for x in range(w)) for _ in range(h)]))
write("png", "rgb8.png", png(w, h, 2, 8, [bytes((x * 40 + c * 70) % 256 for x in range(w) for c in range(3)) for _ in range(h)]))
write("png", "rgba8.png", png(w, h, 6, 8, [bytes((x * 40 + c * 50) % 256 for x in range(w) for c in range(4)) for _ in range(h)]))
palette = b"\x00" * 3 + b"\xff\x00\x00" + b"\x00\xff\x00" + b"\x00\x00\xff"
write("png", "palette-trns.png", png(w, h, 3, 8, [bytes(x % 4 for x in range(w)) for _ in range(h)],
                                     extra=png_chunk(b"PLTE", palette) + png_chunk(b"tRNS", b"\x00\x80")))
# Adam7 passes of an 8×8 grey image: (width, height) of each reduced image, rows stored pass after pass.
adam7 = [(1, 1), (1, 1), (2, 1), (2, 2), (4, 2), (4, 4), (8, 4)]
write("png", "interlaced.png", png(8, 8, 0, 8, [bytes(range(0, 8 * pw, 8))[:pw] for pw, ph in adam7 for _ in range(ph)],
                                   interlace=1))

# HTTP requests: the shapes the server meets.
requests = {
    "get.txt": b"GET /v1/images?limit=2&after=a HTTP/1.1\r\nHost: x\r\nX-Request-Id: r1\r\n\r\n",
    "post-length.txt": b"POST /v1/images?id=a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    "chunked.txt": b"POST /v1/search HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nTrailer: t\r\n\r\n",
    "pipelined.txt": b"GET /healthz HTTP/1.1\r\n\r\nHEAD /readyz HTTP/1.1\r\nConnection: close\r\n\r\n",
    "expect.txt": b"PUT /v1/images/x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    "http10.txt": b"GET / HTTP/1.0\r\n\r\n",
    "smuggle.txt": b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
}
for name, data in requests.items():
    write("http-request", name, b"\x20" + data)

# Multipart: the boundary on the first line, then the body.
boundary = b"XyZ"
body = (b"--XyZ\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\nabc\r\n"
        b"--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n"
        b"Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xd9\r\n"
        b"--XyZ\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{\"a\":1}\r\n--XyZ--\r\n")
write("multipart", "three-parts.txt", boundary + b"\n" + body)
write("multipart", "empty.txt", boundary + b"\n--XyZ--\r\n")

# Weight file: a tiny safetensors file with metadata and two tensors.
header = {"__metadata__": {"arch": "test"},
          "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
          "b": {"dtype": "F32", "shape": [1], "data_offsets": [16, 20]}}
encoded = json.dumps(header).encode()
half = json.dumps({"h": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}}).encode()
write("weight-file", "f16.safetensors", struct.pack("<Q", len(half)) + half + b"\x00\x3c\x00\x40")
write("weight-file", "tiny.safetensors", struct.pack("<Q", len(encoded)) + encoded + struct.pack("<5f", 1, 2, 3, 4, 5))


def tiny_network(metadata, shapes):
    """A loadable network with few channels (the loaders check chaining, not ImageNet's widths)."""
    header, offset, blob = {"__metadata__": metadata}, 0, b""
    for name, shape in shapes:
        count = 1
        for size in shape:
            count *= size
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + 4 * count]}
        blob += struct.pack(f"<{count}f", *[(i % 7) / 7 + 0.5 for i in range(count)])
        offset += 4 * count
    encoded = json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + blob


def norm(prefix, channels):
    return [(f"{prefix}.{part}", [channels]) for part in ("weight", "bias", "running_mean", "running_var")]


# A ResNet of one bottleneck block with 8, 4 and 16 channels.
write("weight-file", "tiny-resnet.safetensors", tiny_network(
    {"architecture": "resnet", "name": "tiny", "input_size": "32", "batchnorm_epsilon": "1e-05",
     "input_mean": "1,2,3", "input_std": "4,5,6"},
    [("conv1.weight", [8, 3, 7, 7])] + norm("bn1", 8)
    + [("layer1.0.conv1.weight", [4, 8, 1, 1])] + norm("layer1.0.bn1", 4)
    + [("layer1.0.conv2.weight", [4, 4, 3, 3])] + norm("layer1.0.bn2", 4)
    + [("layer1.0.conv3.weight", [16, 4, 1, 1])] + norm("layer1.0.bn3", 16)
    + [("layer1.0.downsample.0.weight", [16, 8, 1, 1])] + norm("layer1.0.downsample.1", 16)
    + [("fc.weight", [3, 16]), ("fc.bias", [3])]))

# Record id and metadata.
write("metadata", "object.txt", b"product-17\n{\"sku\": \"A-1\", \"tags\": [\"red\", 2], \"price\": 9.5}")
write("metadata", "unicode.txt", "caf\u00e9/\u732b\n{\"n\": null, \"deep\": {\"x\": [1, {\"y\": true}]}}".encode())
write("metadata", "array.txt", b"k\n[1,2,3]")
print("corpus written to", os.path.normpath(root))
