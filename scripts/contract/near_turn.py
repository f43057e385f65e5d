#!/usr/bin/env python3
"""An independent client of "Additions of 2026-12 (second)" — Web Push, leaving the queue, SMS
and chat gateways — written from ../shared/PROTOCOL.md alone (no code of the project):

    scripts/contract/near_turn.py HUB_BINARY CENTRE.toml

Starts three hubs of HUB_BINARY on CENTRE.toml (a centre whose devices have the demo tokens
`demo-<device>`, counter 1 open to `nv01`/`1234` for service TP) with what this script adds to
it: one with `[notify.web_push]` and `[notify.sms]` (its gateway is this script), one with
`allow_insecure_endpoints` (its push service is this script, on loopback: every notice is
decrypted by RFC 8291 and its VAPID signature checked by RFC 8292), and one with neither.
Needs Python 3, `websockets` and `cryptography`. Exits 0 when every check passed.
"""
import asyncio
import base64
import http.client
import http.server
import json
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import websockets
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HUB, CENTRE = sys.argv[1], sys.argv[2]
CONTACT = "mailto:it@hcc.example.vn"
TOKEN = "sms-token-for-the-contract-check"
PHONE_TYPED, PHONE = "0912 345 678", "0912345678"
WAIT = 20
failures = []


def check(what, ok, detail=""):
    print(("ok    " if ok else "FAIL  ") + what + ("" if ok else f"  — {detail}"))
    if not ok:
        failures.append(what)


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ what the hubs send to

class Inbox(http.server.ThreadingHTTPServer):
    """Both the push service and the SMS gateway: every POST is kept, answered with the status
    its path asks for (`/gone/…` answers 410)."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.received = queue.Queue()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def base(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.put((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        status = 410 if self.path.startswith("/gone/") else 201
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


async def next_post(inbox, path_prefix):
    """The next POST whose path starts with `path_prefix` (others are put aside), or None."""
    deadline = time.monotonic() + WAIT
    aside = []
    try:
        while time.monotonic() < deadline:
            try:
                got = await asyncio.to_thread(inbox.received.get, True, 0.5)
            except queue.Empty:
                continue
            if got[0].startswith(path_prefix):
                return got
            aside.append(got)
        return None
    finally:
        for a in aside:
            inbox.received.put(a)


# ------------------------------------------------------------------ a hub

class Hub:
    def __init__(self, name, extra):
        self.dir = tempfile.mkdtemp(prefix=f"near-turn-{name}-")
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        config = os.path.join(self.dir, "centre.toml")
        with open(CENTRE, encoding="utf-8") as f:
            text = f.read()
        with open(config, "w", encoding="utf-8") as f:
            f.write(text + "\n" + extra)
        self.log = open(os.path.join(self.dir, "hub.log"), "wb")
        self.proc = subprocess.Popen(
            [HUB, "--config", config, "--db", os.path.join(self.dir, "hub.db"), "--create-db",
             "--listen", self.addr], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                if self.http("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise SystemExit(f"the hub {name} did not start: see {self.log.name}")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=WAIT)

    def http(self, method, path, body=None, raw=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        c.request(method, path, body=data,
                  headers={"Content-Type": "application/json"} if data is not None else {})
        r = c.getresponse()
        text = r.read().decode()
        try:
            return r.status, json.loads(text) if text else None
        except ValueError:
            return r.status, text

    async def device(self, role, dev):
        return await Device.open(self.addr, role, dev)


class Device:
    @staticmethod
    async def open(addr, role, dev):
        d = Device()
        d.ws = await websockets.connect(f"ws://{addr}/ws")
        d.dev = dev
        d.events = []
        await d.ws.send(json.dumps({"type": "hello", "protocol": 1, "role": role, "device": dev,
                                    "token": f"demo-{dev}"}))
        d.welcome = json.loads(await d.ws.recv())
        return d

    async def cmd(self, name, args=None):
        cid = f"{self.dev}:{uuid.uuid4()}"
        await self.ws.send(json.dumps({"type": "cmd", "id": cid, "cmd": name, "args": args or {}}))
        while True:
            m = json.loads(await asyncio.wait_for(self.ws.recv(), WAIT))
            if m.get("type") == "reply" and m.get("id") == cid:
                return m
            if m.get("type") == "event":
                self.events.append(m["event"])

    async def event(self, kind, ticket_id):
        for e in self.events:
            if e.get("kind") == kind and (e.get("ticket") or {}).get("id") == ticket_id:
                return e
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            m = json.loads(await asyncio.wait_for(self.ws.recv(), WAIT))
            if m.get("type") == "event":
                e = m["event"]
                if e.get("kind") == kind and (e.get("ticket") or {}).get("id") == ticket_id:
                    return e
        return None


def code(reply):
    return (reply.get("error") or {}).get("code")


def err(body):
    return (body or {}).get("error", {}).get("code") if isinstance(body, dict) else None


# ------------------------------------------------------------------ Web Push, as a browser

class Subscriber:
    """What a browser's PushManager holds: a P-256 key pair and an auth secret."""

    def __init__(self, endpoint):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        self.auth = os.urandom(16)
        self.endpoint = endpoint

    def json(self):
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": b64e(self.public), "auth": b64e(self.auth)}}

    def decrypt(self, body):
        """RFC 8291 with RFC 8188's aes128gcm header: salt, record size, the sender's key."""
        salt, rs, idlen = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        sender = body[21:21 + idlen]
        ciphertext = body[21 + idlen:]
        if idlen != 65 or len(ciphertext) > rs:
            raise ValueError(f"unexpected header: idlen {idlen}, rs {rs}")
        secret = self.key.exchange(
            ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender))
        ikm = HKDF(hashes.SHA256(), 32, self.auth,
                   b"WebPush: info\x00" + self.public + sender).derive(secret)
        cek = HKDF(hashes.SHA256(), 16, salt, b"Content-Encoding: aes128gcm\x00").derive(ikm)
        nonce = HKDF(hashes.SHA256(), 12, salt, b"Content-Encoding: nonce\x00").derive(ikm)
        padded = AESGCM(cek).decrypt(nonce, ciphertext, None)
        end = padded.rstrip(b"\x00")
        if not end.endswith(b"\x02"):
            raise ValueError("the last record's delimiter is missing")
        return json.loads(end[:-1].decode("utf-8"))


