#!/usr/bin/env python3
"""Faults under load on the high-availability cluster (scripts/ha-cluster must be running):

    ha_fault_test.py [--rounds 3] [--clients 4] [--settle 20]

Several clients upload distinct ids through the nodes' HAProxy without pause. Meanwhile: the PostgreSQL leader
(Patroni and its postmaster) is killed with SIGKILL, Patroni promotes the synchronous standby, the old leader is
started again and rejoins (pg_rewind); ROUNDS times. Then one Lookalike node and one etcd member are killed and
started again. Afterwards every acknowledged upload must be on every node, an upload that was not acknowledged
may be present only whole, and all nodes must hold the same ids. Prints each failover's write unavailability
(from the kill to the first acknowledged upload after it), the uploads acknowledged and lost, and exits non-zero
on any loss or difference. Then measures uploads/s with synchronous_mode on and off in alternating windows.
"""
import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench"))
from tiny_png import blocks as png  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--rounds", type=int, default=3)
parser.add_argument("--clients", type=int, default=4)
parser.add_argument("--settle", type=float, default=20.0, help="seconds of load between faults")
parser.add_argument("--sync-windows", type=int, default=2, help="windows per mode for the synchronous-commit cost")
args = parser.parse_args()

state = os.environ.get("LOOKALIKE_HA_DIR", "/tmp/lookalike-ha")
base = int(os.environ.get("LOOKALIKE_HA_PORT_BASE", "24000"))
members = int(open(f"{state}/members").read())
http_port = int(open(f"{state}/http.port").read())
node_names = sorted(n[:-5] for n in os.listdir(state) if n.startswith("node") and n.endswith(".port"))
repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def request(port, method, path, body=None, timeout=30):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def leader():
    for m in range(1, members + 1):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", base + 30 + m, timeout=2)
            connection.request("GET", "/primary")
            if connection.getresponse().status == 200:
                return m
        except OSError:
            pass
    return None


def wait_for_synchronous_standby(timeout=180):
    """Until the leader names a streaming synchronous standby: a round starts from a cluster that can fail over
    (Patroni promotes only the standby it knows to hold every commit)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = leader()
        if m:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", base + 30 + m, timeout=2)
                connection.request("GET", "/patroni")
                status = json.loads(connection.getresponse().read())
                if any(r.get("sync_state") == "sync" and r.get("state") == "streaming" for r in status.get("replication", [])):
                    return time.monotonic()
            except (OSError, ValueError):
                pass
        time.sleep(0.5)
    raise SystemExit("no synchronous standby within the time limit")


def pid_of(name):
    try:
        return int(open(f"{state}/{name}.pid").read())
    except (OSError, ValueError):
        return None


def patroni_pid(member):
    # Patroni itself (python), not the runuser that started it as the postgres user.
    out = subprocess.run(["pgrep", "-f", f"python3 .*patroni {state}/pg{member}.yml"], capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else None


def postmaster_pid(member):
    try:
        return int(open(f"{state}/pg{member}/data/postmaster.pid").readline())
    except (OSError, ValueError):
        return None


def relaunch(name, command):
    log = open(f"{state}/{name}.log", "a")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    open(f"{state}/{name}.pid", "w").write(str(process.pid))
    return process


# The load: clients PUT fresh ids; every attempt and acknowledgement is kept with its time.
acknowledged, attempted, lock = {}, {}, threading.Lock()
stop = threading.Event()
ack_times = []
ack_count = [0]


def client(number):
    sequence = 0
    while not stop.is_set():
        key = f"c{number}-{sequence}"
        seed = number * 1_000_000 + sequence
        sequence += 1
        with lock:
            attempted[key] = seed
        started = time.monotonic()
        try:
            status, _ = request(http_port, "PUT", f"/v1/images/{key}", png(seed))
        except OSError:
            status = 0
        if 200 <= status < 300:
            with lock:
                acknowledged[key] = seed
                ack_times.append((started, time.monotonic()))
                ack_count[0] += 1
        elif status not in (0, 502, 503):
            print(f"unexpected status {status} for {key}", file=sys.stderr)
        if status != 201:
            time.sleep(0.05)


def first_ack_after(moment, timeout=120):
    """Seconds from `moment` to the first acknowledgement of an upload sent after it (one in flight at the
    kill may still be acknowledged: its commit had reached the old leader and its standby)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with lock:
            later = [done for started, done in ack_times if started > moment]
        if later:
            return min(later) - moment
        time.sleep(0.05)
    return None


threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(args.clients)]
for thread in threads:
    thread.start()
time.sleep(args.settle)
gaps = []
for round_ in range(1, args.rounds + 1):
    wait_for_synchronous_standby()
    time.sleep(2)  # a moment of load with the standby in sync
    old = leader()
    assert old, "no leader before the kill"
    patroni, postmaster = patroni_pid(old), postmaster_pid(old)
    moment = time.monotonic()
    for pid in (patroni, postmaster):
        if pid:
            os.kill(pid, signal.SIGKILL)
    gap = first_ack_after(moment)
    new = leader()
    gaps.append(gap)
    print(f"failover {round_}: pg{old} killed, pg{new} leads; writes acknowledged again after {gap:.1f} s" if gap is not None
          else f"failover {round_}: no upload acknowledged within 120 s", flush=True)
    prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    relaunch(f"patroni{old}", prefix + ["patroni", f"{state}/pg{old}.yml"])
    time.sleep(args.settle)

