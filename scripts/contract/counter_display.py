#!/usr/bin/env python3
"""An independent client of the counter_display role, written from ../shared/PROTOCOL.md alone
(no code of the project), run against a hub binary serving the demo centre:

    scripts/contract/counter_display.py 127.0.0.1:7878

Needs Python 3 and `websockets` (pip install websockets). Exits 0 when every check passed.
"""
import asyncio
import json
import sys
import uuid

import websockets

ADDR = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:7878"
failures = []


def check(what, ok, detail=""):
    print(("ok    " if ok else "FAIL  ") + what + ("" if ok else f"  — {detail}"))
    if not ok:
        failures.append(what)


class Device:
    def __init__(self, ws, welcome):
        self.ws, self.welcome, self.events = ws, welcome, []

    @classmethod
    async def open(cls, role, device, token):
        ws = await websockets.connect(f"ws://{ADDR}/ws")
        await ws.send(json.dumps({"type": "hello", "protocol": 1, "role": role,
                                  "device": device, "token": token}))
        return cls(ws, json.loads(await ws.recv()))

    async def cmd(self, name, **args):
        cid = f"{uuid.uuid4()}"
        await self.ws.send(json.dumps({"type": "cmd", "id": cid, "cmd": name, "args": args}))
        while True:
            msg = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
            if msg.get("type") == "event":
                self.events.append(msg)
            if msg.get("type") == "reply" and msg.get("id") == cid:
                return msg

    async def event(self, kind, pred=lambda e: True):
        for e in self.events:
            if e["event"]["kind"] == kind and pred(e["event"]):
                return e["event"]
        while True:
            msg = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
            if msg.get("type") == "event":
                self.events.append(msg)
                if msg["event"]["kind"] == kind and pred(msg["event"]):
                    return msg["event"]


def code(reply):
    return None if reply.get("ok") else reply.get("error", {}).get("code")


async def main():
    pad1 = await Device.open("counter_display", "pad-1", "demo-pad-1")
    check("pad-1 is welcomed", pad1.welcome.get("type") == "welcome", pad1.welcome)
    snap = pad1.welcome.get("snapshot", {})
    check("snapshot has the centre", "center" in snap, list(snap))
    counters = snap.get("counters", [])
    check("snapshot has counter 1", any(c.get("number") == 1 for c in counters), counters)
    values = sorted(r.get("value") for r in snap.get("ratings", []))
    check("rating scale 1–4 with names",
          values == [1, 2, 3, 4] and all(r.get("name_vi") and r.get("name_en")
                                         for r in snap.get("ratings", [])), snap.get("ratings"))
    reasons = snap.get("rating_reasons", [])
    check("rating reasons with ids and names",
          reasons and all(r.get("id") and r.get("name_vi") and r.get("name_en") for r in reasons),
          reasons)
    reason = reasons[0]["id"] if reasons else "wait"

    bad = await Device.open("counter_display", "pad-1", "wrong-token")
    check("a wrong token is unauthorized", bad.welcome.get("code") == "unauthorized", bad.welcome)

    for name, args in [("issue_ticket", {"service": "TP"}), ("call_next", {}),
                       ("cancel_ticket", {"ticket": 1})]:
        r = await pad1.cmd(name, **args)
        check(f"counter_display may not {name}", code(r) == "forbidden", r)
    r = await pad1.cmd("device_status", status="ok")
    check("counter_display may send device_status", r.get("ok") is True, r)

    kiosk = await Device.open("kiosk", "kiosk-1", "demo-kiosk-1")
    clerk = await Device.open("counter", "counter-1", "demo-counter-1")
    clerk2 = await Device.open("counter", "counter-2", "demo-counter-2")
    pad2 = await Device.open("counter_display", "pad-2", "demo-pad-2")
    r = await clerk.cmd("login", counter=1, staff="nv01", pin="1234")
    check("clerk logs in at counter 1", r.get("ok") is True, r)
    r = await clerk2.cmd("login", counter=2, staff="nv02", pin="1234")
    check("clerk logs in at counter 2", r.get("ok") is True, r)
    # Counters may hold tickets from earlier runs: finish whatever they have.
    for c in (clerk, clerk2):
        await c.cmd("finish")

    async def serve(c):
        t = (await kiosk.cmd("issue_ticket", service="TP"))["result"]["ticket"]
        while True:
            r = await c.cmd("call_next")
            if not r.get("ok"):
                raise SystemExit(f"call_next failed: {r}")
            called = r["result"]["ticket"]
            await c.cmd("start_serving")
            if called["id"] == t["id"]:
                return called
            await c.cmd("finish")

    t1 = await serve(clerk)
    r = await pad1.cmd("rate", ticket=t1["id"], rating=4)
    check("a ticket still being served cannot be rated", code(r) == "invalid_state", r)
    r = await clerk.cmd("finish", rating=4)
    check("the clerk's finish with a rating is forbidden", code(r) == "forbidden", r)
    r = await clerk.cmd("finish")
    check("the clerk's finish without a rating works", r.get("ok") is True, r)
    r = await clerk.cmd("rate", ticket=t1["id"], rating=4)
    check("the clerk's own rate is forbidden", code(r) == "forbidden", r)
    r = await pad2.cmd("rate", ticket=t1["id"], rating=4)
    check("another counter's display: forbidden", code(r) == "forbidden", r)
    r = await pad1.cmd("rate", ticket=t1["id"], rating=2, reasons=["no-such-reason"])
    check("an unknown reason: bad_request", code(r) == "bad_request", r)
    r = await pad1.cmd("rate", ticket=t1["number"], rating=2, reasons=[reason])
    check("the citizen rates by number with a reason", r.get("ok") is True and
          r.get("result", {}).get("ticket", {}).get("id") == t1["id"], r)
    ev = await pad1.event("ticket_rated", lambda e: e.get("ticket", {}).get("id") == t1["id"])
    check("ticket_rated: rating, reasons, source citizen",
          ev.get("rating") == 2 and ev.get("reasons") == [reason] and ev.get("source") == "citizen",
          ev)
    r = await pad1.cmd("rate", ticket=t1["id"], rating=4)
    check("a second rating: invalid_state", code(r) == "invalid_state", r)
    r = await pad1.cmd("rate", ticket=t1["id"], rating=5)
    check("a rating of 5: bad_request", code(r) == "bad_request", r)

    t2 = await serve(clerk)
    await clerk.cmd("finish")
    r = await pad1.cmd("rate", ticket=t2["id"], rating=4)
    ev = await pad1.event("ticket_rated", lambda e: e.get("ticket", {}).get("id") == t2["id"])
    check("a good rating without reasons: an empty list",
          r.get("ok") is True and ev.get("reasons") == [] and ev.get("source") == "citizen", ev)

    for d in (pad1, pad2, kiosk, clerk, clerk2, bad):
        await d.ws.close()
    print(f"\n{len(failures)} failed" if failures else "\nall checks passed")
    sys.exit(1 if failures else 0)


asyncio.run(main())