def vapid_problem(headers, public_key, origin):
    """None when `Authorization: vapid t=…, k=…` is a valid RFC 8292 signature, else why not."""
    auth = headers.get("authorization", "")
    if not auth.startswith("vapid "):
        return f"not vapid: {auth[:30]!r}"
    parts = dict(p.strip().split("=", 1) for p in auth[6:].split(","))
    if parts.get("k") != public_key:
        return "k is not the centre's key"
    head, claims, sig = parts.get("t", "").split(".")
    header = json.loads(b64d(head))
    body = json.loads(b64d(claims))
    if header.get("alg") != "ES256":
        return f"alg {header.get('alg')}"
    raw = b64d(sig)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64d(public_key))
    try:
        key.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                        int.from_bytes(raw[32:], "big")),
                   f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return "the signature does not verify"
    if body.get("aud") != origin:
        return f"aud {body.get('aud')} is not {origin}"
    if not 0 < body.get("exp", 0) - time.time() <= 24 * 3600 + 60:
        return f"exp {body.get('exp')} not within 24 h"
    if body.get("sub") != CONTACT:
        return f"sub {body.get('sub')}"
    return None


def push_headers_problem(headers):
    ttl = int(headers.get("ttl", "-1"))
    if not 0 <= ttl <= 3600:
        return f"TTL {ttl}"
    if headers.get("urgency") != "high":
        return f"Urgency {headers.get('urgency')}"
    if headers.get("content-encoding") != "aes128gcm":
        return f"Content-Encoding {headers.get('content-encoding')}"
    return None


# ------------------------------------------------------------------ the checks

async def issue(kiosk, service="TP", phone=None):
    args = {"service": service}
    if phone is not None:
        args["phone"] = phone
    return await kiosk.cmd("issue_ticket", args)


