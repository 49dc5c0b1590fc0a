"""Replication lag between two nodes on one PostgreSQL database: uploads COUNT distinct images to WRITER at a
steady RATE per second and, for each, polls READER until the image is in its index (`similar` answers 200).
The lag is from the writer's acknowledgement to the reader's first 200. Prints p50, p99 and max in ms.
Usage: replication_lag.py WRITER_URL READER_URL COUNT RATE"""
import sys, time, urllib.error, urllib.request
from tiny_png import png

writer, reader, count, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])

def indexed(key):
    try:
        return urllib.request.urlopen(f"{reader}/v1/images/{key}/similar?k=1").status == 200
    except urllib.error.HTTPError:
        return False

lags = []
start = time.monotonic()
for i in range(count):
    key = f"lag-{int(start)}-{i}"
    request = urllib.request.Request(f"{writer}/v1/images?id={key}", data=png(i, mix=(37, 11, 29)), method="POST",
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
