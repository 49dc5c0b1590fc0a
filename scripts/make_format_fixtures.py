#!/usr/bin/env python3
"""GIF and BMP test fixtures, each with the pixels it should decode to.

  make_format_fixtures.py OUT_DIR

GIFs are written by Pillow (an encoder independent of giflib). BMPs are written by Pillow where it can (1-, 8- and
24-bit) and, for the variants Pillow does not write (4-bit, 16-bit bit fields, 32-bit with an alpha mask, top-down,
the old core header, run-length compressed), by the small writer below. The expected pixels are Pillow's own
decoding (first frame; transparency over white), except where noted. Writes NAME.gif or NAME.bmp, NAME.rgb (upright
RGB bytes; absent for files that must be refused) and manifest.json listing name, file, width and height.
"""
import json
import os
import struct
import sys

from PIL import Image


def scene(width, height, seed):
    """A smooth colourful image that quantises to a full palette."""
    image = Image.new("RGB", (width, height))
    image.putdata([((x * 7 + seed * 40) % 256, (y * 9 + x * 3) % 256, ((x + y) * 5 + seed * 13) % 256)
                   for y in range(height) for x in range(width)])
    return image


def expected_rgb(path):
    """Pillow's decoding of the first frame, transparency over white."""
    with Image.open(path) as image:
        image.seek(0)
        rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def shift_first_frame(data, canvas, offset):
    """Enlarges the logical screen to `canvas` and moves the first frame to `offset` (a frame smaller than the
    screen, as animation tools write); the area outside the frame is background."""
    data = bytearray(data)
    struct.pack_into("<HH", data, 6, *canvas)
    flags = data[10]
    position = 13 + (3 * (2 << (flags & 7)) if flags & 0x80 else 0)
    while data[position] == 0x21:  # extensions: introducer, label, sub-blocks
        position += 2
        while data[position]:
            position += data[position] + 1
        position += 1
    assert data[position] == 0x2C
    struct.pack_into("<HH", data, position + 1, *offset)
    return bytes(data)


def bmp(width, height, bits, pixel_rows, palette=b"", compression=0, masks=b"", header_size=40, top_down=False):
    """A Windows bitmap; `pixel_rows` are the stored rows (bottom-up unless top_down), each padded here."""
    stride = (width * bits + 31) // 32 * 4
    data = b"".join(row + b"\0" * (stride - len(row)) for row in pixel_rows)
    if header_size == 12:
        dib = struct.pack("<IHHHH", 12, width, height, 1, bits)
    else:
        dib = struct.pack("<IiiHHIIiiII", header_size, width, -height if top_down else height, 1, bits, compression,
                          len(data), 2835, 2835, len(palette) // (3 if header_size == 12 else 4), 0)
        if header_size > 40:
            dib += masks.ljust(header_size - 40, b"\0")
            masks = b""
    offset = 14 + len(dib) + len(masks) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset) + dib + masks + palette + data