async def guarded_hub(gateway):
    hub = Hub("guarded", f"""
[notify]
near_ahead = 3
contact = "{CONTACT}"

[notify.web_push]
allow_insecure_endpoints = false

[notify.sms]
url = "{gateway.base}/send"
token_file = "{os.path.join(tempfile.gettempdir(), 'near-turn-sms-token')}"
""")
    try:
        status, body = hub.http("GET", "/push/key")
        key = b64d(body.get("public_key", "")) if status == 200 else b""
        check("GET /push/key: 200, a 65-byte uncompressed P-256 point",
              len(key) == 65 and key[0] == 4, f"{status} {body}")
        kiosk = await hub.device("kiosk", "kiosk-1")
        mine = (await issue(kiosk)).get("result", {}).get("ticket", {})
        track = mine.get("track")
        check("issue_ticket gives a track", bool(track), mine)
        good = Subscriber("https://93.184.216.34/push/one")
        for endpoint in ["http://93.184.216.34/push/x", "https://127.0.0.1/push/x",
                         "https://10.1.2.3/push/x", "https://192.168.1.20/push/x",
                         "https://169.254.169.254/latest", "https://[::1]/push/x",
                         "https://224.0.0.1/push/x", "https://localhost/push/x"]:
            s = Subscriber(endpoint)
            status, body = hub.http("POST", f"/t/{track}/push", s.json())
            check(f"POST push to {endpoint}: 403 endpoint_refused",
                  status == 403 and err(body) == "endpoint_refused", f"{status} {body}")
        short = good.json()
        short["keys"]["p256dh"] = b64e(os.urandom(20))
        status, body = hub.http("POST", f"/t/{track}/push", short)
        check("keys of the wrong length: 400 bad_request", status == 400 and err(body) == "bad_request",
              f"{status} {body}")
        status, body = hub.http("POST", f"/t/{track}/push", raw="{not json")
        check("a malformed body: 400 bad_request", status == 400 and err(body) == "bad_request",
              f"{status} {body}")
        status, body = hub.http("POST", "/t/no-such-track-0000000000/push", good.json())
        check("an unknown track: 404 not_found", status == 404 and err(body) == "not_found",
              f"{status} {body}")
        statuses = [hub.http("POST", f"/t/{track}/push",
                             Subscriber(f"https://93.184.216.34/push/{i}").json())[0]
                    for i in range(2)]
        status, body = hub.http("POST", f"/t/{track}/push",
                                Subscriber("https://93.184.216.34/push/third").json())
        check("two subscriptions 201, the third 429 limit_reached",
              statuses == [201, 201] and status == 429 and err(body) == "limit_reached",
              f"{statuses} then {status} {body}")
        status, _ = hub.http("DELETE", f"/t/{track}/push")
        again = hub.http("POST", f"/t/{track}/push", good.json())[0]
        check("DELETE: 204, and a new subscription is taken", status == 204 and again == 201,
              f"{status}, then {again}")

        # SMS: a malformed number is refused; a good one is told "near", then "called".
        reply = await issue(kiosk, phone="12345")
        check("issue_ticket with a malformed phone: bad_request", code(reply) == "bad_request", reply)
        clerk = await hub.device("counter", "counter-1")
        login = await clerk.cmd("login", {"counter": 1, "staff": "nv01", "pin": "1234"})
        check("a clerk logs in at counter 1", login.get("ok"), login)
        # The first ticket is served first, so that the phone's is called next.
        await clerk.cmd("call_next")
        await clerk.cmd("finish")
        texted = (await issue(kiosk, phone=PHONE_TYPED)).get("result", {}).get("ticket", {})
        check("issue_ticket with a phone: a ticket", bool(texted.get("number")), texted)
        check("the reply never shows the number", PHONE[1:] not in json.dumps(texted), texted)
        got = await next_post(gateway, "/send")
        near = json.loads(got[2]) if got else {}
        check("SMS near: to, kind, ticket, counter null, text",
              near.get("to") == PHONE and near.get("kind") == "near"
              and near.get("ticket") == texted.get("number") and near.get("counter") is None
              and bool(near.get("text")), near)
        check("SMS with the bearer token",
              got is not None and got[1].get("authorization") == f"Bearer {TOKEN}",
              got[1].get("authorization") if got else "nothing arrived")
        called = await clerk.cmd("call_next")
        check("the phone's ticket is called",
              called.get("result", {}).get("ticket", {}).get("id") == texted.get("id"), called)
        got = await next_post(gateway, "/send")
        sms = json.loads(got[2]) if got else {}
        check("SMS called with the counter",
              sms.get("kind") == "called" and sms.get("counter") == 1
              and sms.get("ticket") == texted.get("number"), sms)

        # Leaving the queue.
        board = await hub.device("display", "display-1")
        leaving = (await issue(kiosk)).get("result", {}).get("ticket", {})
        status, body = hub.http("POST", f"/t/{leaving.get('track')}/leave")
        check("POST leave: 200 and the ticket cancelled",
              status == 200 and (body or {}).get("status") == "cancelled", f"{status} {body}")
        event = await board.event("ticket_cancelled", leaving.get("id"))
        check('the board sees ticket_cancelled with "by": "citizen"',
              event is not None and event.get("by") == "citizen",
              (event or {}).get("by"))
        status, body = hub.http("POST", f"/t/{leaving.get('track')}/leave")
        check("leaving twice: 409 invalid_state", status == 409 and err(body) == "invalid_state",
              f"{status} {body}")
        status, body = hub.http("POST", f"/t/{texted.get('track')}/leave")
        check("leaving once called: 409 invalid_state",
              status == 409 and err(body) == "invalid_state", f"{status} {body}")
        status, body = hub.http("POST", "/t/no-such-track-0000000000/leave")
        check("leaving an unknown ticket: 404 not_found", status == 404 and err(body) == "not_found",
              f"{status} {body}")
        for d in (kiosk, clerk, board):
            await d.ws.close()
    finally:
        hub.stop()
    with open(os.path.join(hub.dir, "hub.log"), "rb") as f:
        log = f.read().decode("utf-8", "replace")
    check("the hub's log holds neither the number nor the token",
          PHONE not in log and PHONE_TYPED not in log and TOKEN not in log)


