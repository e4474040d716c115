#!/usr/bin/env python3
"""An example central system in Python: serves one applicant at one window, end to end.

The same session as docs/examples/central-client.ts, with paho-mqtt
(Debian: apt-get install python3-paho-mqtt; or pip install paho-mqtt, 1.6 or 2.x):

    python3 docs/examples/central_client.py --url mqtt://127.0.0.1:1884 --hall hall-1 --counter w01 --press satisfied

Against `npm start -- --no-traffic`, where nobody stands at the windows, `--press <score>`
presses the evaluator key through the simulator's control API. See docs/integration.md.

What it shows:
- subscribe to the whole hall; check every message (JSON object, contract version 1, the envelope);
- drop duplicates by message `id` (delivery is at least once);
- track the window from its retained `status` and `state` by boot id and `seq`: a late
  will from an earlier boot never marks the window offline;
- send commands with a fresh `id` and an `expires`, QoS 1, never retained; match replies
  by `cmd`; resend with the same id when no reply comes (the board acts once);
- handle refusals by their error code, the hub's (`unknown-counter`, ...) included;
- TCP_NODELAY on the socket.

Exit codes: 0 the applicant was served (rated, or left without rating); 1 something failed;
2 bad arguments; 3 the window is offline, unknown or busy.
"""
import argparse
import json
import secrets
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlparse

import paho.mqtt.client as mqtt

ENVELOPE = ("v", "id", "boot", "seq", "ts", "synced")

# What each refusal code means to a central system (docs/integration.md, "Error codes").
REFUSAL_HINTS = {
    "bad-json": "the payload was not JSON: a bug in this client",
    "bad-payload": "the payload broke the schema (the message names the field): a bug in this client",
    "bad-topic": "the topic is not part of the contract: a bug in this client",
    "unknown-command": "the board does not know this command (contract version mismatch?)",
    "expired": "the command arrived after its expiry: check the clocks and that commands do not sit in a queue",
    "wrong-mode": "the window is not in the mode the command needs; its state says what it is doing",
    "wrong-ticket": "the window is handling another ticket",
    "busy": "the device is busy; retry when it is free",
    "not-ready": "the board is starting or a device has not come up; retry later",
    "device-fault": "a device the command needs is faulty (see state.faults): call a hall technician",
    "unsupported": "this board has no device or capability for the command",
    "too-large": "the payload is larger than the contract allows: a bug in this client",
    "internal": "an unexpected error on the board: check the state before retrying",
    "limit-reached": "the window's limit for this command is used up: do what the message says",
    "unknown-counter": "the hall's hub has no board for this counter (not provisioned, or never connected)",
    "qos-required": "the command was sent at QoS 0 and not delivered: send commands at QoS 1",
    "retained-refused": "the command was retained at the broker and not delivered: never retain a command",
}


class Failure(Exception):
    def __init__(self, message, exit_code=1):
        super().__init__(message)
        self.exit_code = exit_code


def iso(dt):
    return dt.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_topic(topic):
    """(counter, kind, name) for a window's topic, None for anything else of the hall."""
    p = topic.split("/")
    if len(p) >= 5 and p[0] == "hall" and p[2] == "counter":
        return p[3], p[4], (p[5] if len(p) > 5 else None)
    return None


