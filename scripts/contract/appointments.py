#!/usr/bin/env python3
"""An independent client of the appointments section, written from ../shared/PROTOCOL.md alone
(no code of the project), against a hub binary serving the demo centre on the system clock:

    scripts/contract/appointments.py 127.0.0.1:7878 HUB.db HUB.log

Books, fills a slot, reaches the per-phone limit, checks in twice from two kiosks (one ticket),
cancels, and finally searches the database file and the log for the phone numbers it used.
Needs Python 3 and `websockets`. Exits 0 when every check passed.
"""
import asyncio
import datetime as dt
import http.client
import json
import re
import sys
import uuid

import websockets

ADDR = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:7878"
DB = sys.argv[2] if len(sys.argv) > 2 else None
LOG = sys.argv[3] if len(sys.argv) > 3 else None
HOST, PORT = ADDR.split(":")
failures = []
PHONES = set()


def check(what, ok, detail=""):
    print(("ok    " if ok else "FAIL  ") + what + ("" if ok else f"  — {detail}"))
    if not ok:
        failures.append(what)


def http_json(method, path, body=None):
    c = http.client.HTTPConnection(HOST, int(PORT), timeout=10)
    data = json.dumps(body) if body is not None else None
    c.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
    r = c.getresponse()
    text = r.read().decode()
    try:
        return r.status, json.loads(text)
    except ValueError:
        return r.status, text


def err(body):
    return body.get("error", {}).get("code") if isinstance(body, dict) else None


def book(service, start, phone):
    PHONES.add(phone)
    return http_json("POST", "/api/appointments", {"service": service, "start": start, "phone": phone})


async def device(role, dev):
    ws = await websockets.connect(f"ws://{ADDR}/ws")
    await ws.send(json.dumps({"type": "hello", "protocol": 1, "role": role, "device": dev,
                              "token": f"demo-{dev}"}))
    welcome = json.loads(await ws.recv())
    return ws, welcome


async def cmd(ws, name, **args):
    cid = str(uuid.uuid4())
    await ws.send(json.dumps({"type": "cmd", "id": cid, "cmd": name, "args": args}))
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if msg.get("type") == "reply" and msg.get("id") == cid:
            return msg


