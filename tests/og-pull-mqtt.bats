#!/usr/bin/env bats
# shellcheck disable=SC2154  # status, output and stderr are set by bats' run
# og-pull -m mqtt against a real mosquitto of each test's own, on a free
# loopback port, fed with mosquitto_pub: readings, the real tmpo blocks,
# bad messages, signals, a broker that goes away, a persistent session,
# credentials, TLS, a soak; and the live pipe into og-pack -c (job_live).

load helper

S=fed676021dacaaf6a12a8dda7685be34	# electricity, Wh
G=527a737e3b5959d25ad4bb9ff4e32b36	# gas, liters
TMPO=$BATS_TEST_DIRNAME/data/flukso-tmpo
export OG_PULL_BACKOFF=0.05

setup_file() {
	export W=$BATS_FILE_TMPDIR
	# a self-signed certificate for 127.0.0.1, its own CA
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	    -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
	    -keyout "$W/key.pem" -out "$W/cert.pem" 2>/dev/null
}

setup() {
	setup_scratch
	PULL='' BROKER='' PORT=''
}

# what a test started and left running, stopped by its PID
teardown() {
	local p
	for p in "${LIVE:-}" "$PULL" "${PACK:-}" "$BROKER"; do
		[ -z "$p" ] || { kill -TERM "$p" && wait "$p"; } 2>/dev/null || true
	done
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for FILE PATTERN: until a line of FILE matches PATTERN (grep -E),
# or 20 s (a guard against hanging, not a measure).
wait_for() {
	local i
	for ((i = 0; i < 400; i++)); do
		grep -qE -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "wait_for: no '$2' in $1:" >&2
	cat "$1" >&2
	return 1
}

# wait_lines FILE N: until FILE has N lines (or 60 s).
wait_lines() {
	local i
	for ((i = 0; i < 1200; i++)); do
		[ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.05
	done
	echo "wait_lines: $(wc -l <"$1") of $2 lines in $1" >&2
	return 1
}

# broker_start [CONF-LINE...]: a mosquitto of this test's own, persistent,
# on $PORT (a free one the first time), PID $BROKER; CONF-LINEs go to its
# listener.  Anonymous clients are allowed unless a line says otherwise.
broker_start() {
	mkdir -p "$SCRATCH/broker"
	[ -n "$PORT" ] || PORT=$(free_port)
	URL=mqtt://127.0.0.1:$PORT
	{
		echo "per_listener_settings true"
		echo "persistence true"
		echo "persistence_location $SCRATCH/broker/"
		echo "max_queued_messages 0"
		echo "user $(id -un)"
		echo "listener $PORT 127.0.0.1"
		printf '%s\n' "$@" | grep -q '^allow_anonymous' ||
		    echo "allow_anonymous true"
		printf '%s\n' "$@"
	} >"$SCRATCH/broker/conf"
	: >"$SCRATCH/broker/log"
	mosquitto -c "$SCRATCH/broker/conf" >>"$SCRATCH/broker/log" 2>&1 3>&- &
	BROKER=$!
	wait_for "$SCRATCH/broker/log" ' running$'
}

# broker_stop: mosquitto ends (saving its sessions and queues).
broker_stop() {
	kill -TERM "$BROKER"
	wait "$BROKER" || true
	BROKER=
}

# pub TOPIC MESSAGE: one message at QoS 1 (the broker has taken it).
pub() {
	mosquitto_pub -p "$PORT" -q 1 -t "$1" -m "$2"
}

# pubf TOPIC FILE: a file's bytes as one message.
pubf() {
	mosquitto_pub -p "$PORT" -q 1 -t "$1" -f "$2"
}

# session ID [ARG...]: the persistent session ID made and subscribed, its
# og-pull gone: what is published now waits for the next og-pull -i ID.
session() {
	og-pull -m mqtt -u "$URL" -i "$1" -t 0.3 "${@:2}" >/dev/null 2>&1 || true
}

# drain ID [ARG...]: og-pull -i ID until a second without a message.
drain() {
	run --separate-stderr og-pull -m mqtt -u "$URL" -i "$1" -t 1 "${@:2}"
	refute_sanitizer
}

# live [ARG...]: og-pull -m mqtt -v in the background, stdout to out and
# stderr to err, PID $PULL, once it has subscribed.
live() {
	og-pull -m mqtt -u "$URL" -v "$@" >out 2>err 3>&- &
	PULL=$!
	wait_for err 'subscribed to'
}

# The records of one tmpo block file as og-pull prints them, and on
# stderr what it says of the block, with its topic, by the rule of issue
# 20 computed here on its own: at each boundary between records in
# different level 8 children, v has one entry too many, and the two
# entries there agree.
oracle() {	# [-S] FILE...: each SENSOR/RID/LVL/BID; -S: no salvage
	python3 - "$@" <<'PY'
import gzip, json, sys
strict = sys.argv[1] == "-S"
for path in sys.argv[1 + strict:]:
    sid, rid, lvl, bid = path.split("/")[-4:]
    lvl, bid = int(lvl), int(bid)
    topic = "/sensor/%s/tmpo/%s/%d/%d/gz" % (sid, rid, lvl, bid)
    try:
        b = json.loads(gzip.open(path).read())
    except ValueError as e:
        print("og-pull: %s: bad JSON at byte %d: expected a value"
              % (topic, e.pos), file=sys.stderr)
        continue
    t, v, (t0, v0), (tn, vn) = b["t"], b["v"], b["h"]["head"], b["h"]["tail"]
    times = [t0 + sum(t[:i + 1]) for i in range(len(t))]
    joints = [i for i in range(1, len(t))
              if (times[i] - bid) >> 8 != (times[i - 1] - bid) >> 8]
    if len(v) != len(t) and strict:
        print("og-pull: %s: v has %d values, t has %d" % (topic, len(v), len(t)),
              file=sys.stderr)
        continue
    if len(v) != len(t):
        assert len(v) - len(t) == len(joints)
        drop = [i + j for j, i in enumerate(joints)]
        assert all(v[k] == v[k + 1] for k in drop)
        v = [x for k, x in enumerate(v) if k not in drop]
        print("og-pull: %s: salvaged: %d extra v entries at child boundaries"
              % (topic, len(drop)), file=sys.stderr)
    values = [v0 + sum(v[:i + 1]) for i in range(len(v))]
    assert times[-1] == tn and values[-1] == vn
    for x, y in zip(times, values):
        print("%s\t%d\t%r" % (sid, x, float(y)))
PY
}

# The real blocks, by sensor, level and bid.
blocks() {
	(cd "$TMPO" && find . -type f | sed 's|^\./||' |
	    sort -t / -k 1,1 -k 3,3n -k 4,4n | sed "s|^|$TMPO/|")
}

pub_blocks() {
	local f
	for f in $(blocks); do
		IFS=/ read -r sid rid lvl bid <<<"${f#"$TMPO"/}"
		pubf "/sensor/$sid/tmpo/$rid/$lvl/$bid/gz" "$f"
	done
}

@test "counters and gauges print as records, values exact, whatever firmware wrote them" {
	broker_start
	session one
	pub /sensor/$S/counter '[1404230000,5000000,"Wh"]'	# flm02 fluksod.lua
	pub /sensor/$S/gauge '[1404230001,312,"W"]'
	pub /sensor/$G/counter '[1404230002, 123456.125, "L"]'	# flm03 flxd
	pub /sensor/$G/gauge '[1404230003, -0.500, "L/day"]'
	pub /sensor/$S/counter '[1404230004,5000001]'		# older fluksod
	pub /sensor/$S/gauge '[1404230005, 0.100, ""]'		# flxd: pf has no unit
	pub /sensor/$S/gauge '[1404230006, 12.5, "°"]'		# nor ASCII
	pub /sensor/$S/gauge ' [ 1404230007 , 1e3 , "W" ] '
	pub /sensor/$S/counter '[-5, 9007199254740993, "Wh"]'
	drain one
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff - <(printf '%s\n' "$output") <<EOF
$S	1404230000	5000000.0
$S/gauge	1404230001	312.0
$G	1404230002	123456.125
$G/gauge	1404230003	-0.5
$S	1404230004	5000001.0
$S/gauge	1404230005	0.1
$S/gauge	1404230006	12.5
$S/gauge	1404230007	1000.0
$S	-5	9007199254740992.0
EOF
}

@test "each message's records are written at once, not when og-pull ends" {
	broker_start
	live
	pub /sensor/$S/counter '[1404230000,5000000,"Wh"]'
	wait_for out "^$S	1404230000	5000000.0$"
	kill -0 "$PULL"
	pub /sensor/$S/gauge '[1404230001,312,"W"]'
	wait_for out "^$S/gauge	1404230001	312.0$"
	kill -0 "$PULL"
}

@test "the real tmpo blocks: valid ones print, the 17 old firmware compacted wrongly are salvaged, the non-JSON one is named" {
	broker_start
	session blocks
	pub_blocks
	# shellcheck disable=SC2046
	oracle $(blocks) >expected 2>expected.err
	[ "$(blocks | wc -l)" -eq 34 ]
	[ "$(grep -c ': salvaged: ' expected.err)" -eq 17 ]
	drain blocks
	[ "$status" -eq 1 ]
	diff expected <(printf '%s\n' "$output")
	diff expected.err <(printf '%s\n' "$stderr")
	grep -q "^og-pull: /sensor/$S/tmpo/0/20/1402994688/gz: bad JSON at byte 13059: expected a value$" expected.err
	[ "${#lines[@]}" -eq "$(wc -l <expected)" ]
}

@test "-S: the blocks old firmware compacted wrongly are refused, the valid ones print" {
	broker_start
	session strict -S
	pub_blocks
	# shellcheck disable=SC2046
	oracle -S $(blocks) >expected 2>expected.err
	[ "$(grep -c ': v has [0-9]* values, t has [0-9]*$' expected.err)" -eq 17 ]
	drain strict -S
	[ "$status" -eq 1 ]
	diff expected <(printf '%s\n' "$output")
	diff expected.err <(printf '%s\n' "$stderr")
}

@test "bad messages of every kind are named by topic and the stream goes on; the status says so" {
	broker_start
	session bad
	good=0
	ok() {	# a good reading after each bad one
		good=$((good + 1))
		pub /sensor/$S/counter "[$((1404230000 + good)),$good,\"Wh\"]"
	}
	c=/sensor/$S/counter g=/sensor/$G/gauge t=/sensor/$S/tmpo/0/8
	pub $c 'garbage'; ok
	mosquitto_pub -p "$PORT" -q 1 -t $c -n; ok
	pub $c '{"t": 1404230000, "v": 5}'; ok
	pub $c '[1404230000]'; ok
	pub $c '[1404230000,5,"Wh",1]'; ok
	pub $g '["1404230000",5,"W"]'; ok
	pub $g '[1404230000.5,5,"W"]'; ok
	pub $g '[1404230000,"5","W"]'; ok
	pub $g '[1404230000,1e999,"W"]'; ok
	pub $g '[1404230000,5,7]'; ok
	pub $g '[1404230000,5,"W"'; ok
	pub $g '[1404230000,,5]'; ok
	pub $t/1404223744/gz 'not gzip'; ok
	head -c 100 "$TMPO/$S/0/8/1404223744" >cut.gz
	pubf $t/1404223744/gz cut.gz; ok
	printf '{"h":{}}' | gzip >nohead.gz
	pubf $t/1404223744/gz nohead.gz; ok
	pubf $t/1404224000/gz "$TMPO/$S/0/8/1404223744"; ok	# another block's
	pubf $t/1404223745/gz "$TMPO/$S/0/8/1404223744"; ok
	pubf $t/x/gz "$TMPO/$S/0/8/1404223744"; ok
	pubf /sensor/$S/tmpo/0/8/1404223744 "$TMPO/$S/0/8/1404223744"; ok
	pub /sensor/$S/tmpo/sync '[]'; ok
	pub /sensor/fed67602/counter '[1404230000,5,"Wh"]'; ok
	pub "/sensor/café/gauge" '[1404230000,5,"W"]'; ok
	drain bad
	[ "$status" -eq 1 ]
	diff - <(printf '%s\n' "$stderr") <<EOF
og-pull: $c: bad JSON at byte 0: expected a value
og-pull: $c: bad JSON at byte 0: unexpected end
og-pull: $c: not [time, value] or [time, value, "unit"]
og-pull: $c: not [time, value] or [time, value, "unit"]
og-pull: $c: not [time, value] or [time, value, "unit"]
og-pull: $g: bad time (not an integer)
og-pull: $g: bad time (not an integer)
og-pull: $g: bad value (not a number)
og-pull: $g: bad value (not a number)
og-pull: $g: bad unit (not a string)
og-pull: $g: bad JSON at byte 17: unexpected end
og-pull: $g: bad JSON at byte 12: expected a value
og-pull: $t/1404223744/gz: not gzip data
og-pull: $t/1404223744/gz: gzip data truncated
og-pull: $t/1404223744/gz: bad or missing head
og-pull: $t/1404224000/gz: time 1404223765 at t[0] is outside the block
og-pull: $t/1404223745/gz: bad block lvl 8 bid 1404223745
og-pull: $t/x/gz: not a sensor topic (/sensor/ID/counter, /sensor/ID/gauge or /sensor/ID/tmpo/RID/LVL/BID/gz)
og-pull: /sensor/$S/tmpo/0/8/1404223744: not a sensor topic (/sensor/ID/counter, /sensor/ID/gauge or /sensor/ID/tmpo/RID/LVL/BID/gz)
og-pull: /sensor/$S/tmpo/sync: not a sensor topic (/sensor/ID/counter, /sensor/ID/gauge or /sensor/ID/tmpo/RID/LVL/BID/gz)
og-pull: /sensor/fed67602/counter: bad sensor id (expected 32 hex digits)
og-pull: /sensor/caf\303\251/gauge: bad sensor id (expected 32 hex digits)
EOF
	[ "${#lines[@]}" -eq "$good" ]
	for ((i = 1; i <= good; i++)); do
		[ "${lines[i - 1]}" = "$S	$((1404230000 + i))	$i.0" ]
	done
}

@test "a long topic is shown cut short, its bytes printable" {
	broker_start
	session long
	pub "/sensor/$(printf 'é%.0s' {1..100})/gauge" '[1,2,"W"]'
	drain long
	[ "$status" -eq 1 ]
	[ "$stderr" = "og-pull: /sensor/$(printf '\\303\\251%.0s' {1..56})...: bad sensor id (expected 32 hex digits)" ]
}

@test "the sensors on stdin are the ones read; their tokens are not needed and never shown" {
	broker_start
	printf '%s\tt0k3n-0ne\n\nnot-a-sensor\tt0k3n-tw0\n%s\t1404230000\n%s\n' \
	    $S $S $G >sensors
	session few <sensors
	pub /sensor/$S/counter '[1404230000,5,"Wh"]'
	pub /sensor/$G/counter '[1404230001,6,"L"]'
	pub /sensor/c0ffee00000000000000000000000001/counter '[1404230002,7,"Wh"]'
	pub /sensor/$S/gauge '[1404230003,8,"W"]'
	drain few <sensors
	[ "$status" -eq 1 ]
	[ "$output" = "$S	1404230000	5.0
$G	1404230001	6.0
$S/gauge	1404230003	8.0" ]
	[ "$stderr" = "og-pull: <stdin>:3: bad sensor id (expected 32 hex digits)
og-pull: <stdin>:4: $S: sensor given twice" ]
	[[ $stderr != *t0k3n* ]]
}

@test "SIGTERM and SIGINT end og-pull between two records: every line whole, status 0 or 1" {
	broker_start
	seq 1 50000 | awk '{ printf "[%d,%d,\"Wh\"]\n", 1400000000 + $1, $1 }' >msgs
	awk -v s=$S '{ printf "%s\t%d\t%d.0\n", s, 1400000000 + $1, $1 }' <(seq 1 50000) >all
	for sig in TERM INT; do
		live
		mosquitto_pub -p "$PORT" -q 1 -t /sensor/$S/counter -l <msgs 3>&- &
		publisher=$!
		wait_lines out 1000
		kill -$sig "$PULL"
		status=0
		wait "$PULL" || status=$?
		PULL=
		wait $publisher
		[ "$status" -eq 0 ]
		[ "$(tail -c 1 out | od -An -c | tr -d ' ')" = '\n' ]
		n=$(wc -l <out)
		head -n "$n" all | diff - out
		[ "$(grep -vc 'subscribed to\|connected$' err)" -eq 0 ]
	done
	# a bad message before the signal: status 1
	live
	pub /sensor/$S/counter 'garbage'
	wait_for err 'bad JSON'
	kill -TERM "$PULL"
	status=0
	wait "$PULL" || status=$?
	PULL=
	[ "$status" -eq 1 ]
}

@test "a broker restart in the middle loses nothing: QoS 1, a persistent session, og-pull reconnecting" {
	broker_start
	live -i keep
	for i in 1 2 3; do pub /sensor/$S/counter "[$((1404230000 + i)),$i,\"Wh\"]"; done
	wait_lines out 3
	broker_stop
	wait_for err "^og-pull: $URL: connection lost: .*; trying again in 0.05 s$"
	wait_for err "^og-pull: $URL: cannot connect: Connection refused; trying again in 0.1 s$"
	broker_start
	wait_for err "^og-pull: $URL: connected again$"
	for i in 4 5 6; do pub /sensor/$S/counter "[$((1404230000 + i)),$i,\"Wh\"]"; done
	wait_lines out 6
	kill -TERM "$PULL"
	wait "$PULL"
	PULL=
	mv out out.1
	# og-pull gone, what is published waits in its session, through a
	# restart of the broker too
	for i in 7 8 9; do pub /sensor/$S/counter "[$((1404230000 + i)),$i,\"Wh\"]"; done
	broker_stop
	broker_start
	drain keep
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	printf '%s\n' "$output" >>out.1
	for i in $(seq 9); do printf '%s\t%s\t%s.0\n' $S $((1404230000 + i)) $i; done |
	    diff - out.1
}

@test "no broker: og-pull tries again, waiting twice as long each time, and ends only when told" {
	PORT=$(free_port)
	run --separate-stderr og-pull -m mqtt -u mqtt://127.0.0.1:$PORT -t 1 </dev/null
	refute_sanitizer
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	printf '%s\n' "$stderr" | head -n 4 | diff - <(
	    for w in 0.05 0.1 0.2 0.4; do
		echo "og-pull: mqtt://127.0.0.1:$PORT: cannot connect: Connection refused; trying again in $w s"
	    done)
	[ "${stderr##*$'\n'}" = "og-pull: mqtt://127.0.0.1:$PORT: never connected" ]
}

@test "a soak of 100 k messages: every record arrives, and memory stays flat" {
	broker_start
	session soak
	msgs() {	# N FROM: N counter readings of 4 sensors, from time FROM
		awk -v n="$1" -v f="$2" 'BEGIN { for (i = 0; i < n / 4; i++)
		    printf "[%d,%d,\"Wh\"]\n", f + i, f + i }' >msgs
		local k pids=()
		for k in 1 2 3 4; do
			mosquitto_pub -p "$PORT" -q 1 -t /sensor/c0ffee0000000000000000000000000$k/counter -l <msgs 3>&- &
			pids+=($!)
		done
		wait "${pids[@]}"
	}
	# shellcheck disable=SC2046
	nblock=$(oracle $(blocks) 2>/dev/null | wc -l)
	og-pull -m mqtt -u "$URL" -i soak >out 2>err 3>&- &
	PULL=$!
	# the allocator settles in while the first blocks come twice
	msgs 10000 1000000000
	pub_blocks
	pub_blocks
	wait_lines out $((10000 + 2 * nblock))
	early=$(awk '/^VmRSS/ { print $2 }' /proc/$PULL/status)
	msgs 90000 1100000000
	pub_blocks
	pub_blocks
	wait_lines out $((100000 + 4 * nblock))
	late=$(awk '/^VmRSS/ { print $2 }' /proc/$PULL/status)
	kill -TERM "$PULL"
	status=0
	wait "$PULL" || status=$?
	PULL=
	[ "$status" -eq 1 ]	# the non-JSON block, four times
	[ "$(grep -vc salvaged err)" -eq 4 ]
	[ "$(wc -l <out)" -eq $((100000 + 4 * nblock)) ]
	[ "$(grep -c '^c0ffee' out)" -eq 100000 ]
	echo "RSS after 10 k messages: $early kB, after 100 k: $late kB"
	case $OG_BIN in
	*/asan) ;;	# ASan keeps what is freed in quarantine: not flat there
	*) [ "$late" -lt $((early + 1024)) ] ;;
	esac
}

@test "credentials come from a file only its owner can read, never from the command line" {
	mkdir -p broker
	mosquitto_passwd -c -b broker/passwd ogreader 's3cr3t pass' 2>/dev/null
	broker_start allow_anonymous\ false "password_file $SCRATCH/broker/passwd"
	printf 'ogreader s3cr3t pass\n' >login
	chmod 600 login
	og-pull -m mqtt -u "$URL" -K login -v >out 2>err </dev/null 3>&- &
	PULL=$!
	wait_for err 'subscribed to'
	[ "$(tr '\0' ' ' </proc/$PULL/cmdline | grep -c s3cr3t)" -eq 0 ]
	pub_login() { mosquitto_pub -p "$PORT" -u ogreader -P 's3cr3t pass' -q 1 "$@"; }
	pub_login -t /sensor/$S/counter -m '[1404230000,5,"Wh"]'
	wait_for out "^$S	1404230000	5.0$"
	kill -TERM "$PULL"
	wait "$PULL"
	PULL=
	# readable by others: refused before anything else
	chmod 644 login
	run --separate-stderr og-pull -m mqtt -u "$URL" -K login -t 1 </dev/null
	[ "$status" -eq 1 ]
	[ "$stderr" = "og-pull: login: token file readable by others (mode 0644); chmod 600 it" ]
	# a wrong password: refused by the broker, said so, never shown
	printf 'ogreader wrong-pass\n' >login
	chmod 600 login
	run --separate-stderr og-pull -m mqtt -u "$URL" -K login -t 1 </dev/null
	refute_sanitizer
	[ "$status" -eq 1 ]
	[[ "${stderr%%$'\n'*}" == "og-pull: $URL: cannot connect: "*"not authorised"*"; trying again in 0.05 s" ]]
	[ "${stderr##*$'\n'}" = "og-pull: $URL: never connected" ]
	[[ $stderr != *wrong-pass* ]]
	# the file holds one login
	printf 'ogreader s3cr3t pass\nother x\n' >login
	run --separate-stderr og-pull -m mqtt -u "$URL" -K login -t 1 </dev/null
	[ "$status" -eq 1 ]
	[ "$stderr" = "og-pull: login: expected one line USER PASSWORD" ]
	printf 'ogreader\n' >login
	run --separate-stderr og-pull -m mqtt -u "$URL" -K login -t 1 </dev/null
	[ "$status" -eq 1 ]
	[ "$stderr" = "og-pull: login:1: expected USER PASSWORD" ]
	# in the URL, it is a usage error that does not repeat it
	run --separate-stderr og-pull -m mqtt -u "mqtt://ogreader:s3cr3t@127.0.0.1:$PORT" </dev/null
	[ "$status" -eq 2 ]
	[ "$stderr" = "og-pull: bad -u for -m mqtt: a user or password in the URL would show in the process list: give them in a file with -K" ]
}

@test "mqtts verifies the broker's certificate unless -k" {
	broker_start "certfile $W/cert.pem" "keyfile $W/key.pem"
	url=mqtts://127.0.0.1:$PORT
	run --separate-stderr og-pull -m mqtt -u "$url" -t 3 </dev/null
	refute_sanitizer
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "${stderr%%$'\n'*}" == "og-pull: $url: cannot connect: "*"certificate verify failed"*"; trying again in 0.05 s" ]]
	# and so on every try, not only the first
	[ "$(printf '%s\n' "$stderr" | grep -vc 'certificate verify failed')" -eq 1 ]
	[ "${#stderr_lines[@]}" -gt 2 ]
	[ "${stderr##*$'\n'}" = "og-pull: $url: never connected" ]
	# -k: no check; the certificate as a CA: checked and taken
	for how in -k ca; do
		if [ $how = -k ]; then
			og-pull -m mqtt -u "$url" -k -v >out 2>err </dev/null 3>&- &
		else
			SSL_CERT_FILE=$W/cert.pem og-pull -m mqtt -u "$url" -v >out 2>err </dev/null 3>&- &
		fi
		PULL=$!
		wait_for err 'subscribed to'
		mosquitto_pub -p "$PORT" --cafile "$W/cert.pem" -q 1 -t /sensor/$S/counter -m '[1404230000,5,"Wh"]'
		wait_for out "^$S	1404230000	5.0$"
		kill -TERM "$PULL"
		wait "$PULL"
		PULL=
	done
}

