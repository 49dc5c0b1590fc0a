#!/usr/bin/env python3
"""GIF test fixtures made by Pillow (an encoder independent of giflib), each with the pixels it should decode to.

  make_format_fixtures.py OUT_DIR

Writes NAME.gif and NAME.rgb (the expected upright RGB bytes: Pillow's own decoding of the first frame, transparent
pixels composited over white) for each case, and manifest.json listing name, width and height. Run by the test
suite with the Python from scripts/test's venv.
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


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    manifest = []

    def save(name, expected):
        with open(os.path.join(out, name + ".rgb"), "wb") as handle:
            handle.write(expected.tobytes())
        manifest.append({"name": name, "width": expected.size[0], "height": expected.size[1]})

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

    with open(os.path.join(out, "manifest.json"), "w") as handle:
        json.dump(manifest, handle)


if __name__ == "__main__":
    main()