async def main():
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).date()
    tomorrow = today + dt.timedelta(days=1)

    # Slots.
    st, body = http_json("GET", f"/api/appointments/slots?service=TP&date={tomorrow}")
    slots = body.get("slots", []) if isinstance(body, dict) else []
    check("slots of tomorrow: 200, in order, with free places",
          st == 200 and body.get("service") == "TP" and body.get("date") == str(tomorrow)
          and slots and all("start" in s and "end" in s and "free" in s for s in slots)
          and [s["start"] for s in slots] == sorted(s["start"] for s in slots), body)
    st, body = http_json("GET", f"/api/appointments/slots?service=NOPE&date={tomorrow}")
    check("unknown service: 404 unknown_service", st == 404 and err(body) == "unknown_service", body)
    st, body = http_json("GET", "/api/appointments/slots?service=TP")
    check("missing date: 400 bad_request", st == 400 and err(body) == "bad_request", body)
    st, body = http_json("GET", f"/api/appointments/slots?service=TP&date={today + dt.timedelta(days=40)}")
    check("a day outside the window: 200 and no slots", st == 200 and body.get("slots") == [], body)
    st, today_slots = http_json("GET", f"/api/appointments/slots?service=TP&date={today}")
    now = dt.datetime.now(dt.timezone.utc)
    check("today's slots have not started",
          all(dt.datetime.fromisoformat(s["start"]) > now for s in today_slots.get("slots", [])),
          today_slots)

    # Booking.
    start = slots[4]["start"]
    st, body = book("TP", start, "12345")
    check("a phone that is not Vietnamese: 400", st == 400 and err(body) == "bad_request", body)
    off = start[:14] + "07" + start[16:]
    st, body = book("TP", off, "0912000001")
    check("not a slot's start: 409 not_bookable", st == 409 and err(body) == "not_bookable", body)
    st, body = book("TP", start, "0912000001")
    code = body.get("code", "") if isinstance(body, dict) else ""
    check("booked: 201 with code, times, status booked",
          st == 201 and body.get("status") == "booked" and body.get("service") == "TP"
          and body.get("start") == start and body.get("end") and body.get("check_in_from")
          and body.get("check_in_until"), body)
    check("the code: at most 10 of A–Z 2–9, no look-alikes",
          0 < len(code) <= 10 and re.fullmatch(r"[A-Z2-9]+", code) and not set(code) & set("01OIL"),
          code)
    st, seen = http_json("GET", f"/api/appointments/{code.lower()}")
    check("looked up in small letters", st == 200 and seen.get("code") == code
          and seen.get("ticket") is None and seen.get("status") == "booked", seen)
    st, seen = http_json("GET", "/api/appointments/ZZZZZZZZ")
    check("an unknown code: 404 not_found", st == 404 and err(seen) == "not_found", seen)

    # Capacity: TP's slots hold the free places the slot list says.
    free = slots[5]["free"]
    results = [book("TP", slots[5]["start"], f"09130000{i:02}")[0] for i in range(free + 1)]
    check(f"a slot of {free} places: {free} booked, then 409 slot_full",
          results == [201] * free + [409], results)
    st, body = http_json("GET", f"/api/appointments/slots?service=TP&date={tomorrow}")
    s5 = next(s for s in body["slots"] if s["start"] == slots[5]["start"])
    check("and it shows 0 free", s5["free"] == 0, s5)

    # The per-phone limit (two a day in the demo), all services together.
    st1, _ = book("TP", slots[6]["start"], "0912000001")
    st2, body = book("TP", slots[7]["start"], "0912000001")
    check("the phone's third booking of the day: 429 limit_reached",
          st1 == 201 and st2 == 429 and err(body) == "limit_reached", (st1, st2, body))

    # Cancellation.
    st, body = http_json("DELETE", f"/api/appointments/{code}", {"phone": "0999999999"})
    check("cancelled with a wrong phone: 404 not_found", st == 404 and err(body) == "not_found", body)
    st, body = http_json("DELETE", f"/api/appointments/{code}", {"phone": "0912000001"})
    check("cancelled: 200, status cancelled", st == 200 and body.get("status") == "cancelled", body)
    st, seen = http_json("GET", f"/api/appointments/{code}")
    check("looked up: cancelled", seen.get("status") == "cancelled", seen)

    # Check-in: a booking whose window is open now (the next TP slot, within the hour).
    st, body = http_json("GET", f"/api/appointments/slots?service=TP&date={today}")
    near = [s for s in body.get("slots", []) if s["free"] > 0
            and dt.datetime.fromisoformat(s["start"]) - now < dt.timedelta(minutes=30)]
    if not near:
        print("skip  check-in: no TP slot of today starts within 30 minutes (late evening)")
    else:
        st, booked = book("TP", near[0]["start"], "0914000001")
        k1, _ = await device("kiosk", "kiosk-1")
        k2, _ = await device("kiosk", "kiosk-2")
        r1 = await cmd(k1, "check_in", code=booked["code"])
        t1 = r1.get("result", {}).get("ticket", {})
        check("check_in: a ticket with its appointment",
              r1.get("ok") and t1.get("appointment", {}).get("code") == booked["code"]
              and t1.get("appointment", {}).get("start") == near[0]["start"], r1)
        r2 = await cmd(k2, "check_in", code=booked["code"].lower())
        check("check_in again from another kiosk: the same ticket",
              r2.get("ok") and r2["result"]["ticket"]["id"] == t1.get("id"), r2)
        st, seen = http_json("GET", f"/api/appointments/{booked['code']}")
        check("looked up: checked_in with the ticket's number",
              seen.get("status") == "checked_in" and seen.get("ticket") == t1.get("number"), seen)
        st, body = http_json("DELETE", f"/api/appointments/{booked['code']}", {"phone": "0914000001"})
        check("cancelling after check-in: 409 invalid_state", st == 409 and err(body) == "invalid_state", body)
        r3 = await cmd(k1, "check_in", code="AAAAAAAA")
        check("check_in of an unknown code: not_found",
              not r3.get("ok") and r3["error"]["code"] == "not_found", r3)
        far = http_json("GET", f"/api/appointments/slots?service=TP&date={tomorrow}")[1]["slots"][10]
        st, early = book("TP", far["start"], "0914000002")
        r4 = await cmd(k1, "check_in", code=early["code"])
        check("check_in far too early: appointment_early",
              not r4.get("ok") and r4["error"]["code"] == "appointment_early", r4)
        await k1.close()
        await k2.close()

    # Admin: book and cancel over the WebSocket.
    admin, _ = await device("admin", "admin")
    r = await cmd(admin, "book_appointment", service="TP", start=slots[12]["start"])
    a = r.get("result", {}).get("appointment", {})
    check("book_appointment (admin): an appointment", r.get("ok") and a.get("status") == "booked", r)
    r = await cmd(admin, "cancel_appointment", code=a.get("code", ""))
    check("cancel_appointment (admin): cancelled",
          r.get("ok") and r["result"]["appointment"]["status"] == "cancelled", r)
    kiosk, _ = await device("kiosk", "kiosk-1")
    r = await cmd(kiosk, "book_appointment", service="TP", start=slots[13]["start"])
    check("a kiosk may not book_appointment: forbidden",
          not r.get("ok") and r["error"]["code"] == "forbidden", r)
    await admin.close()
    await kiosk.close()

    # No phone number anywhere.
    for path, what in [(DB, "database"), (DB and DB + "-wal", "database's WAL"), (LOG, "log")]:
        if not path:
            continue
        try:
            data = open(path, "rb").read()
        except FileNotFoundError:
            continue
        found = [p for p in PHONES if p.encode() in data or p[1:].encode() in data]
        check(f"no phone number in the {what}", not found, found)

    print(f"\n{len(failures)} failed" if failures else "\nall checks passed")
    sys.exit(1 if failures else 0)


asyncio.run(main())