@test "usage errors: the mode's URL, options of other modes" {
	run --separate-stderr og-pull -m mqtt </dev/null
	[ "$status" -eq 2 ]
	[ "$stderr" = "og-pull: bad -u for -m mqtt: not an mqtt:// or mqtts:// URL" ]
	for u in http://127.0.0.1 mqtt:// mqtt://h:0 mqtt://h:65536 mqtt://h:x mqtt://h/topic 'mqtt://[::1'; do
		run --separate-stderr og-pull -m mqtt -u "$u" </dev/null
		[ "$status" -eq 2 ]
		[[ "$stderr" == "og-pull: bad -u for -m mqtt: "* ]]
	done
	run --separate-stderr og-pull -m mqtt -u mqtt://127.0.0.1 -s 2016-01-01 </dev/null
	[ "$status" -eq 2 ]
	[ "$stderr" = "og-pull: -s, -e, -r, -U, -j and -R are not for -m mqtt" ]
	run --separate-stderr og-pull -i me </dev/null
	[ "$status" -eq 2 ]
	[ "$stderr" = "og-pull: -i CLIENTID is for -m mqtt" ]
}

@test "the live pipe into og-pack -c 1: records reach the store while it runs" {
	broker_start
	mkfifo pipe
	og-pack -c 1 store <pipe 2>pack.err 3>&- &
	PACK=$!
	og-pull -m mqtt -u "$URL" -i pipe -v >pipe 2>err </dev/null 3>&- &
	PULL=$!
	wait_for err 'subscribed to'
	pub /sensor/$S/counter '[1404230000,5,"Wh"]'
	pub /sensor/$S/gauge '[1404230000,300,"W"]'
	for ((i = 0; i < 400; i++)); do
		[ "$(og-unpack store 2>/dev/null | wc -l)" -eq 2 ] && break
		sleep 0.05
	done
	[ "$(og-unpack store)" = "$S	1404230000	5.0
$S/gauge	1404230000	300.0" ]
	kill -0 "$PULL"
	kill -0 "$PACK"
	kill -TERM "$PULL"
	wait "$PULL"
	wait "$PACK"
	PULL=
	[ "$(og-unpack store | wc -l)" -eq 2 ]
}

@test "job_live keeps the pipe running: og-pack killed with -9 is restarted and the committed records stay" {
	broker_start
	# the session exists before job_live starts: the broker queues what
	# comes before og-pull has subscribed
	session live
	OG_LIVE_BACKOFF=0.1 job_live -c 1 -i live "$URL" store 2>live.err 3>&- &
	LIVE=$!
	wait_for live.err 'started'
	for i in 1 2 3; do pub /sensor/$S/counter "[$((1404230000 + i)),$i,\"Wh\"]"; done
	for ((i = 0; i < 400; i++)); do
		[ "$(og-unpack store 2>/dev/null | wc -l)" -eq 3 ] && break
		sleep 0.05
	done
	[ "$(og-unpack store | wc -l)" -eq 3 ]
	pack=$(sed -n 's/^job_live: started .* (pid \([0-9]*\))$/\1/p' live.err)
	kill -9 "$pack"
	# og-pull ends by the TERM job_live sends (0), or first by its broken
	# pipe (1) when a message came in between
	wait_for live.err "^job_live: og-pull ended \([01]\), og-pack ended \(137\); restarting in 0.1 s$"
	for ((i = 0; i < 400; i++)); do
		[ "$(grep -c '^job_live: started' live.err)" -eq 2 ] && break
		sleep 0.05
	done
	[ "$(grep -c '^job_live: started' live.err)" -eq 2 ]
	for i in 4 5 6; do pub /sensor/$S/counter "[$((1404230000 + i)),$i,\"Wh\"]"; done
	for ((i = 0; i < 400; i++)); do
		[ "$(og-unpack store 2>/dev/null | wc -l)" -eq 6 ] && break
		sleep 0.05
	done
	kill -TERM "$LIVE"
	wait "$LIVE"
	LIVE=
	for i in $(seq 6); do printf '%s\t%s\t%s.0\n' $S $((1404230000 + i)) $i; done |
	    diff - <(og-unpack store)
}
