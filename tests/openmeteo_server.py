#!/usr/bin/env python3
"""A local stand-in for Open-Meteo's historical weather API
(archive-api.open-meteo.com), for og-pull -m weather's tests and the demo.
Python standard library only; listens on 127.0.0.1 only.

  openmeteo_server.py serve [options] RECORDS
      Serves hourly weather from RECORDS (KEY TAB TIME TAB VALUE lines,
      gzip or plain; times Unix seconds, values in SI units, nan missing),
      the same at every place:
        GET /v1/archive?latitude=&longitude=&start_date=&end_date=&hourly=
                       [&timezone=GMT|UTC][&timeformat=iso8601|unixtime]
                       [&wind_speed_unit=kmh|ms|mph|kn]
      answering {"latitude":..,"hourly":{"time":[...],"VAR":[...]},...} with
      every hour of the days asked for, null where RECORDS has no value, and
      errors as the real API does, 400 {"error":true,"reason":"..."}.
      Keys are Open-Meteo's variable names, or opengrid's forecast.io names
      (tests/data/weather_2016_hour.tsv.gz), mapped:
        temperature                 temperature_2m         (degrees C)
        GlobalHorizontalIrradiance  shortwave_radiation    (W/m2)
        humidity (0..1)             relative_humidity_2m   (%, times 100)
        windSpeed (m/s)             wind_speed_10m         (m/s; km/h unless
                                                            wind_speed_unit=ms)
      --port N          port (default 0: a free one)
      --port-file FILE  the port is written there (atomically) once listening;
                        it is also printed on stdout
      --faults FILE     fault injection, as tests/flukso_server.py's (lines
                        REGEX FAULT [COUNT]; NNN, 429:S, slow:S, stall,
                        truncate, reset); an injected 4xx or 5xx has the
                        API's error body
      --log FILE        one line per request: UNIXTIME PATH?QUERY RESULT
      --now T           today, the last day the API serves (default: the clock)
"""
import argparse
import calendar
import datetime
import decimal
import gzip
import json
import os
import sys
import threading
import time
import urllib.parse

from flukso_server import Faults, Handler, Server

OPENGRID = {"temperature": "temperature_2m",
            "GlobalHorizontalIrradiance": "shortwave_radiation",
            "humidity": "relative_humidity_2m",
            "windSpeed": "wind_speed_10m"}
UNITS = {"temperature_2m": "°C", "shortwave_radiation": "W/m²",
         "relative_humidity_2m": "%", "wind_speed_10m": "km/h"}
WIND = {"kmh": (3.6, "km/h"), "ms": (1.0, "m/s"),
        "mph": (3600 / 1609.344, "mp/h"), "kn": (3600 / 1852.0, "kn")}
FIRST_DAY = datetime.date(1940, 1, 1)


def read_records(path):
    """{variable: {time: value}}, values as Decimals (None for nan)."""
    opener = gzip.open if path.endswith(".gz") else open
    out = {}
    with opener(path, "rt") as f:
        for line in f:
            key, t, v = line.rstrip("\n").split("\t")
            name = OPENGRID.get(key, key)
            value = None if v.lower() == "nan" else decimal.Decimal(v)
            if key == "humidity" and value is not None:
                value *= 100
            out.setdefault(name, {})[int(t)] = value
    return out


def number(d, factor=1.0):
    """A value as the API writes it: a JSON number or null."""
    if d is None:
        return None
    if factor == 1.0:
        return float(d)
    return round(float(d) * factor, 2)


