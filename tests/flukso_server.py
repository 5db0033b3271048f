#!/usr/bin/env python3
"""A local stand-in for the Flukso API (api.flukso.net), for og-pull's tests
and the demo.  Python standard library only; listens on 127.0.0.1 only.

  flukso_server.py serve [options] ROOT...
      Serves the blocks under ROOT/<sensor>/<rid>/<lvl>/<bid> (gzip JSON, as
      the real API serves them; the first ROOT holding a sensor wins):
        GET /sensor/<sid>/tmpo/sync?rid=R&lvl=L&bid=B   blocks ending after (R,L,B)
        GET /sensor/<sid>/tmpo/<rid>/<lvl>/<bid>        one block
        GET /sensor/<sid>?start=&end=|interval=&resolution=&unit=   averages
      Every request needs X-Version: 1.0 (else 400) and the sensor's X-Token
      (else 401); an unknown sensor is 404.
      --tokens FILE     lines SENSOR TOKEN (default: ROOT/tokens of each root)
      --port N          port (default 0: a free one)
      --port-file FILE  the port is written there (atomically) once listening;
                        it is also printed on stdout
      --faults FILE     fault injection, re-read whenever it changes: lines
                        REGEX FAULT [COUNT], REGEX searched in path?query, the
                        first COUNT matching requests (default: all) get FAULT:
                          NNN        that HTTP status (500, 503, 401, 404 ...)
                          429:S      429 with Retry-After: S
                          slow:S     answer normally after S seconds
                          stall      send half the body, then nothing for 300 s
                          truncate   announce the whole body, send half, close
                          badgzip    200 with the gzip body corrupted
                          reset      close the connection with a TCP reset
      --log FILE        one line per request: UNIXTIME PATH?QUERY RESULT
      --now T           "now" for interval= queries (default: the clock)
      --tls CERT KEY    serve https with this certificate and key (PEM)

  flukso_server.py build [options] RECORDS OUTDIR
      Turns power records (KEY TAB TIME TAB WATTS, gzip or plain) into a
      Flukso counter with one record per counter step, like real pulse data,
      written as level-8 blocks and compacted 8 -> 12 -> 16 -> 20 the way the
      server does once a block's 16 children are complete.  Deterministic.
      --key KEY         the series to use (default: the first key)
      --sensor SID      sensor id (default: md5 of the key)
      --token TOKEN     its token (default: derived from the id), added to
                        OUTDIR/tokens
      --type TYPE       electricity (default; counter in Wh), gas or water
                        (liters)
      --step N          counter units per step (default 1; gas 10)
      --start-count N   the counter's first reading (default 1000000)
      --now T           compaction time (default: after the last record)
      --keep            keep the compacted lower-level blocks too, as a server
                        in the middle of compacting would
      Prints SENSOR TAB TOKEN on stdout.
"""
import argparse
import gzip
import hashlib
import json
import os
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LEVELS = (8, 12, 16, 20)
RESOLUTIONS = {"minute": 60, "15min": 900, "hour": 3600, "day": 86400,
               "week": 604800, "month": 2592000, "year": 31536000}
INTERVALS = {"hour": 3600, "day": 86400, "month": 2592000, "year": 31536000}


# ---- blocks -------------------------------------------------------------

def decode_block(raw, bid, lvl):
    """The records of a valid block, or None."""
    try:
        b = json.loads(gzip.decompress(raw))
        head, tail, ts, vs = b["h"]["head"], b["h"]["tail"], b["t"], b["v"]
    except (ValueError, KeyError, TypeError, OSError, EOFError):
        return None
    if len(ts) != len(vs) or not ts:
        return None
    t, v, out = head[0], head[1], []
    for dt, dv in zip(ts, vs):
        t += dt
        v += dv
        if out and t <= out[-1][0] or not bid <= t < bid + (1 << lvl):
            return None
        out.append((t, v))
    if [t, v] != list(tail):
        return None
    return out


def block_bytes(records, cfg):
    t0, v0 = records[0]
    dts = [0] + [b[0] - a[0] for a, b in zip(records, records[1:])]
    dvs = [0] + [b[1] - a[1] for a, b in zip(records, records[1:])]
    doc = {"h": {"cfg": cfg, "head": [t0, v0], "tail": list(records[-1]),
                 "vsn": 1}, "t": dts, "v": dvs}
    return gzip.compress(json.dumps(doc, separators=(",", ":")).encode(),
                         mtime=0)


