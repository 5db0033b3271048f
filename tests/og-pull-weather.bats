#!/usr/bin/env bats
# shellcheck disable=SC2154  # status, output and stderr are set by bats' run
# og-pull -m weather against the local Open-Meteo stand-in
# (tests/openmeteo_server.py) serving opengrid's real 2016 weather: the
# records exactly, the request as Open-Meteo's archive API wants it, nulls,
# the API's errors, network faults, ranges over several years, bad -L.

load helper

WEATHER=$BATS_TEST_DIRNAME/data/weather_2016_hour.tsv.gz
VARS="temperature_2m shortwave_radiation wind_speed_10m relative_humidity_2m"

setup_file() {
	local w=$BATS_FILE_TMPDIR
	export W=$w
	python3 "$BATS_TEST_DIRNAME/openmeteo_server.py" serve \
	    --port-file "$w/port" --faults "$w/faults" --log "$w/log" \
	    --now 1796083200 "$WEATHER" >/dev/null 2>"$w/server.err" 3>&- &
	echo $! >"$w/server.pid"
	for _ in $(seq 100); do
		[ -s "$w/port" ] && break
		sleep 0.1
	done
	[ -s "$w/port" ] || { cat "$w/server.err"; return 1; }
	OG_WEATHER_URL=http://127.0.0.1:$(cat "$w/port")
	export OG_WEATHER_URL
	export OG_PULL_BACKOFF=0.05
}

teardown_file() {
	[ ! -s "$W/server.pid" ] || kill "$(cat "$W/server.pid")"
}

setup() {
	setup_scratch
	: >"$W/log"
	rm -f "$W/faults"
}

# the records og-pull should print for [START, END) of a TSV in opengrid's
# names, by hand: Open-Meteo's names, humidity in percent, every hour of
# the range, nan where the file has no value; each variable in time order
expect() {	# expect TSV START END
	python3 - "$@" <<'PY'
import gzip, sys
path, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
names = {"temperature": "temperature_2m",
         "GlobalHorizontalIrradiance": "shortwave_radiation",
         "windSpeed": "wind_speed_10m", "humidity": "relative_humidity_2m"}
data = {}
with (gzip.open if path.endswith(".gz") else open)(path, "rt") as f:
    for line in f:
        k, t, v = line.rstrip("\n").split("\t")
        v = float(v)
        if k == "humidity":
            v = float(round(v * 100))
        data[names[k], int(t)] = v
for name in ("temperature_2m", "shortwave_radiation", "wind_speed_10m",
             "relative_humidity_2m"):
    for t in range(start - start % 3600 + (start % 3600 > 0) * 3600, end, 3600):
        print("%s\t%d\t%r" % (name, t, data.get((name, t), float("nan"))))
PY
}

# the number of requests the stand-in logged that match a regex
requests() {
	grep -c -E "$1" "$W/log" || true
}

@test "a week of March 2016: the served weather exactly, each variable in time order" {
	# 2016-03-01 to 03-08 in Brussels: 23:00 UTC to 23:00 UTC
	run --separate-stderr og-pull -m weather -L 50.85,4.35 -s 2016-03-01 -e 2016-03-08
	refute_sanitizer
	assert_success
	[ -z "$stderr" ]
	diff <(expect "$WEATHER" 1456786800 1457391600) <(printf '%s\n' "$output")
	[ "${#lines[@]}" -eq $((4 * 7 * 24)) ]
	# one request, of the days those hours fall on in UTC
	[ "$(wc -l <"$W/log")" -eq 1 ]
	grep -q ' /v1/archive?latitude=50.85&longitude=4.35&start_date=2016-02-29&end_date=2016-03-07&hourly=temperature_2m,shortwave_radiation,wind_speed_10m,relative_humidity_2m&timezone=GMT&timeformat=unixtime&wind_speed_unit=ms 200$' "$W/log"
}