class WeatherHandler(Handler):
    server_version = "open-meteo-stand-in/1"

    def error(self, status, text):
        self.send(status, json.dumps({"error": True, "reason": text}).encode())

    def answer(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/v1/archive":
            return self.reason(404, "Not Found")
        q = {}
        for k, v in urllib.parse.parse_qsl(url.query, keep_blank_values=True):
            q.setdefault(k, v)
        try:
            lat = float(q["latitude"])
        except (KeyError, ValueError):
            return self.reason(400, "Value of type 'Float' required for key "
                               "'latitude'.")
        try:
            lon = float(q["longitude"])
        except (KeyError, ValueError):
            return self.reason(400, "Value of type 'Float' required for key "
                               "'longitude'.")
        if not -90 <= lat <= 90:
            return self.reason(400, "Latitude must be in range of -90 to 90°")
        if not -180 <= lon <= 180:
            return self.reason(400, "Longitude must be in range of -180 to "
                               "180°")
        days = []
        for name in ("start_date", "end_date"):
            try:
                days.append(datetime.date.fromisoformat(q[name]))
            except (KeyError, ValueError):
                return self.reason(400, "Parameter '%s' must be a date as "
                                   "yyyy-mm-dd" % name)
        today = datetime.datetime.fromtimestamp(
            self.server.now or time.time(), datetime.timezone.utc).date()
        for name, d in zip(("start_date", "end_date"), days):
            if not FIRST_DAY <= d <= today:
                return self.reason(400, "Parameter '%s' is out of allowed "
                                   "range from %s to %s" % (name, FIRST_DAY,
                                                            today))
        if days[1] < days[0]:
            return self.reason(400, "End-date must be larger or equal than "
                               "start-date")
        if q.get("timezone", "GMT") not in ("GMT", "UTC"):
            return self.reason(400, "The stand-in serves timezone=GMT only")
        fmt = q.get("timeformat", "iso8601")
        if fmt not in ("iso8601", "unixtime"):
            return self.reason(400, "Cannot initialize Timeformat from "
                               "invalid String value %s" % fmt)
        wind = q.get("wind_speed_unit", "kmh")
        if wind not in WIND:
            return self.reason(400, "Cannot initialize WindspeedUnit from "
                               "invalid String value %s" % wind)
        names = [n for n in q.get("hourly", "").split(",") if n]
        for n in names:
            if n not in UNITS:
                return self.reason(400, "Cannot initialize WeatherVariable "
                                   "from invalid String value %s for key "
                                   "hourly" % n)
        t0 = calendar.timegm(days[0].timetuple())
        t1 = calendar.timegm(days[1].timetuple()) + 86400
        times = list(range(t0, t1, 3600))
        hourly = {"time": times if fmt == "unixtime" else
                  [time.strftime("%Y-%m-%dT%H:%M", time.gmtime(t))
                   for t in times]}
        units = {"time": fmt}
        data = self.server.records
        for n in names:
            factor, unit = WIND[wind] if n == "wind_speed_10m" else \
                (1.0, UNITS[n])
            series = data.get(n, {})
            hourly[n] = [number(series.get(t), factor) for t in times]
            units[n] = unit
        doc = {"latitude": round(lat * 4) / 4, "longitude": round(lon * 4) / 4,
               "generationtime_ms": 0.5, "utc_offset_seconds": 0,
               "timezone": "GMT", "timezone_abbreviation": "GMT",
               "elevation": 38.0, "hourly_units": units, "hourly": hourly}
        return 200, json.dumps(doc, ensure_ascii=False,
                               separators=(",", ":")).encode(), \
            "application/json; charset=utf-8"

    @staticmethod
    def reason(status, text):
        return status, json.dumps({"error": True, "reason": text},
                                  ensure_ascii=False).encode(), \
            "application/json; charset=utf-8"


def serve(args):
    srv = Server(("127.0.0.1", args.port), WeatherHandler)
    srv.daemon_threads = True
    srv.records = read_records(args.records)
    srv.faults = Faults(args.faults)
    srv.logfile = args.log
    srv.loglock = threading.Lock()
    srv.now = args.now
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("records")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--port-file")
    s.add_argument("--faults")
    s.add_argument("--log")
    s.add_argument("--now", type=int)
    args = ap.parse_args()
    if not os.path.isfile(args.records):
        sys.exit("openmeteo_server.py: %s: no such file" % args.records)
    serve(args)


if __name__ == "__main__":
    main()