async def bench_hub(service_inbox):
    hub = Hub("bench", f"""
[notify]
near_ahead = 3
contact = "{CONTACT}"

[notify.web_push]
allow_insecure_endpoints = true
""")
    origin = service_inbox.base
    try:
        status, body = hub.http("GET", "/push/key")
        public_key = (body or {}).get("public_key", "")
        kiosk = await hub.device("kiosk", "kiosk-1")
        reply = await issue(kiosk, phone=PHONE)
        check("without [notify.sms] a phone is bad_request", code(reply) == "bad_request", reply)
        mine = (await issue(kiosk)).get("result", {}).get("ticket", {})
        phone = Subscriber(f"{origin}/push/{uuid.uuid4()}")
        gone = Subscriber(f"{origin}/gone/{uuid.uuid4()}")
        status = hub.http("POST", f"/t/{mine.get('track')}/push", phone.json())[0]
        check("a loopback endpoint is taken where allowed: 201", status == 201, status)

        async def notice(subscriber, what):
            got = await next_post(service_inbox, subscriber.endpoint[len(origin):])
            if got is None:
                check(f"{what}: a push arrives", False, "nothing within the wait")
                return {}
            _, headers, body = got
            problem = push_headers_problem(headers)
            check(f"{what}: TTL ≤ 3600, Urgency high, aes128gcm", problem is None, problem)
            problem = vapid_problem(headers, public_key, origin)
            check(f"{what}: VAPID signed by the centre's key for this origin", problem is None,
                  problem)
            try:
                return subscriber.decrypt(body)
            except Exception as e:  # noqa: BLE001 — any failure to decrypt is the finding
                check(f"{what}: decrypts by RFC 8291", False, repr(e))
                return {}

        near = await notice(phone, "near")
        check("near: kind, ticket, service, ahead, counter null, title and body",
              near.get("kind") == "near" and near.get("ticket") == mine.get("number")
              and near.get("service") == "TP" and isinstance(near.get("ahead"), int)
              and near.get("ahead") <= 3 and near.get("counter") is None
              and bool(near.get("title")) and bool(near.get("body")), near)
        status = hub.http("POST", f"/t/{mine.get('track')}/push", gone.json())[0]
        check("a second subscription: 201", status == 201, status)
        gone_near = await next_post(service_inbox, gone.endpoint[len(origin):])
        check("a subscription made when near gets near at once", gone_near is not None)

        clerk = await hub.device("counter", "counter-1")
        await clerk.cmd("login", {"counter": 1, "staff": "nv01", "pin": "1234"})
        await clerk.cmd("call_next")
        called = await notice(phone, "called")
        check("called: with the counter", called.get("kind") == "called"
              and called.get("counter") == 1 and called.get("ticket") == mine.get("number"), called)
        await clerk.cmd("recall")
        recalled = await notice(phone, "recalled")
        check("recalled: with the counter", recalled.get("kind") == "recalled"
              and recalled.get("counter") == 1, recalled)
        # The endpoint that answered 410 for "near" was deleted: it heard nothing of the calls.
        stray = [p for p, _, _ in list(service_inbox.received.queue) if p.startswith("/gone/")]
        check("an endpoint that answered 410 is sent nothing more", stray == [], stray)
        # A second call of "near" is never made: the next push is not near.
        await clerk.cmd("start_serving")
        await clerk.cmd("finish")
        status, body = hub.http("POST", f"/t/{mine.get('track')}/push",
                                Subscriber(f"{origin}/push/late").json())
        check("a ticket that ended takes no subscription: 404 not_found",
              status == 404 and err(body) == "not_found", f"{status} {body}")
        for d in (kiosk, clerk):
            await d.ws.close()
    finally:
        hub.stop()


def plain_hub():
    hub = Hub("plain", "")
    try:
        status, _ = hub.http("GET", "/push/key")
        check("without [notify.web_push]: GET /push/key 404", status == 404, status)
    finally:
        hub.stop()


async def main():
    with open(os.path.join(tempfile.gettempdir(), "near-turn-sms-token"), "w") as f:
        f.write(TOKEN + "\n")
    gateway = Inbox()
    push_service = Inbox()
    await guarded_hub(gateway)
    await bench_hub(push_service)
    plain_hub()
    print(f"\n{len(failures)} failed" if failures else "\nall passed")
    sys.exit(1 if failures else 0)


asyncio.run(main())