@test "the range is [START, END): hours off the day, and END itself left out" {
	run og-pull -m weather -L 50.85,4.35 -s 2016-07-01T10:30:00Z -e 2016-07-01T13:00:00Z
	refute_sanitizer
	assert_success
	diff <(expect "$WEATHER" 1467369000 1467378000) <(printf '%s\n' "$output")
	[ "${#lines[@]}" -eq 8 ]
	# 11:00 and 12:00 UTC: not 10:00, whose hour starts before START
	[[ "${lines[0]}" = "temperature_2m	1467370800	"* ]]
	[[ "${lines[2]}" = "shortwave_radiation	1467370800	"* ]]
}

@test "the values arrive in SI units: wind in m/s, not the API's default km/h" {
	run og-pull -m weather -L 50.85,4.35 -s 1451606400 -e 1451610000
	assert_success
	assert_line "wind_speed_10m	1451606400	$(zcat "$WEATHER" | awk -F'\t' '$1 == "windSpeed" && $2 == 1451606400 { print $3 }')"
	assert_line "relative_humidity_2m	1451606400	$(zcat "$WEATHER" | awk -F'\t' '$1 == "humidity" && $2 == 1451606400 { printf "%.1f", $3 * 100 }')"
}

@test "a range over three years is one request per year, in time order per variable" {
	run --separate-stderr og-pull -m weather -L 50.85,4.35 -s 2015-12-30T12:00:00Z -e 2017-01-02T06:00:00Z
	refute_sanitizer
	assert_success
	[ -z "$stderr" ]
	diff <(expect "$WEATHER" 1451476800 1483336800) <(printf '%s\n' "$output")
	[ "$(wc -l <"$W/log")" -eq 3 ]
	[ "$(requests 'start_date=2015-12-30&end_date=2015-12-31&')" -eq 1 ]
	[ "$(requests 'start_date=2016-01-01&end_date=2016-12-31&')" -eq 1 ]
	[ "$(requests 'start_date=2017-01-01&end_date=2017-01-02&')" -eq 1 ]
	# the file ends on 2016-12-31 23:00: 2017 up to 01-02 05:00 is nan
	[ "$(printf '%s\n' "$output" | awk -F'\t' '$3 == "nan"' | wc -l)" -eq $((4 * 30)) ]
	[ "$(printf '%s\n' "$output" | awk -F'\t' '$3 != "nan"' | wc -l)" -eq $((4 * (36 + 8784))) ]
}

@test "null values in the answer are printed as nan" {
	# a file with a missing value and a missing hour
	zcat "$WEATHER" | awk -F'\t' -v OFS='\t' '$2 >= 1462060800 && $2 < 1462147200 {
		if ($1 == "temperature" && $2 == 1462071600) $3 = "nan"
		if ($2 == 1462082400) next
		print }' >holes.tsv
	python3 "$BATS_TEST_DIRNAME/openmeteo_server.py" serve --port-file port \
	    --now 1796083200 holes.tsv >/dev/null 2>&1 3>&- &
	echo $! >pid
	for _ in $(seq 100); do [ -s port ] && break; sleep 0.1; done
	OG_WEATHER_URL=http://127.0.0.1:$(cat port) run og-pull -m weather -L 51,4 -s 1462060800 -e 1462147200
	kill "$(cat pid)"
	refute_sanitizer
	assert_success
	diff <(expect holes.tsv 1462060800 1462147200) <(printf '%s\n' "$output")
	assert_line "temperature_2m	1462071600	nan"
	assert_line "shortwave_radiation	1462071600	$(zcat "$WEATHER" | awk -F'\t' '$1 == "GlobalHorizontalIrradiance" && $2 == 1462071600 { print $3 }')"
	for v in $VARS; do assert_line "$v	1462082400	nan"; done
	[ "${#lines[@]}" -eq 96 ]
}