# ---- the server ---------------------------------------------------------

class Store:
    def __init__(self, roots, tokens_file):
        self.roots = roots
        self.tokens = {}
        files = [tokens_file] if tokens_file else \
            [os.path.join(r, "tokens") for r in roots]
        for f in files:
            if os.path.exists(f):
                with open(f) as fh:
                    for line in fh:
                        parts = line.split()
                        if len(parts) >= 2:
                            self.tokens.setdefault(parts[0], parts[1])

    def sensor_dir(self, sid):
        for r in self.roots:
            d = os.path.join(r, sid)
            if os.path.isdir(d):
                return d
        return None

    def blocks(self, sid):
        d = self.sensor_dir(sid)
        out = []
        if not d:
            return out
        for rid in os.listdir(d):
            for lvl in os.listdir(os.path.join(d, rid)):
                for bid in os.listdir(os.path.join(d, rid, lvl)):
                    if rid.isdigit() and lvl.isdigit() and bid.isdigit():
                        out.append((int(rid), int(lvl), int(bid)))
        out.sort(key=lambda b: (b[0], b[2], -b[1]))
        return out

    def block_path(self, sid, rid, lvl, bid):
        d = self.sensor_dir(sid)
        return d and os.path.join(d, str(rid), str(lvl), str(bid))

    def series(self, sid):
        """The counter readings of the highest rid, the highest valid
        level winning, and the sensor's cfg."""
        blocks = self.blocks(sid)
        if not blocks:
            return [], {}
        rid = max(b[0] for b in blocks)
        good, cfg = [], {}
        for _, lvl, bid in sorted((b for b in blocks if b[0] == rid),
                                  key=lambda b: -b[1]):
            if any(l > lvl and b <= bid < b + (1 << l) for l, b, _ in good):
                continue
            with open(self.block_path(sid, rid, lvl, bid), "rb") as f:
                raw = f.read()
            recs = decode_block(raw, bid, lvl)
            if recs is not None:
                good.append((lvl, bid, recs))
                if not cfg:
                    cfg = json.loads(gzip.decompress(raw))["h"].get("cfg", {})
        out = sorted(r for _, _, recs in good for r in recs)
        return out, cfg


