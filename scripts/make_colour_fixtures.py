#!/usr/bin/env python3
"""Colour-managed test fixtures: a saturated photo in Display P3, Adobe RGB and CMYK, with the profile embedded.

  make_colour_fixtures.py PHOTO OUT_DIR

Writes into OUT_DIR:
  srgb.png / srgb.jpg       the photo, colour-boosted, in sRGB: what the tagged copies should come back as
  display-p3.icc            a Display P3 profile built below from the published primaries (no package ships one)
  p3.png p3.jpg p3.webp p3.tiff p3.heic p3.avif
                            the photo converted to Display P3 by Pillow's ImageCms, profile embedded (PNG iCCP, JPEG
                            APP2, WebP ICCP, TIFF tag); the HEIC and AVIF from p3.png by heif-enc and avifenc, which
                            carry the PNG's profile over
  p3-untagged.png / .jpg    the same P3 numbers without a profile: what a decoder without colour management sees
  adobe.jpg                 the photo in Adobe RGB (icc-profiles-free's compatible profile)
  cmyk.jpg cmyk.tiff        the photo in CMYK through Ghostscript's default CMYK profile (libgs-common), embedded
  NAME.rgb                  for each tagged file, Pillow's decoding converted to sRGB by ImageCms (perceptual)
  manifest.json             [{"name", "file", "width", "height"}] for the files with a NAME.rgb
"""
import io
import json
import os
import shutil
import struct
import subprocess
import sys

from PIL import Image, ImageCms, ImageEnhance

ADOBE = "/usr/share/color/icc/compatibleWithAdobeRGB1998.icc"
CMYK = "/usr/share/color/icc/ghostscript/default_cmyk.icc"


def s15(value):
    return struct.pack(">i", round(value * 65536))


def xyz_tag(x, y, z):
    return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)


def solve3(m, v):
    """Cramer's rule for a 3×3 system."""
    def det(a):
        return (a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
                + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]))
    d = det(m)
    out = []
    for column in range(3):
        replaced = [[v[row] if c == column else m[row][c] for c in range(3)] for row in range(3)]
        out.append(det(replaced) / d)
    return out


def matmul(a, b):
    return [[sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3)] for i in range(3)]