@test "a 400 is reported with the API's reason, and no record of it is printed" {
	run --separate-stderr og-pull -m weather -L 50.85,4.35 -s 1939-12-30T00:00:00Z -e 1940-01-02T00:00:00Z
	refute_sanitizer
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "${stderr_lines[0]}" = "og-pull: weather at 50.85,4.35 from 1939-12-30 to 1939-12-31: HTTP 400: Parameter 'start_date' is out of allowed range from 1940-01-01 to 2026-12-01" ]
	[ "${stderr_lines[1]}" = "og-pull: weather at 50.85,4.35: records from 1939-12-30 on held back until that year can be fetched" ]
	[ "${#stderr_lines[@]}" -eq 2 ]
	# a 400 is not tried again
	[ "$(requests 'start_date=1939-12-30.* 400$')" -eq 1 ]
}

@test "an injected 4xx has the API's error body; a 5xx is retried, then given up" {
	echo "start_date=2016 404" >"$W/faults"
	run --separate-stderr og-pull -m weather -L 50.85,4.35 -s 2016-05-01 -e 2016-05-02
	[ "$status" -eq 1 ]
	[ "$stderr" = "og-pull: weather at 50.85,4.35 from 2016-04-30 to 2016-05-01: HTTP 404: injected fault" ]
	echo "start_date=2016 503" >"$W/faults"
	: >"$W/log"
	OG_PULL_TRIES=3 run --separate-stderr og-pull -m weather -L 50.85,4.35 -s 2016-05-01 -e 2016-05-02
	refute_sanitizer
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$stderr" = "og-pull: weather at 50.85,4.35 from 2016-04-30 to 2016-05-01: HTTP 503: injected fault (after 3 tries)" ]
	[ "$(requests ' 503$')" -eq 3 ]
}

@test "a year that fails holds back the years after it; those before it print" {
	expect "$WEATHER" 1451433600 1451606400 >expected	# 2015-12-30 and 31
	echo "start_date=2016-01-01 500" >"$W/faults"
	OG_PULL_TRIES=2 run --separate-stderr og-pull -m weather -L 50.85,4.35 -s 2015-12-30T00:00:00Z -e 2017-01-03T00:00:00Z
	refute_sanitizer
	[ "$status" -eq 1 ]
	diff expected <(printf '%s\n' "$output")
	[ "${stderr_lines[0]}" = "og-pull: weather at 50.85,4.35 from 2016-01-01 to 2016-12-31: HTTP 500: injected fault (after 2 tries)" ]
	[ "${stderr_lines[1]}" = "og-pull: weather at 50.85,4.35: records from 2016-01-01 on held back until that year can be fetched" ]
	# -q says what failed, not what is held back
	OG_PULL_TRIES=2 run --separate-stderr og-pull -q -m weather -L 50.85,4.35 -s 2015-12-30T00:00:00Z -e 2017-01-03T00:00:00Z
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
}

@test "a truncated body is retried, and truncated every time is an error" {
	og-pull -m weather -L 50.85,4.35 -s 2016-02-01 -e 2016-02-03 >expected
	echo "start_date=2016 truncate 1" >"$W/faults"
	: >"$W/log"
	run --separate-stderr og-pull -m weather -L 50.85,4.35 -s 2016-02-01 -e 2016-02-03
	refute_sanitizer
	assert_success
	[ -z "$stderr" ]
	diff expected <(printf '%s\n' "$output")
	[ "$(requests ' truncate$')" -eq 1 ]
	[ "$(requests ' 200$')" -eq 1 ]
	echo "start_date=2016 truncate" >"$W/faults"
	OG_PULL_TRIES=3 run --separate-stderr og-pull -m weather -L 50.85,4.35 -s 2016-02-01 -e 2016-02-03
	refute_sanitizer
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" =~ ^"og-pull: weather at 50.85,4.35 from 2016-01-31 to 2016-02-02: transfer closed with "[0-9]+" bytes remaining to read (after 3 tries)"$ ]]
}

