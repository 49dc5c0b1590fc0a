"""Replication lag between two nodes on one PostgreSQL database: uploads COUNT distinct images to WRITER at a
steady RATE per second and, for each, polls READER until the image is in its index (`similar` answers 200).
The lag is from the writer's acknowledgement to the reader's first 200. Prints p50, p99 and max in ms.
Usage: replication_lag.py WRITER_URL READER_URL COUNT RATE"""
import struct, sys, time, urllib.error, urllib.request, zlib

writer, reader, count, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])

def png(i):
    w, h = 64, 64
    r, g, b = (i * 37) % 251, (i * 11) % 253, (i * 29) % 255
    row = b"\x00" + bytes([r, g, b, (b + 90) % 256, r, (g + 40) % 256] * (w // 2))
    raw = row * (h // 2) + (b"\x00" + bytes([g, b, r] * w)) * (h // 2)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

def indexed(key):
    try:
        return urllib.request.urlopen(f"{reader}/v1/images/{key}/similar?k=1").status == 200
    except urllib.error.HTTPError:
        return False

lags = []
start = time.monotonic()
for i in range(count):
    key = f"lag-{int(start)}-{i}"
    request = urllib.request.Request(f"{writer}/v1/images?id={key}", data=png(i), method="POST",
                                     headers={"Content-Type": "image/png"})
    urllib.request.urlopen(request).read()
    acknowledged = time.monotonic()
    while not indexed(key):
        if time.monotonic() - acknowledged > 30:
            sys.exit(f"replication_lag: {key} not on the reader after 30 s")
        time.sleep(0.001)
    lags.append((time.monotonic() - acknowledged) * 1000)
    time.sleep(max(0.0, start + (i + 1) / rate - time.monotonic()))
lags.sort()
pick = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]
print(f"replication lag over {count} uploads at {rate:g}/s: p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms, max {lags[-1]:.1f} ms")