# One Lookalike node killed and started again (its log names the port it takes: the same one).
victim = node_names[0]
os.kill(pid_of(victim), signal.SIGKILL)
port = int(open(f"{state}/{victim}.port").read())
url = open(f"{state}/url").read().strip()
binary = os.environ.get("LOOKALIKE_BINARY") or subprocess.run(
    ["swift", "build", "-c", "release", "--show-bin-path"], capture_output=True, text=True, cwd=repository).stdout.strip() + "/lookalike"
models = os.environ.get("LOOKALIKE_MODEL_DIR", f"{repository}/models")
relaunch(victim, ["env", "LOOKALIKE_MODEL_WORKERS=1", f"LOOKALIKE_MODEL_DIR={models}", binary, "serve", "--host", "127.0.0.1", "--port", str(port),
                  "--database-url", url, "--db", f"{state}/{victim}/local.sqlite"])
print(f"{victim} killed and started again on port {port}", flush=True)
time.sleep(args.settle)

# One etcd member killed (two keep the quorum), then started again.
etcd = pid_of("etcd3")
os.kill(etcd, signal.SIGKILL)
print("etcd member 3 killed", flush=True)
time.sleep(args.settle)
cluster = ",".join(f"e{e}=http://127.0.0.1:{base + 10 + e}" for e in (1, 2, 3))
relaunch("etcd3", ["etcd", "--name", "e3", "--data-dir", f"{state}/etcd3", "--listen-client-urls", f"http://127.0.0.1:{base + 3}",
                   "--advertise-client-urls", f"http://127.0.0.1:{base + 3}", "--listen-peer-urls", f"http://127.0.0.1:{base + 13}",
                   "--initial-advertise-peer-urls", f"http://127.0.0.1:{base + 13}", "--initial-cluster", cluster,
                   "--initial-cluster-state", "existing", "--initial-cluster-token", "lookalike-ha"])
time.sleep(args.settle / 2)
stop.set()
for thread in threads:
    thread.join(timeout=60)

# Every node's ids, once they have caught up (each answers /readyz only when caught up).
time.sleep(5)


def ids_of(port):
    ids, after = set(), None
    while True:
        status, body = request(port, "GET", "/v1/images?limit=1000" + (f"&after={after}" if after else ""))
        assert status == 200, (status, body[:200])
        page = json.loads(body)
        ids.update(image["id"] for image in page["images"])
        after = page.get("next")
        if not after:
            return ids


holdings = {name: ids_of(int(open(f"{state}/{name}.port").read())) for name in node_names}
with lock:
    acked, tried = dict(acknowledged), dict(attempted)
lost = {name: sorted(set(acked) - ids)[:5] for name, ids in holdings.items() if set(acked) - ids}
equal = len({frozenset(ids) for ids in holdings.values()}) == 1
unacknowledged_present = sorted(set.union(*holdings.values()) - set(acked))
broken = []
for key in unacknowledged_present:
    status, _ = request(int(open(f"{state}/{node_names[-1]}.port").read()), "GET", f"/v1/images/{key}/thumbnail")
    if status != 200:
        broken.append(key)
print(f"uploads: {len(tried)} attempted, {len(acked)} acknowledged; present on every node: "
      f"{all(set(acked) <= ids for ids in holdings.values())}; nodes hold equal id sets: {equal} "
      f"({', '.join(f'{n} {len(i)}' for n, i in holdings.items())}); not acknowledged but stored (whole): "
      f"{len(unacknowledged_present) - len(broken)}, broken: {len(broken)}")
valid = [g for g in gaps if g is not None]
if valid:
    print(f"write unavailability per failover: median {statistics.median(valid):.1f} s, max {max(valid):.1f} s "
          f"({', '.join(f'{g:.1f}' for g in valid)})")
failed = bool(lost) or not equal or bool(broken) or len(valid) < len(gaps)
if lost:
    print(f"LOST acknowledged uploads: {lost}")


# The cost of synchronous commit: uploads/s in alternating windows with synchronous_mode on and off.
def set_synchronous(on):
    m = leader()
    connection = http.client.HTTPConnection("127.0.0.1", base + 30 + m, timeout=10)
    connection.request("PATCH", "/config", body=json.dumps({"synchronous_mode": on}), headers={"Content-Type": "application/json"})
    assert connection.getresponse().status == 200
    time.sleep(5)  # loop_wait and a reload


def window(seconds=15):
    stop.clear()
    with lock:
        before = ack_count[0]
    window.number += 1
    workers = [threading.Thread(target=client, args=(1000 * window.number + n,), daemon=True) for n in range(args.clients)]
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join(timeout=60)
    with lock:
        return (ack_count[0] - before) / seconds


window.number = 0
rates = {True: [], False: []}
for _ in range(args.sync_windows):
    for mode in (False, True):
        set_synchronous(mode)
        rates[mode].append(window())
        print(f"synchronous_mode {'on ' if mode else 'off'}: {rates[mode][-1]:.1f} uploads/s", flush=True)
print(f"synchronous / asynchronous commit, uploads/s: {statistics.median(rates[True]):.1f} / {statistics.median(rates[False]):.1f}"
      f" = {statistics.median(rates[True]) / statistics.median(rates[False]):.3f}")
set_synchronous(True)
sys.exit(1 if failed else 0)