@test "a slow answer times out and is tried again; within the timeout it arrives" {
	og-pull -m weather -L 50.85,4.35 -s 2016-02-01 -e 2016-02-03 >expected
	echo "start_date=2016 slow:3 1" >"$W/faults"
	: >"$W/log"
	run --separate-stderr og-pull -v -t 1 -m weather -L 50.85,4.35 -s 2016-02-01 -e 2016-02-03
	refute_sanitizer
	assert_success
	diff expected <(printf '%s\n' "$output")
	[[ "${stderr_lines[0]}" =~ ^"og-pull: GET /v1/archive?latitude=50.85&longitude=4.35&start_date=2016-01-31&end_date=2016-02-02&".*": Operation timed out after "1[0-9][0-9][0-9]" milliseconds with 0 bytes received, 0 bytes, "[0-9.]+" s"$ ]]
	[[ "${stderr_lines[1]}" =~ ": try 2 of 5 in 0.05 s"$ ]]
	[[ "${stderr_lines[2]}" =~ ": ok, "[0-9]+" bytes, "[0-9.]+" s"$ ]]
	echo "start_date=2016 slow:0.3" >"$W/faults"
	run og-pull -t 5 -m weather -L 50.85,4.35 -s 2016-02-01 -e 2016-02-03
	assert_success
	diff expected <(printf '%s\n' "$output")
}

