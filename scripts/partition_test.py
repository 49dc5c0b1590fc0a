#!/usr/bin/env python3
"""A Lookalike node cut off from its PostgreSQL server by the network, then healed (run as root):

    partition_test.py BINARY [--cut 12] [--json]

Builds its own small network: a network namespace with one end of a veth pair (10.231.X.2/30; the other end,
10.231.X.1, stays in this namespace), a PostgreSQL server of its own listening on loopback and on 10.231.X.1,
node A on loopback and node B inside the namespace, both on that server. The partition is an nftables table inside
the namespace that silently drops B's traffic to and from PostgreSQL's port (no reset, no error: packets vanish,
as when a switch or a security group cuts a link); clients still reach B.

While the link is cut, clients keep uploading to both nodes and searching on B. Checked:
- no upload to B sent while cut off is acknowledged before the heal; each is refused with 503 and Retry-After;
- B answers every search (by image and by stored id) from memory throughout;
- B's /readyz turns 503 while it is cut off, and 200 again after the heal;
- after the heal B holds every upload A acknowledged within 5 s (the catch-up time is printed), and takes uploads
  again;
- at the end both nodes hold the same ids, among them every acknowledged upload.
Everything it created (namespace, veth pair, PostgreSQL, nodes, files) is removed at exit. Exits non-zero on any
failed check.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench"))
from tiny_png import blocks as png  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("binary")
parser.add_argument("--cut", type=float, default=12.0, help="seconds the link stays cut")
parser.add_argument("--catch-up-limit", type=float, default=5.0, help="seconds B may take to hold A's uploads after the heal")
args = parser.parse_args()

repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
tag = os.getpid() % 10000
subnet = 16 + os.getpid() % 200
namespace, host_end, inner_end = f"lkpart{tag}", f"lkp{tag}h", f"lkp{tag}n"
host_address, inner_address = f"10.231.{subnet}.1", f"10.231.{subnet}.2"
work = tempfile.mkdtemp(prefix="lookalike-partition-")
os.chmod(work, 0o755)  # PostgreSQL runs as its own user below it
processes = []
failures = []


def sh(*command, check=True):
    result = subprocess.run(command, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip()}")
    return result.stdout


def cleanup():
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    subprocess.run([f"{repository}/scripts/postgres", "stop", f"{work}/pg"], capture_output=True)
    subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
    subprocess.run(["ip", "link", "del", host_end], capture_output=True)
    shutil.rmtree(work, ignore_errors=True)


def request(node, method, path, body=None, timeout=30):
    """(status, body, headers); status 0 when the connection failed."""
    host, port = node
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request(method, path, body=body)
        response = connection.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    except OSError:
        return 0, b"", {}
    finally:
        connection.close()


def start_node(name, host, url, inside=False):
    os.makedirs(f"{work}/{name}")
    command = ["env", "LOOKALIKE_MODEL_WORKERS=1", f"LOOKALIKE_MODEL_DIR={os.environ.get('LOOKALIKE_MODEL_DIR', repository + '/models')}",
               "OPENBLAS_NUM_THREADS=1", args.binary, "serve", "--host", host, "--port", "0", "--database-url", url,
               "--db", f"{work}/{name}/local.sqlite"]
    if inside:
        command = ["ip", "netns", "exec", namespace] + command
    log = open(f"{work}/{name}.log", "w")
    processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        text = open(f"{work}/{name}.log").read()
        for line in text.splitlines():
            if "listening" in line and "port=" in line:
                port = int(line.split("port=")[1].split()[0].strip('",'))
                if request((host, port), "GET", "/readyz", timeout=2)[0] == 200:
                    return (host, port)
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not become ready:\n{open(f'{work}/{name}.log').read()[-3000:]}")


def ids_of(node):
    ids, after = set(), None
    while True:
        status, body, _ = request(node, "GET", "/v1/images?limit=1000" + (f"&after={after}" if after else ""), timeout=10)
        if status != 200:
            return None
        page = json.loads(body)
        ids.update(image["id"] for image in page["images"])
        after = page.get("next")
        if not after:
            return ids


def cut(on):
    if on:
        rules = (f"table inet lookalike_partition {{\n"
                 f"  chain output {{ type filter hook output priority 0; policy accept; ip daddr {host_address} tcp dport {pg_port} drop; }}\n"
                 f"  chain input {{ type filter hook input priority 0; policy accept; ip saddr {host_address} tcp sport {pg_port} drop; }}\n"
                 f"}}\n")
        subprocess.run(["ip", "netns", "exec", namespace, "nft", "-f", "-"], input=rules, text=True, check=True)
    else:
        sh("ip", "netns", "exec", namespace, "nft", "delete", "table", "inet", "lookalike_partition")


try:
    # The network: a namespace for node B, linked to this one by a veth pair.
    sh("ip", "netns", "add", namespace)
    sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", inner_end)
    sh("ip", "link", "set", inner_end, "netns", namespace)
    sh("ip", "addr", "add", f"{host_address}/30", "dev", host_end)
    sh("ip", "link", "set", host_end, "up")
    sh("ip", "netns", "exec", namespace, "ip", "addr", "add", f"{inner_address}/30", "dev", inner_end)
    sh("ip", "netns", "exec", namespace, "ip", "link", "set", inner_end, "up")
    sh("ip", "netns", "exec", namespace, "ip", "link", "set", "lo", "up")

    started = subprocess.run([f"{repository}/scripts/postgres", "start", f"{work}/pg"], capture_output=True, text=True,
                             env=dict(os.environ, POSTGRES_LISTEN=f"127.0.0.1,{host_address}"))
    if started.returncode != 0:
        raise RuntimeError(f"PostgreSQL did not start: {started.stderr.strip()[-2000:]}")
    url = started.stdout.strip()
    pg_port = int(url.split("@127.0.0.1:")[1].split("/")[0])
    node_a = start_node("a", "127.0.0.1", url)
    node_b = start_node("b", inner_address, url.replace("@127.0.0.1:", f"@{host_address}:"), inside=True)
    print(f"PostgreSQL on 127.0.0.1 and {host_address}:{pg_port}; node A {node_a[0]}:{node_a[1]}, "
          f"node B {node_b[0]}:{node_b[1]} in namespace {namespace}", flush=True)

    # Stored images both nodes hold before the cut.
    for n in range(12):
        status, body, _ = request(node_a, "PUT", f"/v1/images/seed-{n}", png(n))
        assert status == 201, (status, body[:200])
    deadline = time.monotonic() + 30
    while (ids_of(node_b) or set()) != {f"seed-{n}" for n in range(12)}:
        assert time.monotonic() < deadline, "node B did not follow node A's uploads before the cut"
        time.sleep(0.2)

    lock = threading.Lock()
    events = []          # (node, key, sent, answered, status, retry_after)
    reads = []           # (kind, sent, answered, status, found)
    ready = []           # (time, status of B's /readyz)
    stop_a, stop_all = threading.Event(), threading.Event()

    def uploader(node, name, stop):
        sequence = 0
        while not stop.is_set():
            key = f"{name}-{sequence}"
            sent = time.monotonic()
            status, _, headers = request(node, "PUT", f"/v1/images/{key}", png(hash(key) & 0xffffff))
            with lock:
                events.append((name, key, sent, time.monotonic(), status, headers.get("Retry-After")))
            sequence += 1
            if status != 201:
                time.sleep(0.1)

    def reader():
        query = png(3)
        while not stop_all.is_set():
            sent = time.monotonic()
            status, body, _ = request(node_b, "POST", "/v1/search?k=3", query)
            found = status == 200 and json.loads(body)["results"][0]["id"] == "seed-3"
            with lock:
                reads.append(("search", sent, time.monotonic(), status, found))
            sent = time.monotonic()
            status, body, _ = request(node_b, "GET", "/v1/images/seed-5/similar?k=3")
            found = status == 200 and len(json.loads(body)["results"]) == 3
            with lock:
                reads.append(("similar", sent, time.monotonic(), status, found))
            time.sleep(0.05)

    def watcher():
        while not stop_all.is_set():
            status = request(node_b, "GET", "/readyz", timeout=5)[0]
            with lock:
                ready.append((time.monotonic(), status))
            time.sleep(0.2)

    stop_b = threading.Event()
    threads = [threading.Thread(target=uploader, args=(node_a, "a", stop_a)), threading.Thread(target=uploader, args=(node_b, "b", stop_b)),
               threading.Thread(target=reader), threading.Thread(target=watcher)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    cut_at = time.monotonic()
    cut(True)
    print(f"link cut at +0.0 s for {args.cut:.0f} s", flush=True)
    time.sleep(args.cut)
    # The uploads stop before the heal (B's last one may still wait out its deadline), so what B must catch up
    # with is fixed; searches go on.
    stop_a.set()
    stop_b.set()
    threads[0].join()
    threads[1].join()

    def stats(node):
        status, body, _ = request(node, "GET", "/v1/stats", timeout=15)
        return json.loads(body) if status == 200 else None

    def follow_lag():
        status, body, _ = request(node_b, "GET", "/metrics", timeout=15)
        for line in body.decode(errors="replace").splitlines():
            if line.startswith("lookalike_follow_lag_seconds "):
                return float(line.split()[1])
        return None

    target = stats(node_a)
    lag_cut = follow_lag()
    heal_at = time.monotonic()
    cut(False)
    print(f"link healed at +{heal_at - cut_at:.1f} s", flush=True)
    # Caught up: B's index (memory) holds as many vectors as A's, up to the same change.
    caught_up = None
    deadline = heal_at + 30
    while time.monotonic() < deadline:
        held = stats(node_b)
        if held and held["sequence"] >= target["sequence"] and held["indexed"] == target["indexed"]:
            caught_up = time.monotonic() - heal_at
            break
        time.sleep(0.05)
    lag_healed = follow_lag()
    # Uploads to B again, until one is acknowledged, then a moment more.
    stop_b2 = threading.Event()
    again = threading.Thread(target=uploader, args=(node_b, "b2", stop_b2))
    again.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with lock:
            if any(node == "b2" and status == 201 for node, _, _, _, status, _ in events):
                break
        time.sleep(0.1)
    time.sleep(1)
    stop_b2.set()
    stop_all.set()
    for thread in threads[2:] + [again]:
        thread.join()

    # The checks.
    during = [e for e in events if e[0] == "b" and e[2] >= cut_at and e[3] < heal_at]
    wrongly_acknowledged = [e[1] for e in during if 200 <= e[4] < 300]
    refused = [e for e in during if e[4] == 503]
    without_retry_after = [e[1] for e in refused if not e[5]]
    other = sorted({e[4] for e in during if e[4] != 503 and not 200 <= e[4] < 300})
    b_after = [e for e in events if e[0] == "b2" and e[4] == 201]
    write_back = min(e[3] for e in b_after) - heal_at if b_after else None
    cut_reads = [r for r in reads if r[1] >= cut_at and r[2] < heal_at]
    failed_reads = [r for r in reads if r[3] != 200 or not r[4]]
    not_ready_during = [t - cut_at for t, status in ready if cut_at <= t < heal_at and status == 503]
    ready_after = [t - heal_at for t, status in ready if t > heal_at and status == 200]
    a_during = [e for e in events if e[0] == "a" and e[2] >= cut_at]
    print(f"B's lookalike_follow_lag_seconds: {lag_cut} just before the heal, {lag_healed} once caught up", flush=True)
    print(f"node B while cut off: {len(during)} uploads answered, {len(wrongly_acknowledged)} acknowledged, {len(refused)} refused with 503 "
          f"({len(without_retry_after)} without Retry-After), other statuses {other}; "
          f"{len(cut_reads)} searches answered, {sum(1 for r in cut_reads if r[3] == 200 and r[4])} right", flush=True)
    print(f"node A while B was cut off: {sum(1 for e in a_during if e[4] == 201)} of {len(a_during)} uploads acknowledged", flush=True)
    print(f"B's /readyz: first 503 at +{min(not_ready_during):.1f} s after the cut" if not_ready_during else "B's /readyz: never 503 while cut off", flush=True)
    print(f"after the heal: B's index matched A's ({target['indexed']} vectors, change {target['sequence']}) after {caught_up:.2f} s" if caught_up is not None
          else "after the heal: B did not catch up within 30 s", flush=True)
    print(f"after the heal: B acknowledged an upload {write_back:.2f} s after the heal; /readyz 200 after "
          f"{min(ready_after):.1f} s" if write_back is not None and ready_after else "after the heal: B took no upload / never ready", flush=True)

    # Both nodes hold the same ids, among them every acknowledged upload (once B's last writes reached A).
    acknowledged = {key for _, key, _, _, status, _ in events if status == 201} | {f"seed-{n}" for n in range(12)}
    deadline = time.monotonic() + 20
    while True:
        held_a, held_b = ids_of(node_a), ids_of(node_b)
        if held_a is not None and held_a == held_b and acknowledged <= held_a or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    print(f"at the end: node A {len(held_a or ())} ids, node B {len(held_b or ())}; equal {held_a == held_b}; "
          f"acknowledged uploads missing: {len(acknowledged - (held_a or set()))} on A, {len(acknowledged - (held_b or set()))} on B", flush=True)

    if wrongly_acknowledged:
        failures.append(f"B acknowledged uploads while cut off: {wrongly_acknowledged[:5]}")
    if not refused:
        failures.append("no upload to B was refused while it was cut off")
    if without_retry_after or other:
        failures.append(f"refusals without Retry-After {without_retry_after[:5]} or with other statuses {other}")
    if failed_reads:
        failures.append(f"{len(failed_reads)} searches on B failed or were wrong, e.g. {failed_reads[:3]}")
    if not cut_reads:
        failures.append("no search on B was answered while it was cut off")
    if not not_ready_during:
        failures.append("B's /readyz did not report the cut")
    if lag_cut is None or lag_cut < args.cut / 2 or lag_healed is None or lag_healed > 2:
        failures.append(f"/metrics did not show the cut: follow lag {lag_cut} s before the heal, {lag_healed} s after")
    if caught_up is None or caught_up > args.catch_up_limit:
        failures.append(f"B caught up after {caught_up} s (limit {args.catch_up_limit} s)")
    if target is None:
        failures.append("node A's statistics could not be read")
    if write_back is None or not ready_after:
        failures.append("B did not take uploads again after the heal")
    if held_a != held_b or not acknowledged <= (held_a or set()):
        failures.append("the nodes differ, or an acknowledged upload is missing")
    if not any(e[4] == 201 for e in a_during):
        failures.append("node A took no upload while B was cut off")
except Exception as error:  # noqa: BLE001 — report, clean up, fail
    failures.append(f"{type(error).__name__}: {error}")
    for name in ("a", "b"):
        if os.path.exists(f"{work}/{name}.log"):
            print(f"--- node {name.upper()}'s log, last lines:\n" + "".join(open(f"{work}/{name}.log").readlines()[-40:]))
finally:
    if failures:
        for name in ("b",):
            if os.path.exists(f"{work}/{name}.log"):
                print(f"--- node {name.upper()}'s log, last lines:\n" + "".join(open(f"{work}/{name}.log").readlines()[-40:]))
    cleanup()

if failures:
    print("partition test FAILED:\n- " + "\n- ".join(failures))
    sys.exit(1)
print("partition test: passed")