def bmps(out, save):
    def pillow(name, image):
        path = os.path.join(out, name + ".bmp")
        image.save(path)
        save(name, expected_rgb(path), "bmp")

    def crafted(name, data, expected=None):
        path = os.path.join(out, name + ".bmp")
        with open(path, "wb") as handle:
            handle.write(data)
        save(name, expected if expected is not None else expected_rgb(path), "bmp")

    pillow("rgb24", scene(37, 23, 6))
    pillow("gray8", scene(30, 20, 7).convert("L"))
    pillow("bilevel", scene(35, 17, 8).convert("1"))
    pillow("palette8", scene(33, 21, 9).quantize(colors=200, dither=Image.Dither.NONE))

    w, h = 21, 13
    palette16 = b"".join(bytes((i * 16, 255 - i * 16, (i * 40) % 256, 0)) for i in range(16))
    rows4 = [bytes(((x * 2 + y) % 16) << 4 | ((x * 2 + 1 + y) % 16) for x in range((w + 1) // 2)) for y in range(h)]
    crafted("palette4", bmp(w, h, 4, rows4, palette=palette16))

    def pixel(x, y):
        return ((x * 11 + y * 3) % 256, (y * 17) % 256, (x * 5 + y * 7) % 256)
    rows565 = [b"".join(struct.pack("<H", (r >> 3) << 11 | (g >> 2) << 5 | b >> 3) for r, g, b in (pixel(x, y) for x in range(w)))
               for y in range(h)]
    crafted("rgb565", bmp(w, h, 16, rows565, compression=3, masks=struct.pack("<III", 0xF800, 0x07E0, 0x001F)))

    # 32-bit with an alpha mask in a V4 header; expected worked out here (straight alpha over white).
    expected = Image.new("RGB", (w, h))
    rows32 = []
    for stored in range(h):
        y = h - 1 - stored
        row = b""
        for x in range(w):
            r, g, b = pixel(x, y)
            a = (x * 12) % 256
            row += bytes((b, g, r, a))
            expected.putpixel((x, y), tuple(round((c * a + 255 * (255 - a)) / 255) for c in (r, g, b)))
        rows32.append(row)
    crafted("rgba32-v4", bmp(w, h, 32, rows32, compression=3, header_size=108,
                             masks=struct.pack("<IIII", 0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000)), expected)

    rows24 = [b"".join(bytes(reversed(pixel(x, y))) for x in range(w)) for y in range(h)]
    crafted("top-down", bmp(w, h, 24, rows24, top_down=True))
    palette_core = b"".join(bytes((i, 255 - i, (i * 3) % 256)) for i in range(256))
    crafted("core-header", bmp(w, h, 8, [bytes((x * 9 + y * 5) % 256 for x in range(w)) for y in range(h)], palette=palette_core,
                               header_size=12))
    path = os.path.join(out, "rle8.bmp")
    with open(path, "wb") as handle:
        handle.write(bmp(4, 2, 8, [b"\x04\x01\x00\x00", b"\x00\x01"], palette=palette16, compression=1))


def tiffs(out, save):
    """TIFFs written by Pillow (its own TIFF writer, libtiff for the compressed ones)."""
    from PIL import ImageOps

    def write(name, image, expected=None, **options):
        name = "tiff-" + name  # the .rgb files share the folder with the GIF and BMP ones
        path = os.path.join(out, name + ".tiff")
        image.save(path, **options)
        save(name, expected if expected is not None else expected_rgb(path), "tiff")

    write("rgb-raw", scene(41, 27, 10))
    write("rgb-lzw", scene(41, 27, 11), compression="tiff_lzw")
    write("rgb-deflate", scene(41, 27, 12), compression="tiff_adobe_deflate")
    write("gray", scene(30, 22, 13).convert("L"), compression="tiff_lzw")
    write("palette", scene(30, 22, 14).quantize(colors=100, dither=Image.Dither.NONE))
    write("bilevel", scene(33, 19, 15).convert("1"), compression="group4")
    write("cmyk", scene(30, 22, 16).convert("CMYK"))

    # Straight (unassociated) alpha, worked out here over white.
    rgba = scene(36, 24, 17).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((36, 24)))
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    write("rgba", rgba, Image.alpha_composite(white, rgba).convert("RGB"))

    # 16-bit greyscale: the expected 8-bit value is v · 255 / 65535, rounded.
    gray16 = Image.new("I;16", (32, 20))
    gray16.putdata([(x * 2000 + y * 900) % 65536 for y in range(20) for x in range(32)])
    expected16 = Image.new("L", (32, 20))
    expected16.putdata([round(((x * 2000 + y * 900) % 65536) * 255 / 65535) for y in range(20) for x in range(32)])
    write("gray16", gray16, expected16.convert("RGB"))

    # Two pages: the first is decoded.
    pages = [scene(28, 18, seed) for seed in (18, 19)]
    write("two-pages", pages[0], pages[0], save_all=True, append_images=pages[1:])

    # Orientation 6 (shown turned a quarter clockwise): upright is Pillow's exif_transpose.
    turned = scene(40, 25, 20)
    write("orientation6", turned, ImageOps.exif_transpose(_tagged(turned, 6)), tiffinfo={274: 6})


def _tagged(image, orientation):
    copy = image.copy()
    exif = copy.getexif()
    exif[274] = orientation
    copy.info["exif"] = exif.tobytes()
    return copy


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    manifest = []

    def save(name, expected, extension="gif"):
        with open(os.path.join(out, name + ".rgb"), "wb") as handle:
            handle.write(expected.tobytes())
        manifest.append({"name": name, "file": name + "." + extension, "width": expected.size[0], "height": expected.size[1]})

    base = scene(96, 64, 1).quantize(colors=256, dither=Image.Dither.NONE)
    for name, interlace in [("palette", False), ("interlaced", True)]:
        path = os.path.join(out, name + ".gif")
        base.save(path, interlace=interlace)
        save(name, expected_rgb(path))

    # Transparency: index 0 transparent, used along the left third.
    transparent = scene(60, 40, 2).quantize(colors=64, dither=Image.Dither.NONE)
    pixels = transparent.load()
    for y in range(40):
        for x in range(20):
            pixels[x, y] = 0
    path = os.path.join(out, "transparent.gif")
    transparent.save(path, transparency=0)
    save("transparent", expected_rgb(path))

    # Animation: the first of two frames.
    frames = [scene(80, 48, seed).quantize(colors=128, dither=Image.Dither.NONE) for seed in (3, 4)]
    path = os.path.join(out, "animated.gif")
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    save("animated", expected_rgb(path))

    # A first frame smaller than the screen, at an offset: white around it.
    small = scene(40, 30, 5).quantize(colors=32, dither=Image.Dither.NONE)
    path = os.path.join(out, "offset.gif")
    small.save(path)
    with open(path, "rb") as handle:
        shifted = shift_first_frame(handle.read(), canvas=(64, 50), offset=(12, 9))
    with open(path, "wb") as handle:
        handle.write(shifted)
    expected = Image.new("RGB", (64, 50), (255, 255, 255))
    expected.paste(small.convert("RGB"), (12, 9))
    save("offset", expected)

    bmps(out, save)
    tiffs(out, save)
    with open(os.path.join(out, "manifest.json"), "w") as handle:
        json.dump(manifest, handle)


if __name__ == "__main__":
    main()