@test "an answer that is not the weather asked for is an error naming what is wrong" {
	# a server of answers made for the test, one per start_date
	cat >bad.py <<'PY'
import http.server, json, sys
answers = {
  "2016-03-01": rb'{"hourly":{"time":[1456790400,1456794000],"temperature_2m":[1,2]}}',
  "2016-03-02": rb'{"hourly":{"time":[1456876800,1456876800],"temperature_2m":[1,2],"shortwave_radiation":[1,2],"wind_speed_10m":[1,2],"relative_humidity_2m":[1,2]}}',
  "2016-03-03": rb'{"hourly":{"time":[1456790400],"temperature_2m":[1],"shortwave_radiation":[1],"wind_speed_10m":[1],"relative_humidity_2m":[1]}}',
  "2016-03-04": rb'{"hourly":{"time":[1457049600],"temperature_2m":["1"],"shortwave_radiation":[1],"wind_speed_10m":[1],"relative_humidity_2m":[1]}}',
  "2016-03-05": rb'{"hourly":{"time":[1457136000],"temperature_2m":[1,],"shortwave_radiation":[1],"wind_speed_10m":[1],"relative_humidity_2m":[1]}}',
  "2016-03-06": rb'{"error":true,"reason":"line\nbreak \u00b0 \ud83d\ude00"}',
}
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        day = self.path.split("start_date=")[1][:10]
        body = answers[day]
        self.send_response(400 if b"error" in body else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write("%d\n" % s.server_address[1])
s.serve_forever()
PY
	python3 bad.py port >/dev/null 2>&1 3>&- &
	echo $! >pid
	for _ in $(seq 100); do [ -s port ] && break; sleep 0.1; done
	u=http://127.0.0.1:$(cat port)
	for day in 01 02 03 04 05 06; do
		og-pull -m weather -u "$u" -L 1,2 -s "2016-03-${day}T00:00:00Z" -e "2016-03-${day}T02:00:00Z" >>out 2>>err || echo "exit $?" >>err
	done
	kill "$(cat pid)"
	[ ! -s out ]
	diff err - <<'EOF'
og-pull: weather at 1.0,2.0 from 2016-03-01 to 2016-03-01: no array hourly.shortwave_radiation in the answer
exit 1
og-pull: weather at 1.0,2.0 from 2016-03-02 to 2016-03-02: the times in hourly.time do not increase
exit 1
og-pull: weather at 1.0,2.0 from 2016-03-03 to 2016-03-03: a time in hourly.time is outside the days asked for
exit 1
og-pull: weather at 1.0,2.0 from 2016-03-04 to 2016-03-04: hourly.temperature_2m[0] is not a number
exit 1
og-pull: weather at 1.0,2.0 from 2016-03-05 to 2016-03-05: bad JSON at byte 51: expected a value
exit 1
og-pull: weather at 1.0,2.0 from 2016-03-06 to 2016-03-06: HTTP 400: line break ° 😀
exit 1
EOF
}

@test "no token and no input: standard input is not read" {
	run og-pull -m weather -L 50.85,4.35 -s 2016-02-01 -e 2016-02-02 <&-
	assert_success
	[ "${#lines[@]}" -eq 96 ]
}

@test "plain http may go to any host: no secret travels; other schemes are usage errors" {
	# 127.0.0.2 is not a name og-pull takes for this machine: the Flukso
	# modes refuse it, the weather mode tries it (nothing listens there)
	run --separate-stderr og-pull -m tmpo -u http://127.0.0.2:1 </dev/null
	[ "$status" -eq 2 ]
	OG_PULL_TRIES=1 run --separate-stderr og-pull -m weather -u http://127.0.0.2:1 -L 1,2 -s 2016-02-01 -e 2016-02-02
	refute_sanitizer
	[ "$status" -eq 1 ]
	[[ "$stderr" =~ ^"og-pull: weather at 1.0,2.0 from 2016-01-31 to 2016-02-01: "(Failed to connect|Couldn.t connect) ]]
	run --separate-stderr og-pull -m weather -u ftp://127.0.0.1 -L 1,2 -s 2016-02-01
	[ "$status" -eq 2 ]
	[ "$stderr" = "og-pull: ftp://127.0.0.1: not an http or https URL" ]
}

@test "bad -L values, and -m weather without -L or -s, are usage errors" {
	for l in '' 50.85 '50.85,' ,4.35 91,4 -90.5,4 50,181 50,-180.01 nan,4 \
	    50,inf 50.85,4.35,1 '50.85;4.35' ' 50,4' '50, 4' 0x10,4 1e999,4 \
	    '50,4 ' a,b; do
		run --separate-stderr og-pull -m weather -L "$l" -s 2016-01-01
		refute_sanitizer
		[ "$status" -eq 2 ] || { echo "-L '$l': $status"; return 1; }
		[ "$stderr" = "og-pull: bad -L '$l': LAT,LON in degrees, latitude -90 to 90, longitude -180 to 180" ]
	done
	run --separate-stderr og-pull -m weather -s 2016-01-01
	[ "$status" -eq 2 ]
	[ "$stderr" = "og-pull: -m weather needs -L LAT,LON" ]
	run --separate-stderr og-pull -m weather -L 50,4
	[ "$status" -eq 2 ]
	[ "$stderr" = "og-pull: -m weather needs -s START" ]
	run --separate-stderr og-pull -L 50,4 </dev/null
	[ "$status" -eq 2 ]
	[ "$stderr" = "og-pull: -L needs -m weather" ]
	# the extremes are places
	run og-pull -m weather -L -90,180 -s 2016-01-01T00:00:00Z -e 2016-01-01T01:00:00Z
	assert_success
	[ "$(requests 'latitude=-90.0&longitude=180.0&')" -eq 1 ]
}

@test "bad ranges are usage errors: START not before END (now, without -e), years beyond 9999" {
	run --separate-stderr og-pull -m weather -L 50,4 -s 2016-01-02 -e 2016-01-01
	[ "$status" -eq 2 ]
	[ "$stderr" = "og-pull: -s START must be before -e END" ]
	run --separate-stderr og-pull -m weather -L 50,4 -s 4000000000
	[ "$status" -eq 2 ]
	[ "$stderr" = "og-pull: -s START must be before -e END" ]
	run --separate-stderr og-pull -m weather -L 50,4 -s 2016-01-01 -e 400000000000
	[ "$status" -eq 2 ]
	[ "$stderr" = "og-pull: weather only for the years 1 to 9999" ]
	[ ! -s "$W/log" ]
}