class CentralClient:
    def __init__(self, opts, out):
        self.o = opts
        self.print = out
        self.base = f"hall/{opts.hall}/counter/{opts.counter}"
        self.cond = threading.Condition()
        self.received = []  # (kind, name, message) of this window, in arrival order, copies dropped
        self.seen_ids = set()
        self.duplicates = 0
        self.violations = 0
        self.online = None
        self.boot = None
        self.state = None
        self.state_seq = -1
        self.n = 0
        self.session = secrets.token_hex(3)
        u = urlparse(opts.url if "://" in opts.url else "mqtt://" + opts.url)
        self.host, self.port, self.tls = u.hostname, u.port or (8883 if u.scheme == "mqtts" else 1883), u.scheme == "mqtts"
        client_id = f"example-py-{self.session}"
        if hasattr(mqtt, "CallbackAPIVersion"):  # paho-mqtt 2.x
            self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        else:
            self.client = mqtt.Client(client_id=client_id, clean_session=True)
        if self.tls:
            self.client.tls_set()
        if u.username:
            self.client.username_pw_set(u.username, u.password)
        self.client.on_socket_open = lambda client, userdata, sock: self._nodelay(sock)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message

    @staticmethod
    def _nodelay(sock):
        # Nagle's algorithm would hold every QoS 1 round trip for a delayed ACK.
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass

    def connect(self):
        self.print(f"connected to {self.o.url}; subscribing to hall/{self.o.hall}/#")
        try:
            self.client.connect(self.host, self.port, keepalive=30)
        except OSError as err:
            raise Failure(f"could not connect to {self.o.url}: {err}")
        self.client.loop_start()

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()

    def _on_connect(self, client, userdata, flags, rc, properties=None):
        client.subscribe(f"hall/{self.o.hall}/#", qos=1)

    def _on_message(self, client, userdata, msg):
        t = parse_topic(msg.topic)
        if t is None or t[0] != self.o.counter or t[1] == "cmd":
            return  # other windows, the hub's topics, and our own commands coming back
        if not msg.payload:
            return  # an empty retained message deletes one; there is nothing in it
        try:
            m = json.loads(msg.payload.decode("utf-8"))
            if not isinstance(m, dict) or m.get("v") != 1 or any(k not in m for k in ENVELOPE):
                raise ValueError("not a message of contract version 1")
        except (ValueError, UnicodeDecodeError) as err:
            self.violations += 1
            self.print(f"x ignored a message that breaks the contract on {msg.topic}: {err}")
            return
        with self.cond:
            # Drop copies by id: the chain delivers at least once. (Keep ids durably in production.)
            if m["id"] in self.seen_ids:
                self.duplicates += 1
                return
            self.seen_ids.add(m["id"])
            kind, name = t[1], t[2]
            if kind == "status":
                if m.get("online"):
                    self.online, self.boot = True, m["boot"]
                    self.print(f"window {self.o.counter} online: boot {m['boot']}, board {m.get('board')}")
                elif self.boot is None or m["boot"] == self.boot:
                    self.online = False
                else:
                    self.print(f"ignored a late will of boot {m['boot']}")
            elif kind == "state":
                # A state of another boot is old or early; within a boot, a lower seq is old.
                if (self.boot is None or m["boot"] == self.boot) and (m["boot"] != (self.state or {}).get("boot") or m["seq"] > self.state_seq):
                    self.state, self.state_seq = m, m["seq"]
            elif kind == "event":
                shown = {k: v for k, v in m.items() if k not in ENVELOPE}
                self.print(f"<- event {name} {json.dumps(shown, ensure_ascii=False)} (id {m['id']}, seq {m['seq']})")
            elif kind == "reply":
                verdict = "ok" if m["ok"] else f"refused, {m.get('code')}: {m.get('message', '')}"
                self.print(f"<- reply to {m['name']} {m['cmd']}: {verdict}{' ' + json.dumps(m['result']) if m.get('result') else ''}")
            self.received.append((kind, name, m))
            self.cond.notify_all()

    def wait_for(self, since, match, timeout_s, what):
        """The first message from index `since` on for which match() returns something."""
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while True:
                for kind, name, m in self.received[since:]:
                    r = match(kind, name, m)
                    if r is not None:
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure(f"timed out after {timeout_s} s waiting for {what}")
                self.cond.wait(left)

    def wait_until(self, check, timeout_s, what):
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while not check():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure(f"timed out after {timeout_s} s waiting for {what}")
                self.cond.wait(left)

    def command(self, name, args, tries=3):
        """Publishes a command (QoS 1, not retained) and returns (id, reply, since); resends the same payload if no reply."""
        self.n += 1
        cid = f"example-py-{self.session}-{self.n}"
        payload = json.dumps({"id": cid, "expires": iso(datetime.now(timezone.utc) + timedelta(seconds=60)), **args})
        with self.cond:
            since = len(self.received)
        self.print(f"-> {name} {json.dumps(args, ensure_ascii=False)} (id {cid})")
        for attempt in range(tries):
            self.client.publish(f"{self.base}/cmd/{name}", payload, qos=1, retain=False)
            try:
                reply = self.wait_for(since, lambda k, n, m: m if k == "reply" and m["cmd"] == cid else None, 5, f"the reply to {name} {cid}")
                return cid, reply, since
            except Failure:
                if attempt + 1 < tries:
                    self.print(f"no reply to {name} {cid} yet; sending it again with the same id")
        raise Failure(f"no reply to {name} {cid}: is window {self.o.counter} online, and the hall's hub bridged to {self.o.url}?", 3)

    @staticmethod
    def refused(reply):
        code = reply.get("code", "internal")
        return f"{reply['name']} refused ({code}: {reply.get('message', 'no detail')}): {REFUSAL_HINTS.get(code, 'see docs/contract.md')}"


def press(o, key):
    url = f"{o.control}/api/windows/{o.counter}/keys/{quote(key)}/press"
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=5).read()
    except (urllib.error.URLError, OSError) as err:
        raise Failure(f"could not press {key} through the control API at {o.control}: {err}")