class Faults:
    def __init__(self, path):
        self.path = path
        self.stamp = None
        self.rules = []
        self.lock = threading.Lock()

    def take(self, target):
        if not self.path:
            return None
        with self.lock:
            try:
                st = os.stat(self.path)
                stamp = (st.st_mtime_ns, st.st_size)
            except OSError:
                stamp = None
            if stamp != self.stamp:
                self.stamp = stamp
                self.rules = []
                if stamp:
                    with open(self.path) as f:
                        for line in f:
                            p = line.split()
                            if len(p) >= 2 and not p[0].startswith("#"):
                                n = int(p[2]) if len(p) > 2 else -1
                                self.rules.append([re.compile(p[0]), p[1], n])
            for rule in self.rules:
                if rule[2] != 0 and rule[0].search(target):
                    if rule[2] > 0:
                        rule[2] -= 1
                    return rule[1]
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "flukso-stand-in/1"

    def setup(self):
        super().setup()
        # headers and body go out in separate writes: without this, Nagle
        # and delayed ACKs cost 40 ms a request on a kept-alive connection
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def log(self, result):
        srv = self.server
        if srv.logfile:
            with srv.loglock, open(srv.logfile, "a") as f:
                f.write("%.3f %s %s\n" % (time.time(), self.path, result))

    def send(self, status, body, ctype="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.log(str(status))

    def error(self, status, text):
        self.send(status, json.dumps({"error": text}).encode())

    def do_GET(self):
        fault = self.server.faults.take(self.path)
        if fault == "reset":
            self.log("reset")
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        if fault and re.fullmatch(r"\d\d\d", fault):
            return self.error(int(fault), "injected fault")
        if fault and fault.startswith("429:"):
            self.send(429, b'{"error":"slow down"}',
                      headers=[("Retry-After", fault[4:])])
            return
        if fault and fault.startswith("slow:"):
            time.sleep(float(fault[5:]))
        try:
            status, body, ctype = self.answer()
        except Exception as e:  # a stand-in must not die on odd requests
            status, body, ctype = 500, json.dumps({"error": str(e)}).encode(), \
                "application/json"
        if status == 200 and fault in ("stall", "truncate"):
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.log(fault)
            if fault == "stall":
                time.sleep(300)
            self.close_connection = True
            return
        if status == 200 and fault == "badgzip":
            b = bytearray(body)
            for i in range(10, len(b) - 8, 3):
                b[i] ^= 0x5a
            body = bytes(b)
        self.send(status, body, ctype)

    def answer(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        parts = url.path.strip("/").split("/")
        store = self.server.store
        if len(parts) < 2 or parts[0] != "sensor":
            return 404, b'{"error":"no such resource"}', "application/json"
        sid = parts[1]
        if self.headers.get("X-Version") != "1.0":
            return 400, b'{"error":"X-Version must be 1.0"}', "application/json"
        # the token first: a stranger learns nothing of which sensors exist
        token = store.tokens.get(sid)
        if token is None or self.headers.get("X-Token") != token:
            return 401, b'{"error":"bad token"}', "application/json"
        if parts[2:] == ["tmpo", "sync"]:
            try:
                rid, lvl, bid = int(q["rid"]), int(q["lvl"]), int(q["bid"])
            except (KeyError, ValueError):
                return 400, b'{"error":"rid, lvl and bid needed"}', \
                    "application/json"
            have_end = bid + (1 << lvl)
            out = [{"rid": r, "lvl": l, "bid": b, "ext": "gz"}
                   for r, l, b in store.blocks(sid)
                   if r > rid or (r == rid and b + (1 << l) > have_end)]
            return 200, json.dumps(out).encode(), "application/json"
        if len(parts) == 6 and parts[2] == "tmpo":
            path = store.block_path(sid, *parts[3:6])
            if not path or not all(p.isdigit() for p in parts[3:6]) \
                    or not os.path.isfile(path):
                return 404, b'{"error":"no such block"}', "application/json"
            with open(path, "rb") as f:
                return 200, f.read(), "application/gzip"
        if len(parts) == 2:
            return self.sensor_api(sid, q)
        return 404, b'{"error":"no such resource"}', "application/json"

    def sensor_api(self, sid, q):
        res = RESOLUTIONS.get(q.get("resolution", "minute"))
        if not res:
            return 400, b'{"error":"bad resolution"}', "application/json"
        try:
            if "interval" in q:
                end = int(self.server.now or time.time())
                start = end - INTERVALS[q["interval"]]
            else:
                start, end = int(q["start"]), int(q["end"])
        except (KeyError, ValueError):
            return 400, b'{"error":"start and end, or interval"}', \
                "application/json"
        readings, cfg = self.server.store.series(sid)
        kind = cfg.get("type", "electricity")
        unit = q.get("unit", "watt" if kind == "electricity" else "lpermin")
        factor = {"watt": 3600.0, "kwhperyear": 3600 * 8760 / 1000.0,
                  "lpermin": 60.0, "lperday": 86400.0,
                  "m3peryear": 31536000 / 1000.0}.get(unit)
        if factor is None:
            return 400, b'{"error":"bad unit"}', "application/json"
        times = [r[0] for r in readings]

        def counter(t):
            # linear between readings; None outside them
            import bisect
            i = bisect.bisect_left(times, t)
            if i < len(times) and times[i] == t:
                return readings[i][1]
            if i == 0 or i == len(times):
                return None
            (t0, v0), (t1, v1) = readings[i - 1], readings[i]
            return v0 + (v1 - v0) * (t - t0) / (t1 - t0)

        # as the real API: each value is stamped with the END of its interval
        out = []
        t = start - start % res
        while t < end and len(out) < 100000:
            a, b = counter(t), counter(t + res)
            out.append([t + res, "nan" if a is None or b is None
                        else (b - a) / res * factor])
            t += res
        return 200, json.dumps(out).encode(), "application/json"


class Server(ThreadingHTTPServer):
    # Python's default listen queue of 5 drops the SYNs of a client that
    # opens more connections at once (og-pull -j 16), which then wait 1 s
    request_queue_size = 128


def serve(args):
    for r in args.roots:
        if not os.path.isdir(r):
            sys.exit("flukso_server.py: %s: not a directory" % r)
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.store = Store(args.roots, args.tokens)
    srv.faults = Faults(args.faults)
    srv.logfile = args.log
    srv.loglock = threading.Lock()
    srv.now = args.now
    if args.tls:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    print(port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


# ---- building block sets ------------------------------------------------

def read_power(path, key):
    opener = gzip.open if path.endswith(".gz") else open
    out = []
    with opener(path, "rt") as f:
        for line in f:
            k, t, v = line.rstrip("\n").split("\t")
            if key is None:
                key = k
            if k == key:
                out.append((int(t), float(v)))
    out.sort()
    return key, out


def counter_steps(power, step, count, reversible=False):
    """One reading per counter step: the integral of power (W -> Wh),
    readings within one second merged into the last.  A reversible counter
    (a net meter) steps down while the power is negative; any other counts
    nothing then."""
    if not power:
        return []
    gaps = [b[0] - a[0] for a, b in zip(power, power[1:])]
    last_gap = sorted(gaps)[len(gaps) // 2] if gaps else 60
    energy = 0.0        # Wh (or liters) since the last step, signed
    out = []
    for i, (t0, p) in enumerate(power):
        t1 = power[i + 1][0] if i + 1 < len(power) else t0 + last_gap
        if p != p or p == 0 or (p < 0 and not reversible):
            continue
        sign = 1 if p > 0 else -1
        rate = abs(p) / 3600.0  # units per second
        need = step - sign * energy     # until the next step this way
        total = rate * (t1 - t0)
        if total < need:
            energy += sign * total
            continue
        n = int((total - need) // step) + 1
        for k in range(n):
            ts = int(t0 + (need + k * step) / rate)
            count += sign * step
            if out and out[-1][0] >= ts:
                out[-1] = (out[-1][0], count)
            else:
                out.append((ts, count))
        energy = sign * (total - need - (n - 1) * step)
    return out


def build(args):
    key, power = read_power(args.records, args.key)
    if not power:
        sys.exit("flukso_server.py: %s: no records of %s" % (args.records, key))
    sid = args.sensor or hashlib.md5(key.encode()).hexdigest()
    token = args.token or hashlib.sha256(("og-token:" + sid).encode()) \
        .hexdigest()[:32]
    step = args.step or (10 if args.type in ("gas", "water") else 1)
    readings = counter_steps(power, step, args.start_count, args.reversible)
    now = args.now if args.now is not None else readings[-1][0] + 1
    cfg = {"id": sid, "type": args.type, "data_type": "counter",
           "class": "pulse" if args.type != "electricity" else "analog",
           "function": "main", "rid": 0, "unit": "Wh"
           if args.type == "electricity" else "l"}
    if args.type != "electricity":
        cfg["constant"] = step
    blocks = {}
    for t, v in readings:
        top = 8
        for lvl in LEVELS[1:]:
            if (t >> lvl << lvl) + (1 << lvl) <= now:
                top = lvl
        for lvl in LEVELS:
            if lvl == top or (args.keep and lvl < top):
                blocks.setdefault((lvl, t >> lvl << lvl), []).append((t, v))
    for (lvl, bid), recs in sorted(blocks.items()):
        d = os.path.join(args.outdir, sid, "0", str(lvl))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, str(bid)), "wb") as f:
            f.write(block_bytes(recs, cfg))
    tokens = os.path.join(args.outdir, "tokens")
    lines = []
    if os.path.exists(tokens):
        with open(tokens) as f:
            lines = [l for l in f if l.split()[:1] != [sid]]
    lines.append("%s %s\n" % (sid, token))
    with open(tokens, "w") as f:
        f.writelines(sorted(lines))
    print("%s\t%s" % (sid, token))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("roots", nargs="+")
    s.add_argument("--tokens")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--port-file")
    s.add_argument("--faults")
    s.add_argument("--log")
    s.add_argument("--now", type=int)
    s.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    b = sub.add_parser("build")
    b.add_argument("records")
    b.add_argument("outdir")
    b.add_argument("--key")
    b.add_argument("--sensor")
    b.add_argument("--token")
    b.add_argument("--type", default="electricity",
                   choices=("electricity", "gas", "water"))
    b.add_argument("--step", type=int)
    b.add_argument("--start-count", type=int, default=1000000)
    b.add_argument("--now", type=int)
    b.add_argument("--keep", action="store_true")
    b.add_argument("--reversible", type=int, default=0, choices=(0, 1),
                   help="1: a net meter, negative power counts down")
    args = ap.parse_args()
    serve(args) if args.cmd == "serve" else build(args)


if __name__ == "__main__":
    main()
