#!/usr/bin/env python3
"""A technician's run of docs/OPERATIONS.md "Two hub PCs" and docs/INSTALL.md section 9, with the
release binary, on one machine (two hubs on two loopback ports, each with its own database):

    scripts/contract/standby.py target/release/hub assets/demo-center.toml

Sets the pair up as INSTALL.md says (one secret, [replication] on each side, `hub standby` on the
second), issues tickets as a kiosk written from ../shared/PROTOCOL.md alone, kills the primary
(SIGKILL), promotes the standby with `hub promote` as OPERATIONS.md tells a technician on the
phone, retries the kiosk's presses on the new primary, restarts the old primary (it must refuse),
re-joins it with `hub standby --resync`, asks `hub doctor`, and finally shows that a standby which
missed tickets is not promoted without --force. Needs Python 3 and `websockets`. Exits 0 when
every check passed.
"""
import asyncio
import datetime as dt
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import websockets

HUB = sys.argv[1] if len(sys.argv) > 1 else "target/release/hub"
DEMO = sys.argv[2] if len(sys.argv) > 2 else "assets/demo-center.toml"
failures = []


def check(what, ok, detail=""):
    print(("ok    " if ok else "FAIL  ") + what + ("" if ok else f"  — {detail}"))
    if not ok:
        failures.append(what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def health(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/healthz")
        r = c.getresponse()
        return r.status, json.loads(r.read().decode())
    except (OSError, ValueError):
        return None, {}


def wait_for(what, predicate, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    check(what, False, "not within %d s" % seconds)
    return False


def run(*args):
    r = subprocess.run([HUB, *args], capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


class Pc:
    """One hub PC: its configuration, database, port and running hub."""

    def __init__(self, name, folder, port):
        self.name, self.port, self.proc = name, port, None
        self.config = os.path.join(folder, f"{name}.toml")
        self.db = os.path.join(folder, f"{name}.db")
        self.log = open(os.path.join(folder, f"{name}.log"), "w")

    def start(self, create=False):
        args = [HUB, "--config", self.config, "--db", self.db, "--listen", f"127.0.0.1:{self.port}"]
        if create:
            args.append("--create-db")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        wait_for(f"{self.name} answers /healthz", lambda: health(self.port)[0] is not None)

    def kill(self):
        if self.proc:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None


async def kiosk(port, term=None, proof=None):
    ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws")
    hello = {"type": "hello", "protocol": 1, "role": "kiosk", "device": "kiosk-1",
             "token": "demo-kiosk-1"}
    if term:
        hello.update({"term": term, "term_proof": proof})
    await ws.send(json.dumps(hello))
    return ws, json.loads(await ws.recv())


async def issue(ws, cid, service="TP"):
    await ws.send(json.dumps({"type": "cmd", "id": cid, "cmd": "issue_ticket",
                              "args": {"service": service}}))
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if msg.get("type") == "reply" and msg.get("id") == cid:
            return msg


def number(reply):
    return ((reply.get("result") or {}).get("ticket") or {}).get("number")


async def main():
    folder = tempfile.mkdtemp(prefix="hang-doi-pair-")
    # INSTALL.md §9, step 1: one secret, the same file on both PCs.
    secret = os.path.join(folder, "replication.secret")
    with open(secret, "w") as f:
        f.write(secrets.token_hex(24) + "\n")
    # The demo centre, its service day starting twelve hours from now (no day turns mid-run).
    start = (dt.datetime.now(dt.timezone(dt.timedelta(hours=7))) + dt.timedelta(hours=12))
    demo = open(DEMO).read().replace('day_starts_at = "00:00"',
                                     f'day_starts_at = "{start:%H:%M}"', 1)
    a, b = Pc("primary", folder, free_port()), Pc("standby", folder, free_port())
    # Step 2: [replication] on each, naming the other.
    for pc, other in ((a, b), (b, a)):
        with open(pc.config, "w") as f:
            f.write(demo + f'\n[replication]\npeer = "ws://127.0.0.1:{other.port}"\n'
                           f'token_file = "{secret}"\n')
    # Step 3: the standby's database, then both hubs.
    code, out = run("standby", "--config", b.config, "--db", b.db)
    check("hub standby makes the second PC's database a standby's", code == 0, out)
    a.start(create=True)
    b.start()
    wait_for("the primary's /healthz: standby in step",
             lambda: health(a.port)[1].get("replication", {}).get("standby", {}).get("sync"))
    st, hb = health(b.port)
    check("the standby's /healthz: 200 \"standby\"", st == 200 and hb.get("status") == "standby", hb)

    # A kiosk issues tickets on the primary.
    ws, welcome = await kiosk(a.port)
    check("the primary welcomes the kiosk", welcome.get("type") == "welcome", welcome)
    issued = {}
    for i in range(30):
        cid = f"kiosk-1:{uuid.uuid4()}"
        issued[cid] = number(await issue(ws, cid))
    check("30 tickets issued", all(issued.values()), issued)
    await ws.close()
    # The standby refuses kiosks, naming the primary.
    ws, refused = await kiosk(b.port)
    check("the standby refuses a kiosk with not_primary naming the primary",
          refused.get("code") == "not_primary" and str(a.port) in refused.get("message", ""), refused)

    # OPERATIONS.md: the primary PC dies; the technician promotes the standby.
    code, out = run("promote", "--config", b.config, "--hub", f"ws://127.0.0.1:{b.port}")
    check("hub promote while the primary still serves is refused",
          code != 0 and "still serves" in out, out)
    a.kill()
    code, out = run("promote", "--config", b.config, "--hub", f"ws://127.0.0.1:{b.port}")
    check("hub promote on the standby: promoted, term 1", code == 0 and "term 1" in out, out)
    ws, welcome = await kiosk(b.port)
    check("the new primary welcomes the kiosk, with term 1 and its proof",
          welcome.get("term") == 1 and bool(welcome.get("term_proof")), welcome)
    same = [number(await issue(ws, cid)) == n for cid, n in issued.items()]
    check("every press retried on the new primary gets its original ticket", all(same), same)
    fresh = number(await issue(ws, f"kiosk-1:{uuid.uuid4()}"))
    check("a new press gets a number never given before", fresh and fresh not in issued.values(),
          fresh)
    term, proof = welcome.get("term"), welcome.get("term_proof")
    await ws.close()

    # The old primary comes back: it must not issue.
    a.start()
    wait_for("the old primary says it was replaced", lambda: health(a.port)[0] == 503)
    st, ha = health(a.port)
    check("the old primary's /healthz: 503 \"replaced\"", ha.get("status") == "replaced", ha)
    ws, refused = await kiosk(a.port, term, proof)
    check("the old primary refuses kiosks", refused.get("code") == "not_primary", refused)
    # Re-joined as the standby.
    a.kill()
    code, out = run("standby", "--config", a.config, "--db", a.db)
    check("hub standby without --resync keeps an old primary's log", code != 0, out)
    code, out = run("standby", "--resync", "--config", a.config, "--db", a.db)
    check("hub standby --resync keeps the old database aside",
          code == 0 and any(n.startswith("primary.db.replaced-") for n in os.listdir(folder)), out)
    a.start()
    wait_for("the re-joined standby is in step",
             lambda: health(b.port)[1].get("replication", {}).get("standby", {}).get("sync"))
    code, out = run("doctor", "--listen", "127.0.0.1:0", "--config", a.config, "--db", a.db)
    check("hub doctor on the re-joined PC: follows the primary, 0 events behind",
          "0 events behind" in out, out)
    code, out = run("backup", os.path.join(folder, "backups"), "--db", a.db)
    check("the nightly backup does nothing on the standby",
          "the primary makes the backups" in out, out)

    # A standby that missed tickets is not promoted quietly.
    a.kill()
    ws, _ = await kiosk(b.port)
    for _ in range(3):
        await issue(ws, f"kiosk-1:{uuid.uuid4()}")
    await ws.close()
    b.kill()
    a.start()
    code, out = run("promote", "--config", a.config, "--hub", f"ws://127.0.0.1:{a.port}")
    check("a standby that missed tickets is refused with a WARNING",
          code != 0 and "WARNING" in out and "behind" in out, out)
    a.kill()
    print(f"\n{len(failures)} failed" if failures else "\nall checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