def serve_one(o, c, out):
    # 1. Know the window: its retained status and state arrive on subscribe; else ask it to republish.
    try:
        c.wait_until(lambda: c.online is not None and c.state is not None, 2, "retained status and state")
    except Failure:
        out(f"no retained state for window {o.counter} yet; asking it to republish (sync)")
        _, reply, _ = c.command("sync", {})
        if not reply["ok"]:
            raise Failure(c.refused(reply), 3 if reply.get("code") == "unknown-counter" else 1)
        c.wait_until(lambda: c.state is not None, 5, f"state of window {o.counter}")
    if not c.online:
        raise Failure(f"window {o.counter} is offline", 3)
    mode = c.state["mode"]
    out(f"window {o.counter} is {mode}")

    # 2. Open the window if needed.
    if mode in ("closed", "paused"):
        _, reply, _ = c.command("officer", {"action": "sign-in", "officer": o.officer, "officerName": o.officer_name}) if mode == "closed" else c.command("resume", {})
        if not reply["ok"]:
            raise Failure(c.refused(reply))
    elif mode != "idle":
        raise Failure(f"window {o.counter} is busy ({mode}); pick another with --counter", 3)

    # 3. Call the ticket: the event carries the command id in `cmd`.
    cid, reply, since = c.command("call", {"ticket": o.ticket, "service": o.service})
    if not reply["ok"]:
        raise Failure(c.refused(reply))
    c.wait_for(since, lambda k, n, m: m if k == "event" and n == "called" and m.get("cmd") == cid else None, 5, "called event")
    out(f"* {o.ticket} is on the display of window {o.counter}")

    # 4. The applicant came: start the service.
    _, reply, since = c.command("start", {"ticket": o.ticket})
    if not reply["ok"]:
        raise Failure(c.refused(reply))

    # 5. Capture: the outcome comes later as an event with the command's id; no biometric data travels.
    if o.capture != "none":
        cid, reply, since = c.command("capture", {"kind": o.capture, "ticket": o.ticket})
        if not reply["ok"]:
            if reply.get("code") in ("unsupported", "busy", "device-fault"):
                out(f"! {c.refused(reply)}; going on without it")
            else:
                raise Failure(c.refused(reply))
        else:
            outcome = c.wait_for(since, lambda k, n, m: m if k == "event" and n in ("capture-done", "capture-failed") and m.get("cmd") == cid else None, 30, "capture outcome")
            out(f"* {o.capture} captured" if outcome["type"] == "capture-done" else f"! {o.capture} capture failed ({outcome['reason']}); going on")

    # 6. Finish: with outcome served the evaluator opens.
    _, reply, since = c.command("finish", {"outcome": "served", "ticket": o.ticket})
    if not reply["ok"]:
        raise Failure(c.refused(reply))
    if o.press:
        press(o, o.press)

    # 7. Exactly one outcome per served service: evaluated or evaluation-missed.
    outcome = c.wait_for(since, lambda k, n, m: m if k == "event" and n in ("evaluated", "evaluation-missed") and m.get("ticket") == o.ticket else None, o.timeout, "the rating")
    if outcome["type"] == "evaluated":
        out(f"* {o.ticket} rated {outcome['score']} at window {o.counter} (officer {outcome['officer']}, {outcome['latencyMs']} ms after it opened)")
    else:
        out(f"* {o.ticket} left without rating ({outcome.get('reason', 'timeout')})")


def parse_args(argv):
    p = argparse.ArgumentParser(description="An example central system: serve one applicant at one window.")
    p.add_argument("--url", default="mqtt://127.0.0.1:1884")
    p.add_argument("--hall", default="hall-1")
    p.add_argument("--counter", default="w01")
    p.add_argument("--ticket", default="A023")
    p.add_argument("--service", default="passport")
    p.add_argument("--officer", default="P10482")
    p.add_argument("--officer-name", default="Li Wei")
    p.add_argument("--capture", default="photo", choices=["photo", "fingerprint", "none"])
    p.add_argument("--press", default=None, choices=["very-satisfied", "satisfied", "neutral", "dissatisfied", "very-dissatisfied"])
    p.add_argument("--control", default="http://127.0.0.1:8080")
    p.add_argument("--timeout", type=float, default=90)
    return p.parse_args(argv)


def main(argv):
    o = parse_args(argv)  # exits 2 on bad arguments

    def out(line):
        print(f"{time.strftime('%H:%M:%S')}  {line}", flush=True)

    c = CentralClient(o, out)
    try:
        c.connect()
        serve_one(o, c, out)
        out(f"done: {len(c.seen_ids)} board messages, {c.duplicates} duplicates dropped, {c.violations} contract violations")
        return 0
    except Failure as err:
        out(f"x {err}")
        return err.exit_code
    finally:
        c.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