def display_p3_profile():
    """An ICC v4 display profile: P3 primaries, D65 white, the sRGB transfer curve (parametric type 3), colorants
    adapted to the D50 connection space with Bradford, as the ICC specification asks."""
    primaries = [(0.680, 0.320), (0.265, 0.690), (0.150, 0.060)]
    white = (0.3127, 0.3290)
    xyz = [[x / y, 1.0, (1 - x - y) / y] for x, y in primaries]  # rows: R, G, B
    columns = [[xyz[c][r] for c in range(3)] for r in range(3)]
    white_xyz = [white[0] / white[1], 1.0, (1 - white[0] - white[1]) / white[1]]
    scale = solve3(columns, white_xyz)
    rgb_to_xyz = [[columns[r][c] * scale[c] for c in range(3)] for r in range(3)]
    bradford = [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]
    inverse = [[0.9869929, -0.1470543, 0.1599627], [0.4323053, 0.5183603, 0.0492912], [-0.0085287, 0.0400428, 0.9684867]]
    d50 = [0.9642, 1.0, 0.8249]
    source_cone = [sum(bradford[i][k] * white_xyz[k] for k in range(3)) for i in range(3)]
    target_cone = [sum(bradford[i][k] * d50[k] for k in range(3)) for i in range(3)]
    diagonal = [[target_cone[i] / source_cone[i] if i == j else 0 for j in range(3)] for i in range(3)]
    adapt = matmul(inverse, matmul(diagonal, bradford))
    adapted = matmul(adapt, rgb_to_xyz)
    curve = b"para\0\0\0\0" + struct.pack(">HH", 3, 0) + s15(2.4) + s15(1 / 1.055) + s15(0.055 / 1.055) + s15(1 / 12.92) + s15(0.04045)

    def mluc(text):
        encoded = text.encode("utf-16-be")
        return b"mluc\0\0\0\0" + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(encoded), 28) + encoded

    chad = b"sf32\0\0\0\0" + b"".join(s15(adapt[r][c]) for r in range(3) for c in range(3))
    tags = [(b"desc", mluc("Display P3 (test)")), (b"cprt", mluc("No copyright, use freely")),
            (b"wtpt", xyz_tag(*d50)), (b"chad", chad),
            (b"rXYZ", xyz_tag(*[adapted[r][0] for r in range(3)])),
            (b"gXYZ", xyz_tag(*[adapted[r][1] for r in range(3)])),
            (b"bXYZ", xyz_tag(*[adapted[r][2] for r in range(3)])),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    table = struct.pack(">I", len(tags))
    offset = 128 + 4 + 12 * len(tags)
    data = b""
    for signature, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (struct.pack(">I", size) + b"lcms" + bytes([4, 0x30, 0, 0]) + b"mntrRGB XYZ " + struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
              + b"acsp" + b"\0" * 4 + struct.pack(">I", 0) + b"\0" * 8 + b"\0" * 8 + struct.pack(">I", 0)
              + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 4 + b"\0" * 16 + b"\0" * 28)
    assert len(header) == 128
    return header + table + data


def to_srgb(path):
    """Pillow's decoding of a tagged file, converted to sRGB through its embedded profile."""
    with Image.open(path) as image:
        image.load()
        profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
        return ImageCms.profileToProfile(image, profile, ImageCms.createProfile("sRGB"), outputMode="RGB")


def run(tool, package, *arguments):
    if shutil.which(tool) is None:
        sys.exit(f"'{tool}' is not installed (Debian package '{package}'; scripts/test installs it)")
    subprocess.run([tool, *arguments], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    photo, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    manifest = []

    def expect(name, file, expected):
        with open(os.path.join(out, name + ".rgb"), "wb") as handle:
            handle.write(expected.tobytes())
        manifest.append({"name": name, "file": file, "width": expected.size[0], "height": expected.size[1]})

    with Image.open(photo) as image:
        srgb = ImageEnhance.Color(image.convert("RGB")).enhance(1.6)
    srgb.info.clear()
    srgb.save(os.path.join(out, "srgb.png"))
    srgb.save(os.path.join(out, "srgb.jpg"), quality=95)
    p3_bytes = display_p3_profile()
    with open(os.path.join(out, "display-p3.icc"), "wb") as handle:
        handle.write(p3_bytes)
    p3_profile = ImageCms.ImageCmsProfile(io.BytesIO(p3_bytes))
    srgb_profile = ImageCms.createProfile("sRGB")
    p3 = ImageCms.profileToProfile(srgb, srgb_profile, p3_profile, outputMode="RGB")
    # The profile is what it says: sRGB's pure red is about (234, 51, 35) in Display P3.
    red = ImageCms.profileToProfile(Image.new("RGB", (1, 1), (255, 0, 0)), srgb_profile, p3_profile).getpixel((0, 0))
    assert all(abs(a - b) <= 3 for a, b in zip(red, (234, 51, 35))), red

    p3.save(os.path.join(out, "p3.png"), icc_profile=p3_bytes)
    p3.save(os.path.join(out, "p3.jpg"), quality=95, icc_profile=p3_bytes)
    p3.save(os.path.join(out, "p3.webp"), lossless=True, icc_profile=p3_bytes)
    p3.save(os.path.join(out, "p3.tiff"), icc_profile=p3_bytes)
    untagged = p3.copy()
    untagged.info.clear()  # ImageCms records the output profile there, and the writers would embed it
    untagged.save(os.path.join(out, "p3-untagged.png"))
    untagged.save(os.path.join(out, "p3-untagged.jpg"), quality=95)
    for extension in ("png", "jpg", "webp", "tiff"):
        expect("p3-" + extension, "p3." + extension, to_srgb(os.path.join(out, "p3." + extension)))
    run("heif-enc", "libheif-examples", "-q", "90", os.path.join(out, "p3.png"), "-o", os.path.join(out, "p3.heic"))
    run("avifenc", "libavif-bin", "-j", "1", "--min", "10", "--max", "20", os.path.join(out, "p3.png"), os.path.join(out, "p3.avif"))

    with open(ADOBE, "rb") as handle:
        adobe_bytes = handle.read()
    adobe = ImageCms.profileToProfile(srgb, srgb_profile, ImageCms.ImageCmsProfile(io.BytesIO(adobe_bytes)), outputMode="RGB")
    adobe.save(os.path.join(out, "adobe.jpg"), quality=95, icc_profile=adobe_bytes)
    expect("adobe-jpg", "adobe.jpg", to_srgb(os.path.join(out, "adobe.jpg")))

    with open(CMYK, "rb") as handle:
        cmyk_bytes = handle.read()
    cmyk = ImageCms.profileToProfile(srgb, srgb_profile, ImageCms.ImageCmsProfile(io.BytesIO(cmyk_bytes)), outputMode="CMYK")
    cmyk.save(os.path.join(out, "cmyk.jpg"), quality=95, icc_profile=cmyk_bytes)
    cmyk.save(os.path.join(out, "cmyk.tiff"), compression="tiff_lzw", icc_profile=cmyk_bytes)
    for extension in ("jpg", "tiff"):
        expect("cmyk-" + extension, "cmyk." + extension, to_srgb(os.path.join(out, "cmyk." + extension)))

    with open(os.path.join(out, "manifest.json"), "w") as handle:
        json.dump(manifest, handle)


if __name__ == "__main__":
    main()
