#!/usr/bin/env bats
# shellcheck disable=SC2154  # status, output and stderr are set by bats' run
# og-pull against the local Flukso stand-in (tests/flukso_server.py): the
# real tmpo blocks, crafted ones, a year of built ones, the sensor API, and
# every network fault the stand-in can inject.

load helper

FED=fed676021dacaaf6a12a8dda7685be34	# electricity, Wh
GAS=527a737e3b5959d25ad4bb9ff4e32b36	# gas, liters
FED_TOKEN=e1ec7r1c17y0f7h3h0u5e0000000000a
GAS_TOKEN=9a5m3t3r0f7h3h0u5e00000000000000b
C1=c0ffee00000000000000000000000001	# crafted: one rule broken per block
C2=c0ffee00000000000000000000000002	# crafted: a valid level 12 over level 8s
C3=c0ffee00000000000000000000000003	# crafted: a malformed level 12 over level 8s
C4=c0ffee00000000000000000000000004	# crafted: recycle ids 0 and 1
C5=c0ffee00000000000000000000000005	# crafted: level 12 blocks to salvage or not
C6=c0ffee00000000000000000000000006	# crafted: JSON jsmn alone would take
CTOKEN=cr4f7edt0ken
TMPO=$BATS_TEST_DIRNAME/data/flukso-tmpo

setup_file() {
	local w=$BATS_FILE_TMPDIR i
	export W=$w
	python3 "$BATS_TEST_DIRNAME/flukso_server.py" build --key e1de \
	    "$BATS_TEST_DIRNAME/data/electricity_2016_hour.tsv.gz" "$w/year" \
	    >"$w/year.line"
	# a day and a half of minutes, every level kept
	gzip -dc "$BATS_TEST_DIRNAME/data/elec_power_min_1sensor.tsv.gz" |
	    head -n 2160 >"$w/minutes.tsv"
	python3 "$BATS_TEST_DIRNAME/flukso_server.py" build --keep \
	    --sensor 6ee9000000000000000000000000000a --token k33pt0k3n \
	    "$w/minutes.tsv" "$w/keep" >"$w/keep.line"
	python3 - "$w/crafted" <<'PY'
import gzip, json, os, sys
root = sys.argv[1]
def put(sid, lvl, bid, doc, raw=None, rid=0):
    d = os.path.join(root, sid, str(rid), str(lvl))
    os.makedirs(d, exist_ok=True)
    data = raw if raw is not None else gzip.compress(json.dumps(doc).encode(), mtime=0)
    open(os.path.join(d, str(bid)), "wb").write(data)
def blk(head, t, v, tail, **extra):
    b = {"t": t, "v": v, "h": {"vsn": 1, "tail": tail, "head": head,
         "cfg": {"type": "electricity", "data_type": "counter"}}}
    b.update(extra)
    return b
C1 = "c0ffee00000000000000000000000001"
put(C1, 8, 1000192, blk([1000200, 50], [0, 10, 20], [0, 1, 2], [1000230, 53]))
put(C1, 8, 1000448, blk([1000440, 53], [0, 10], [0, 1], [1000450, 54]))
put(C1, 8, 1000704, blk([1000710, 54], [0, 5, 0], [0, 1, 1], [1000715, 56]))
put(C1, 8, 1000960, blk([1000970, 56], [0, 5, 5], [0, 1, 1], [1000980, 59]))
put(C1, 8, 1001216, blk([1001220, 59], [3, 5], [0, 1], [1001228, 60]))
put(C1, 8, 1001472, blk([1001480, 0.5], [0, 1, 2], [0, 0.1, 0.2], [1001483, 0.8]))
put(C1, 8, 1001728, None, raw=b'{"h":{}}')
put(C1, 8, 1001984, blk([1001990, 60], [0, 5], [0, 1], [1001996, 61]))
put(C1, 8, 1002240, {"t": [0], "v": [0]})
put(C1, 8, 1002496, blk([1002500, 61], [0, "1"], [0, 1], [1002501, 62]))
put(C1, 8, 1002752, None, raw=gzip.compress(b'{"h":{}, "t":[0] "v":[0]}', mtime=0))
put(C1, 8, 1003008, None, raw=gzip.compress(b'{"h":{}}', mtime=0)[:-6])
# a valid level 12 block over level 8 blocks that say otherwise
C2 = "c0ffee00000000000000000000000002"
put(C2, 12, 1003520, blk([1003530, 100], [0, 100, 1000], [0, 5, 5], [1004630, 110]))
put(C2, 8, 1003520, blk([1003530, 999], [0, 1], [0, 1], [1003531, 1000]))
put(C2, 8, 1004544, blk([1004550, 999], [0, 1], [0, 1], [1004551, 1000]))
put(C2, 8, 1007616, blk([1007620, 110], [0, 9], [0, 2], [1007629, 112]))
# a level 12 block malformed as old firmware did, over valid level 8 blocks
C3 = "c0ffee00000000000000000000000003"
put(C3, 12, 1003520, blk([1003530, 100], [0, 100], [0, 5, 5], [1003630, 110]))
put(C3, 8, 1003520, blk([1003530, 100], [0, 100], [0, 5], [1003630, 105]))
put(C3, 8, 1004544, blk([1004550, 105], [0, 1], [0, 5], [1004551, 110]))
put(C3, 8, 1007616, blk([1007620, 110], [0, 9], [0, 2], [1007629, 112]))
# a counter reset: recycle id 1 after 0
C4 = "c0ffee00000000000000000000000004"
put(C4, 8, 1000192, blk([1000200, 500], [0, 10], [0, 1], [1000210, 501]))
put(C4, 8, 1000448, blk([1000450, 0], [0, 10], [0, 1], [1000460, 1]), rid=1)
# level 12 blocks compacted as old firmware did, one extra v entry at the
# boundary of children 0 and 1: salvageable, over level 8 blocks that say
# the same; the two entries differ; two extra entries for one boundary
C5 = "c0ffee00000000000000000000000005"
put(C5, 12, 1003520, blk([1003530, 100], [0, 100, 300], [0, 5, 7, 7], [1003930, 112]))
put(C5, 8, 1003520, blk([1003530, 100], [0, 100], [0, 5], [1003630, 105]))
put(C5, 8, 1003776, blk([1003930, 112], [0], [0], [1003930, 112]))
put(C5, 12, 1007616, blk([1007620, 200], [0, 100, 300], [0, 5, 2, 7], [1008020, 212]))
put(C5, 8, 1007616, blk([1007620, 200], [0, 100], [0, 5], [1007720, 205]))
put(C5, 12, 1011712, blk([1011720, 300], [0, 100, 300], [0, 5, 5, 5, 5], [1012120, 310]))
# malformed JSON that jsmn (even with JSMN_STRICT) tokenizes without a word
C6 = "c0ffee00000000000000000000000006"
H = b'{"h":{"head":[1000200,50],"tail":[1000210,51]},'
for k, rest in enumerate([b'"t":[0,,10],"v":[0,1]}', b'"t":[0 10],"v":[0,1]}',
        b'"t":[0,10],"v":[0,-]}', b'"t":[0,10],"v":[0,1],"x":tru}',
        b'"t":[0,10],"v":[0,01]}', b'"t":[0,10],"v":[0,1],}',
        b'"t" [0,10],"v":[0,1]}', b'[' * 100000 + b']' * 100000]):
    put(C6, 8, 1000192 + 256 * k, None, raw=gzip.compress(
        (H + rest) if k < 7 else rest, mtime=0))
PY
	{
		cat "$BATS_TEST_DIRNAME/data/pull/tokens" "$w/year/tokens" \
		    "$w/keep/tokens"
		for i in 1 2 3 4 5 6; do echo "c0ffee0000000000000000000000000$i cr4f7edt0ken"; done
	} >"$w/tokens"
	# the level 12 block 1004 ... of the kept set, broken as old firmware did
	python3 - "$w/keep" <<'PY'
import gzip, json, os, sys
d = os.path.join(sys.argv[1], "6ee9000000000000000000000000000a", "0", "12")
up = [(int(l), int(b)) for l in ("16", "20") if os.path.isdir(d + "/../" + l)
      for b in os.listdir(d + "/../" + l)]
bid = [b for b in sorted(os.listdir(d), key=int)
       if not any(B <= int(b) < B + (1 << L) for L, B in up)][0]
p = os.path.join(d, bid)
b = json.loads(gzip.open(p).read())
b["v"].append(1)
open(p, "wb").write(gzip.compress(json.dumps(b).encode(), mtime=0))
open(os.path.join(sys.argv[1], "broken"), "w").write(bid + "\n")
PY
	python3 "$BATS_TEST_DIRNAME/flukso_server.py" serve --tokens "$w/tokens" \
	    --port-file "$w/port" --faults "$w/faults" --log "$w/log" \
	    "$TMPO" "$w/year" "$w/keep" "$w/crafted" >/dev/null 2>"$w/server.err" 3>&- &
	echo $! >"$w/server.pid"
	for i in $(seq 100); do
		[ -s "$w/port" ] && break
		sleep 0.1
	done
	[ -s "$w/port" ] || { cat "$w/server.err"; return 1; }
	OG_API_URL=http://127.0.0.1:$(cat "$w/port")
	export OG_API_URL
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

# the two real sensors, as og-meta -f sensor,token prints them
real() {
	printf '%s\t%s\n' $FED $FED_TOKEN $GAS $GAS_TOKEN
}

# records of tmpo block files in order of bid, by the rules alone:
# time i = head time + t[0] + ... + t[i], value likewise
decode() {	# SENSOR FILE...
	python3 - "$@" <<'PY'
import gzip, json, sys
sid, files = sys.argv[1], sys.argv[2:]
out = []
for f in sorted(files, key=lambda f: int(f.rsplit("/", 1)[1])):
    b = json.loads(gzip.open(f).read())
    t, v = b["h"]["head"]
    for dt, dv in zip(b["t"], b["v"]):
        t += dt
        v += dv
        out.append("%s\t%d\t%r\n" % (sid, t, float(v)))
sys.stdout.write("".join(out))
PY
}

# the number of requests the stand-in logged whose path matches a regex
requests() {
	grep -c -E "$1" "$W/log" || true
}

@test "-S: every valid real block decodes to its running sums, and only those print" {
	decode $FED "$TMPO"/$FED/0/8/* >expected
	decode $GAS "$TMPO"/$GAS/0/12/* "$TMPO"/$GAS/0/8/* >>expected
	real | og-pull -S >out 2>err || status=$?
	[ "$status" -eq 1 ]
	diff expected out
	[ "$(wc -l <out)" -eq 155 ]
}

@test "-S: every malformed real block is rejected by name and none of its values print" {
	python3 - "$TMPO" >expected <<'PY'
import gzip, json, os, sys
for sid in ("fed676021dacaaf6a12a8dda7685be34", "527a737e3b5959d25ad4bb9ff4e32b36"):
    for lvl in ("12", "16", "20"):
        d = os.path.join(sys.argv[1], sid, "0", lvl)
        for bid in sorted(os.listdir(d)):
            s = gzip.open(os.path.join(d, bid)).read()
            try:
                b = json.loads(s)
            except ValueError as e:
                why = "bad JSON at byte %d: expected a value" % e.pos
            else:
                if len(b["t"]) == len(b["v"]):
                    continue
                why = "v has %d values, t has %d" % (len(b["v"]), len(b["t"]))
            print("og-pull: %s rid 0 lvl %s bid %s: %s" % (sid, lvl, bid, why))
PY
	sort -o expected expected
	real >in
	run --separate-stderr og-pull -q -S <in
	refute_sanitizer
	[ "$status" -eq 1 ]
	[ "$(wc -l <expected)" -eq 18 ]
	grep -q "$FED rid 0 lvl 20 bid 1402994688: bad JSON at byte 13059: expected a value" expected
	diff expected <(printf '%s\n' "$stderr" | sort)
	# no record falls in a rejected block: fed's start at its first level 8
	[ -z "$(printf '%s\n' "$output" | awk -v f=$FED '$1 == f && $2 < 1404223488')" ]
}

# The rule of issue 20, applied on its own: at each boundary between
# records in different level 8 children, v has one entry too many, and
# the two entries there (v[i + j] and v[i + j + 1] for the j-th boundary,
# record i starting the new child) agree.
salvage() {	# SENSOR: that sensor's real blocks, salvaged, in time order
	python3 - "$TMPO" "$1" <<'PY'
import gzip, json, os, sys
root, sid = sys.argv[1], sys.argv[2]
blocks = sorted((int(b), int(l)) for l in os.listdir(f"{root}/{sid}/0")
                for b in os.listdir(f"{root}/{sid}/0/{l}"))
for bid, lvl in blocks:
    try:
        b = json.loads(gzip.open(f"{root}/{sid}/0/{lvl}/{bid}").read())
    except ValueError:
        continue
    t, v, (t0, v0), (tn, vn) = b["t"], b["v"], b["h"]["head"], b["h"]["tail"]
    times = [t0 + sum(t[:i + 1]) for i in range(len(t))]
    joints = [i for i in range(1, len(t))
              if (times[i] - bid) >> 8 != (times[i - 1] - bid) >> 8]
    if len(v) != len(t):
        assert len(v) - len(t) == len(joints)
        drop = [i + j for j, i in enumerate(joints)]
        assert all(v[k] == v[k + 1] for k in drop)
        v = [x for k, x in enumerate(v) if k not in drop]
        print("og-pull: %s rid 0 lvl %d bid %d: salvaged: %d extra v entries "
              "at child boundaries" % (sid, lvl, bid, len(drop)), file=sys.stderr)
    values = [v0 + sum(v[:i + 1]) for i in range(len(v))]
    assert times[-1] == tn and values[-1] == vn
    for x, y in zip(times, values):
        print("%s\t%d\t%r" % (sid, x, float(y)))
PY
}

@test "the 17 real blocks old firmware compacted wrongly are salvaged and named; the non-JSON one is not" {
	{ salvage $FED; salvage $GAS; } >expected 2>expected.err
	echo "og-pull: $FED rid 0 lvl 20 bid 1402994688: bad JSON at byte 13059: expected a value" >>expected.err
	real >in
	run --separate-stderr og-pull <in
	refute_sanitizer
	[ "$status" -eq 1 ]
	diff expected <(printf '%s\n' "$output")
	diff <(sort expected.err) <(printf '%s\n' "$stderr" | sort)
	[ "$(grep -c ': salvaged: ' expected.err)" -eq 17 ]
	# 15 for each level 12 block of fed, 255 for its level 16 ones; 15 and
	# 17 for the level 16 blocks of gas, 97 for its level 20 one
	[ "$(grep -o 'salvaged: [0-9]*' expected.err | sort | uniq -c |
	    awk '{ printf "%s x %s, ", $1, $3 }')" = "13 x 15, 1 x 17, 2 x 255, 1 x 97, " ]
	[ "${#lines[@]}" -eq 23137 ]
	# -q keeps the notices to itself, not the error
	run --separate-stderr og-pull -q <in
	[ "$status" -eq 1 ]
	[ "$stderr" = "og-pull: $FED rid 0 lvl 20 bid 1402994688: bad JSON at byte 13059: expected a value" ]
	diff expected <(printf '%s\n' "$output")
}

@test "a salvaged level 12 block, computed by hand: 133 readings one Wh apart" {
	# fed's level 12 block 1404174336 has head [1404174337, 2508952], tail
	# [1404178405, 2509084], 133 times and 148 values: 0, then 147 ones.
	# Its 15 child boundaries each drop a 1, so the readings climb from
	# 2508952 by one Wh a record to 2509084 = 2508952 + 132.
	printf '%s\t%s\t%s\n' $FED $FED_TOKEN 1404174336 >in
	og-pull -e 1404178432 <in >out 2>err
	[ "$(cat err)" = "og-pull: $FED rid 0 lvl 12 bid 1404174336: salvaged: 15 extra v entries at child boundaries" ]
	[ "$(wc -l <out)" -eq 133 ]
	diff <(cut -f 3 out) <(seq 2508952 2509084 | sed 's/$/.0/')
	# times are those of t alone, as in a valid block
	gzip -dc "$TMPO"/$FED/0/12/1404174336 | python3 -c '
import json, sys
b = json.load(sys.stdin)
t = b["h"]["head"][0]
for d in b["t"]:
    t += d
    print(t)' >times.txt
	diff times.txt <(cut -f 2 out)
	[ "$(head -1 times.txt)" -eq 1404174337 ] && [ "$(tail -1 times.txt)" -eq 1404178405 ]
	cut -f 1 out | uniq | grep -qx $FED
}

@test "a crafted salvage: the one that fits, the ambiguous one and the surplus that does not match" {
	printf '%s\t%s\n' $C5 $CTOKEN >in
	run --separate-stderr og-pull -j 1 <in
	refute_sanitizer
	[ "$status" -eq 1 ]
	# 1003520: 100 + 5, then the joint's 7 once; 1007616 has its level 8
	# block in its place; 1011712 has no block under it
	assert_output "$(rec $C5 1003530 100.0 $C5 1003630 105.0 $C5 1003930 112.0 \
	    $C5 1007620 200.0 $C5 1007720 205.0)"
	diff <(printf '%s\n' "$stderr") - <<EOF
og-pull: $C5 rid 0 lvl 12 bid 1003520: salvaged: 1 extra v entry at child boundaries
og-pull: $C5 rid 0 lvl 12 bid 1007616: v has 4 values, t has 3: v[2] = 2.0 and v[3] = 7.0 differ at the child boundary before t[2] (ambiguous)
og-pull: $C5 rid 0 lvl 12 bid 1011712: v has 5 values, t has 3: 2 extra, but 1 child boundary
EOF
	# the salvaged block covers its level 8 blocks: they are not fetched
	[ "$(requests "$C5/tmpo/0/8/100(3520|3776)")" -eq 0 ]
	# dropping v[2] of 1007616 would end at its tail, 212: still refused
	: >"$W/log"
	run --separate-stderr og-pull -j 1 -S <in
	[ "$status" -eq 1 ]
	assert_output "$(rec $C5 1003530 100.0 $C5 1003630 105.0 $C5 1003930 112.0 \
	    $C5 1007620 200.0 $C5 1007720 205.0)"
	diff <(printf '%s\n' "$stderr") - <<EOF
og-pull: $C5 rid 0 lvl 12 bid 1003520: v has 4 values, t has 3
og-pull: $C5 rid 0 lvl 12 bid 1007616: v has 4 values, t has 3
og-pull: $C5 rid 0 lvl 12 bid 1011712: v has 5 values, t has 3
EOF
	[ "$(requests "$C5/tmpo/0/8/100(3520|3776)")" -eq 2 ]
}

@test "each rule of a valid block is checked, the message naming the block" {
	printf '%s\t%s\n' $C1 $CTOKEN >in
	run --separate-stderr og-pull -j 1 <in
	refute_sanitizer
	[ "$status" -eq 1 ]
	assert_output "$(rec $C1 1000200 50.0 $C1 1000210 51.0 $C1 1000230 53.0 \
	    $C1 1001480 0.5 $C1 1001481 0.6 $C1 1001483 0.8)"
	diff <(printf '%s\n' "$stderr") - <<EOF
og-pull: $C1 rid 0 lvl 8 bid 1000448: time 1000440 at t[0] is outside the block
og-pull: $C1 rid 0 lvl 8 bid 1000704: times not increasing at t[2]
og-pull: $C1 rid 0 lvl 8 bid 1000960: values end at 58.0, tail says 59.0
og-pull: $C1 rid 0 lvl 8 bid 1001216: t[0] is not 0
og-pull: $C1 rid 0 lvl 8 bid 1001728: not gzip data
og-pull: $C1 rid 0 lvl 8 bid 1001984: times end at 1001995, tail says 1001996
og-pull: $C1 rid 0 lvl 8 bid 1002240: no header "h"
og-pull: $C1 rid 0 lvl 8 bid 1002496: t[1] is not an integer
og-pull: $C1 rid 0 lvl 8 bid 1002752: bad JSON at byte 17: expected ',' or '}'
og-pull: $C1 rid 0 lvl 8 bid 1003008: gzip data truncated
EOF
}

@test "JSON that jsmn takes but RFC 8259 does not is bad JSON, named where it goes wrong" {
	printf '%s\t%s\n' $C6 $CTOKEN >in
	run --separate-stderr og-pull -j 1 <in
	refute_sanitizer
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	# the bytes are those Python's json names, but for v[1] = 01, which it
	# reads as 0 followed by a stray 1
	diff <(printf '%s\n' "$stderr") - <<EOF
og-pull: $C6 rid 0 lvl 8 bid 1000192: bad JSON at byte 54: expected a value
og-pull: $C6 rid 0 lvl 8 bid 1000448: bad JSON at byte 54: expected ',' or ']'
og-pull: $C6 rid 0 lvl 8 bid 1000704: bad JSON at byte 65: expected a value
og-pull: $C6 rid 0 lvl 8 bid 1000960: bad JSON at byte 72: expected a value
og-pull: $C6 rid 0 lvl 8 bid 1001216: bad JSON at byte 65: expected a value
og-pull: $C6 rid 0 lvl 8 bid 1001472: bad JSON at byte 68: expected a member name
og-pull: $C6 rid 0 lvl 8 bid 1001728: bad JSON at byte 51: expected ':'
og-pull: $C6 rid 0 lvl 8 bid 1001984: bad JSON at byte 64: nested too deeply
EOF
}

@test "a valid higher block is preferred and the lower blocks it covers are not fetched" {
	printf '%s\t%s\n' $C2 $CTOKEN >in
	run og-pull <in
	refute_sanitizer
	assert_success
	assert_output "$(rec $C2 1003530 100.0 $C2 1003630 105.0 $C2 1004630 110.0 \
	    $C2 1007620 110.0 $C2 1007629 112.0)"
	[ "$(requests "$C2/tmpo/0/8/100(3520|4544)")" -eq 0 ]
	[ "$(requests "$C2/tmpo/0/8/1007616")" -eq 1 ]
}

@test "a malformed higher block is reported and the valid lower blocks under it fill its time" {
	printf '%s\t%s\n' $C3 $CTOKEN >in
	run --separate-stderr og-pull <in
	refute_sanitizer
	[ "$status" -eq 1 ]
	assert_output "$(rec $C3 1003530 100.0 $C3 1003630 105.0 $C3 1004550 105.0 \
	    $C3 1004551 110.0 $C3 1007620 110.0 $C3 1007629 112.0)"
	[ "$stderr" = "og-pull: $C3 rid 0 lvl 12 bid 1003520: v has 3 values, t has 2: 1 extra, but 0 child boundaries" ]
}

@test "the highest recycle id is used unless -R names another" {
	printf '%s\t%s\n' $C4 $CTOKEN >in
	run og-pull <in
	refute_sanitizer
	assert_success
	assert_output "$(rec $C4 1000450 0.0 $C4 1000460 1.0)"
	run og-pull -R 0 <in
	refute_sanitizer
	assert_success
	assert_output "$(rec $C4 1000200 500.0 $C4 1000210 501.0)"
	run og-pull -R 2 <in
	assert_success
	assert_output ""
}

@test "a year of built blocks arrives whole and in order" {
	read -r sid token <"$W/year.line"
	python3 - "$W/year/$sid" <<'PY' >want
import os, sys
# the builder's compaction: no block is covered by another
d = sys.argv[1]
cover = [(int(l), int(b)) for l in os.listdir(d + "/0") for b in os.listdir(d + "/0/" + l)]
for l, b in cover:
    for L, B in cover:
        assert not (L > l and B <= b < B + (1 << L)), (l, b, L, B)
print(len(cover))
PY
	decode "$sid" "$W"/year/$sid/0/*/* >expected
	printf '%s\t%s\n' "$sid" "$token" | og-pull >out
	diff expected out
	[ "$(wc -l <out)" -gt 900000 ]
	[ "$(requests "$sid/tmpo/0/")" -eq "$(cat want)" ]
	[ "$(requests "$sid/tmpo/0/20/")" -ge 20 ]
}

@test "memory does not grow with the history pulled: a year takes what its first two weeks take" {
	case $OG_BIN in
	*/asan) skip "ASan's shadow memory hides the program's own" ;;
	esac
	read -r sid token <"$W/year.line"
	maxrss() {	# peak resident kB of og-pull ARG...
		printf '%s\t%s\n' "$sid" "$token" | python3 -c '
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' og-pull "$@"
	}
	weeks=$(maxrss -e 2016-01-15T00:00:00Z)
	year=$(maxrss)
	echo "two weeks: $weeks kB, a year: $year kB"
	# holding the year's 930 k readings would take 15 MB more
	[ "$year" -lt $((weeks + 4096)) ]
}

@test "a malformed compacted block of a built set falls back to its kept children" {
	read -r sid token <"$W/keep.line"
	bid=$(cat "$W/keep/broken")
	decode "$sid" "$W"/keep/$sid/0/8/* >expected
	printf '%s\t%s\n' "$sid" "$token" >in
	run --separate-stderr og-pull <in
	refute_sanitizer
	[ "$status" -eq 1 ]
	diff expected <(printf '%s\n' "$output")
	[[ "$stderr" =~ ^"og-pull: $sid rid 0 lvl 12 bid $bid: v has "[0-9]+" values, t has "[0-9]+": 1 extra, but "[0-9]+" child boundaries"$ ]]
	# only the children of the broken block come from level 8 below level 12
	[ "$(requests "$sid/tmpo/0/8/")" -eq "$(python3 -c "
import os; d='$W/keep/$sid/0/8'; hi=[int(b) for b in os.listdir('$W/keep/$sid/0/12')]
print(sum(1 for b in map(int, os.listdir(d)) if $bid <= b < $bid + 4096 or
          not any(h <= b < h + 4096 for h in hi)))")" ]
}

@test "-j 1 and -j 8 print the same records" {
	read -r sid token <"$W/year.line"
	{ real; printf '%s\t%s\n' "$sid" "$token" $C3 $CTOKEN $C2 $CTOKEN; } >in
	og-pull -j 1 <in >one 2>/dev/null || true
	og-pull -j 8 <in >eight 2>/dev/null || true
	cmp one eight
	[ "$(wc -l <one)" -gt 900000 ]
}

@test "-s pulls only blocks that end after START and records from START on" {
	decode $FED "$TMPO"/$FED/0/8/* | awk -F'\t' '$2 >= 1404224100' >expected
	printf '%s\t%s\n' $FED $FED_TOKEN >in
	run --separate-stderr og-pull -s 1404224100 <in
	refute_sanitizer
	assert_success
	[ -z "$stderr" ]
	diff expected <(printf '%s\n' "$output")
	grep -q "$FED/tmpo/sync?rid=0&lvl=8&bid=1404223744 " "$W/log"
	[ "$(requests "$FED/tmpo/0/")" -eq 8 ]
}

@test "SINCE on an input line is that sensor's START, and -e ends before END" {
	decode $FED "$TMPO"/$FED/0/8/* | awk -F'\t' '$2 >= 1404225000 && $2 < 1404225600' >expected
	decode $GAS "$TMPO"/$GAS/0/8/* | awk -F'\t' '$2 >= 1404225300 && $2 < 1404225600' >>expected
	printf '%s\t%s\t%s\n' $FED $FED_TOKEN 1404225000 $GAS $GAS_TOKEN 1404225300 >in
	run og-pull -s 1 -e 1404225600 <in
	refute_sanitizer
	assert_success
	diff expected <(printf '%s\n' "$output")
}

@test "times may be given as dates in the local zone" {
	printf '%s\t%s\n' $FED $FED_TOKEN >in
	og-pull -s 1404224100 <in >a
	og-pull -s 2014-07-01T16:15:00 <in >b
	cmp a b
}

@test "api mode prints the sensor API's pairs at their intervals' starts, missing values as nan" {
	# the API stamps a value with the end of its interval: 900 s later
	python3 - >expected <<PY
import urllib.request, json
for sid, tok in (("$FED", "$FED_TOKEN"), ("$GAS", "$GAS_TOKEN")):
    r = urllib.request.Request("$OG_API_URL/sensor/%s?start=1404220000&end=1404226800&resolution=15min&unit=kwhperyear" % sid,
        headers={"X-Token": tok, "X-Version": "1.0"})
    for t, v in json.load(urllib.request.urlopen(r)):
        if 1404220000 <= t - 900 < 1404226800:
            print("%s\t%d\t%r" % (sid, t - 900, float(v)))
PY
	grep -q nan expected
	run og-pull -m api -r 15min -U kwhperyear -s 1404220000 -e 1404226800 < <(real)
	refute_sanitizer
	assert_success
	diff expected <(printf '%s\n' "$output")
	grep -q "$GAS?start=1404220000&end=1404226800&resolution=15min&unit=kwhperyear 200" "$W/log"
}

@test "api mode at its defaults asks for a day of minutes" {
	printf '%s\t%s\n' $FED $FED_TOKEN >in
	run og-pull -m api -e 1404226800 <in
	refute_sanitizer
	assert_success
	[ "${#lines[@]}" -eq 1440 ]
	grep -q "$FED?start=1404140400&end=1404226800&resolution=minute 200" "$W/log"
	# the minute [1404140400, 1404140460), stamped 1404140460 by the API
	assert_line --index 0 --regexp "^$FED	1404140400	"
	assert_line --index 1439 --regexp "^$FED	1404226740	"
}

@test "api mode: a day's value is printed at the day's start, the day before its stamp" {
	printf '%s\t%s\n' $FED $FED_TOKEN >in
	raw=$(python3 -c "
import urllib.request, json
r = urllib.request.Request('$OG_API_URL/sensor/$FED?start=1404172800&end=1404432000&resolution=day',
    headers={'X-Token': '$FED_TOKEN', 'X-Version': '1.0'})
print(' '.join(str(t) for t, v in json.load(urllib.request.urlopen(r))))")
	assert_equal "$raw" "1404259200 1404345600 1404432000"
	run og-pull -m api -r day -s 1404172800 -e 1404432000 <in
	refute_sanitizer
	assert_success
	[ "${#lines[@]}" -eq 3 ]
	assert_line --index 0 --regexp "^$FED	1404172800	"
	assert_line --index 1 --regexp "^$FED	1404259200	"
	assert_line --index 2 --regexp "^$FED	1404345600	"
}

@test "a wrong token is reported for its sensor and the others still arrive" {
	decode $GAS "$TMPO"/$GAS/0/8/* >expected
	printf '%s\t%s\n' $FED wrongtoken $GAS $GAS_TOKEN >in
	run --separate-stderr og-pull -s 1404224768 <in
	refute_sanitizer
	[ "$status" -eq 1 ]
	diff expected <(printf '%s\n' "$output")
	[ "$stderr" = "og-pull: $FED: HTTP 401" ]
	[ "$(requests "$FED/tmpo/sync")" -eq 1 ]
}

@test "an unknown sensor is refused as 401, like a wrong token, and the others still arrive" {
	# the stand-in checks the token first, as a server should: a 404
	# would tell a stranger which sensors exist
	printf '%s\t%s\n' 00000000000000000000000000000bad x $GAS $GAS_TOKEN >in
	run --separate-stderr og-pull -s 1404224768 <in
	refute_sanitizer
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 35 ]
	[ "$stderr" = "og-pull: 00000000000000000000000000000bad: HTTP 401" ]
}

@test "the stand-in refuses a request without a token, whatever the sensor" {
	for sid in $FED 00000000000000000000000000000bad; do
		run python3 -c "
import sys, urllib.request, urllib.error
r = urllib.request.Request('$OG_API_URL/sensor/$sid/tmpo/sync?rid=0&lvl=8&bid=0', headers={'X-Version': '1.0'})
try:
    urllib.request.urlopen(r)
except urllib.error.HTTPError as e:
    print(e.code)"
		assert_output 401
	done
}

@test "-j 16 finds the stand-in's listen queue long enough for all its connections" {
	# Python's default queue of 5 drops SYNs at -j 8 and up: each such
	# connection waits a second for the retransmit
	port=${OG_API_URL##*:}
	run sh -c "ss -ltnH 'sport = :$port' | awk '{ print \$3 }'"
	assert_success
	[ "$output" -ge 16 ]
	read -r sid token <"$W/year.line"
	{ real; printf '%s\t%s\n' "$sid" "$token"; } >in
	og-pull -j 1 -s 1420070400 <in >one 2>/dev/null || true
	og-pull -j 16 -s 1420070400 <in >sixteen 2>/dev/null || true
	cmp one sixteen
	[ "$(wc -l <one)" -gt 1000 ]
}

# The fault tests pull fed's level 8 blocks, which are all valid.
# shellcheck disable=SC2120  # bats' run passes it options
pull_fed() {
	printf '%s\t%s\n' $FED $FED_TOKEN | og-pull -s 1404223488 "$@"
}

@test "500s then success: retried, same records" {
	pull_fed >expected
	: >"$W/log"
	echo "tmpo/0/8/1404224000 500 2" >"$W/faults"
	run --separate-stderr pull_fed
	refute_sanitizer
	assert_success
	[ -z "$stderr" ]
	diff expected <(printf '%s\n' "$output")
	[ "$(requests "tmpo/0/8/1404224000 500")" -eq 2 ]
	[ "$(requests "tmpo/0/8/1404224000 200")" -eq 1 ]
}

@test "5xx on every try gives up after a bounded number of tries" {
	echo "tmpo/sync 503" >"$W/faults"
	OG_PULL_TRIES=3 run --separate-stderr pull_fed
	refute_sanitizer
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$stderr" = "og-pull: $FED: HTTP 503 (after 3 tries)" ]
	[ "$(requests "tmpo/sync")" -eq 3 ]
}

@test "429 with Retry-After is honoured" {
	pull_fed >expected
	: >"$W/log"
	echo "tmpo/0/8/1404224256 429:1 1" >"$W/faults"
	run pull_fed
	refute_sanitizer
	assert_success
	diff expected <(printf '%s\n' "$output")
	# the retry waits the second asked for, not the 0.05 s backoff; the
	# stand-in logs a request when it has answered it, a few ms after the
	# client may have read the answer and started its wait
	awk '/1404224256 429/ { a = $1 } /1404224256 200/ { b = $1 }
	    END { exit !(a && b && b - a >= 0.9 && b - a < 3) }' "$W/log"
}

@test "a Retry-After beyond ten minutes is not waited for" {
	echo "tmpo/sync 429:9999" >"$W/faults"
	SECONDS=0
	run --separate-stderr pull_fed
	refute_sanitizer
	[ "$SECONDS" -le 3 ]
	[ "$status" -eq 1 ]
	[ "$stderr" = "og-pull: $FED: HTTP 429, server asks to wait 9999 s" ]
	[ "$(requests "tmpo/sync")" -eq 1 ]
}

@test "a stalled response gives up within the timeout; later records are held back" {
	decode $FED "$TMPO"/$FED/0/8/* | awk -F'\t' '$2 < 1404224512' >expected
	echo "tmpo/0/8/1404224512 stall" >"$W/faults"
	SECONDS=0
	OG_PULL_TRIES=2 run --separate-stderr pull_fed -t 1
	refute_sanitizer
	[ "$SECONDS" -le 5 ]
	[ "$status" -eq 1 ]
	diff expected <(printf '%s\n' "$output")
	[[ "${stderr_lines[0]}" =~ ^"og-pull: $FED rid 0 lvl 8 bid 1404224512: Operation timed out after "1[0-9][0-9][0-9]" milliseconds with 110 out of 220 bytes received (after 2 tries)"$ ]]
	[ "${stderr_lines[1]}" = "og-pull: $FED: records from 1404224512 on held back until that block can be fetched" ]
}

@test "a truncated body is retried, and truncated every time is an error for that block" {
	pull_fed >expected
	echo "tmpo/0/8/1404224512 truncate 1" >"$W/faults"
	run pull_fed
	refute_sanitizer
	assert_success
	diff expected <(printf '%s\n' "$output")
	echo "tmpo/0/8/1404224512 truncate" >"$W/faults"
	OG_PULL_TRIES=3 run --separate-stderr pull_fed
	refute_sanitizer
	[ "$status" -eq 1 ]
	diff <(awk -F'\t' '$2 < 1404224512' expected) <(printf '%s\n' "$output")
	[ "${stderr_lines[0]}" = "og-pull: $FED rid 0 lvl 8 bid 1404224512: transfer closed with 110 bytes remaining to read (after 3 tries)" ]
}

@test "bad gzip is an error for that block alone, with no records from it" {
	decode $FED "$TMPO"/$FED/0/8/* | awk -F'\t' '$2 < 1404224512 || $2 >= 1404224768' >expected
	echo "tmpo/0/8/1404224512 badgzip" >"$W/faults"
	run --separate-stderr pull_fed
	refute_sanitizer
	[ "$status" -eq 1 ]
	diff expected <(printf '%s\n' "$output")
	re="^og-pull: $FED rid 0 lvl 8 bid 1404224512: bad gzip data \\([a-z ]+\\)\$"
	[[ "$stderr" =~ $re ]]
}

@test "a reset connection is retried" {
	pull_fed >expected
	: >"$W/log"
	echo "tmpo/0/8/1404225024 reset 2" >"$W/faults"
	run --separate-stderr pull_fed
	refute_sanitizer
	assert_success
	[ -z "$stderr" ]
	diff expected <(printf '%s\n' "$output")
	[ "$(requests "tmpo/0/8/1404225024 reset")" -eq 2 ]
}

@test "slow answers within the timeout arrive" {
	pull_fed >expected
	echo "tmpo/0/8/ slow:0.3" >"$W/faults"
	run pull_fed -t 5
	refute_sanitizer
	assert_success
	diff expected <(printf '%s\n' "$output")
}

@test "the token is never in argv, not even while og-pull waits" {
	echo "tmpo/sync slow:2" >"$W/faults"
	printf '%s\t%s\n' $FED $FED_TOKEN $GAS $GAS_TOKEN >in
	og-pull -s 1404225000 <in >out 2>err &
	pid=$!
	sleep 1
	ps -eo args >ps.txt
	wait $pid
	grep -q "^og-pull\|/og-pull" ps.txt
	run ! grep -q "$FED_TOKEN\|$GAS_TOKEN" ps.txt
	[ -s out ]
}

@test "-v tells every request and retry on stderr, never a token" {
	echo "tmpo/0/8/1404225536 500 1" >"$W/faults"
	printf '%s\t%s\n' $FED $FED_TOKEN $GAS wrong-$GAS_TOKEN >in
	run --separate-stderr og-pull -v -j 1 -s 1404225000 <in
	refute_sanitizer
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"og-pull: GET /sensor/$FED/tmpo/sync?rid=0&lvl=8&bid=1404224512: ok, "* ]]
	[[ "$stderr" == *"og-pull: GET /sensor/$FED/tmpo/0/8/1404225536: HTTP 500, "* ]]
	[[ "$stderr" == *"og-pull: GET /sensor/$FED/tmpo/0/8/1404225536: try 2 of 5 in 0.05 s"* ]]
	n=$(decode $FED "$TMPO"/$FED/0/8/* | awk -F'\t' '$2 >= 1404225000' | wc -l)
	[[ "$stderr" == *"og-pull: $FED: $n records"* ]]
	[[ "$stderr" == *"og-pull: $GAS: HTTP 401"* ]]
	[[ "$stderr" != *"$FED_TOKEN"* ]]
	[[ "$stderr" != *"$GAS_TOKEN"* ]]
}

@test "without -v and without a terminal, a clean pull says nothing on stderr" {
	run --separate-stderr pull_fed
	assert_success
	[ -z "$stderr" ]
}

@test "on a terminal a progress line shows sensors, blocks and bytes" {
	command -v script >/dev/null || skip "no script(1)"
	printf '%s\t%s\n' $FED $FED_TOKEN >in
	echo "tmpo/0/8/ slow:0.1" >"$W/faults"
	script -qec "og-pull -j 1 -s 1404223488 <in >out" /dev/null >tty.txt
	grep -q "og-pull: [0-9]*/1 sensors, [0-9]* blocks, [0-9.]* MB" tty.txt
	[ "$(wc -l <out)" -eq "$(decode $FED "$TMPO"/$FED/0/8/* | wc -l)" ]
}

@test "bad input lines are reported without their token; the rest are pulled" {
	printf '%s\n' "no-tab-here" "$FED	bad token" "bad/id	secret1" \
	    "$FED	$FED_TOKEN	soon" "$GAS	$GAS_TOKEN	1404225500" >in
	run --separate-stderr og-pull <in
	refute_sanitizer
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 6 ]
	diff <(printf '%s\n' "$stderr") - <<EOF
og-pull: <stdin>:1: expected SENSOR TAB TOKEN [TAB SINCE]
og-pull: <stdin>:2: $FED: bad token
og-pull: <stdin>:3: bad sensor id (expected 32 hex digits)
og-pull: <stdin>:4: $FED: bad time 'soon'
EOF
}

@test "plain http goes to this machine only; https is the default" {
	run og-pull -u http://api.flukso.net </dev/null
	assert_failure 2
	assert_output "og-pull: http://api.flukso.net: plain http only to this machine (127.0.0.1, localhost, [::1]); use https"
	run og-pull -u ftp://127.0.0.1 </dev/null
	assert_failure 2
	run og-pull -u http://localhost:1/ </dev/null
	assert_success
}

@test "bad options are usage errors or name the option" {
	run og-pull -m other </dev/null
	assert_failure 2
	run og-pull -j 0 </dev/null
	assert_failure 2
	assert_output "og-pull: bad -j '0': 1 to 64"
	run og-pull -m api -r fortnight </dev/null
	assert_failure 2
	assert_output "og-pull: bad -r 'fortnight': minute 15min hour day week month year"
	run og-pull -s yesterday </dev/null
	assert_failure 2
	assert_output "og-pull: bad time 'yesterday'"
	run og-pull -s 2014-07-02 -e 2014-07-01 </dev/null
	assert_failure 2
	assert_output "og-pull: -s START must be before -e END"
}

@test "https verifies the certificate unless -k is given" {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem \
	    -days 2 -subj /CN=127.0.0.1 >/dev/null 2>&1 || skip "no openssl"
	python3 "$BATS_TEST_DIRNAME/flukso_server.py" serve --tls cert.pem key.pem \
	    --tokens "$W/tokens" --port-file port "$TMPO" >/dev/null 2>&1 3>&- &
	pid=$!
	for i in $(seq 100); do [ -s port ] && break; sleep 0.1; done
	printf '%s\t%s\n' $FED $FED_TOKEN >in
	OG_PULL_TRIES=1 run --separate-stderr og-pull -s 1404225700 \
	    -u "https://127.0.0.1:$(cat port)" <in
	refute_sanitizer
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == "og-pull: $FED: SSL certificate problem: self"*"signed certificate" ]]
	run --separate-stderr og-pull -k -s 1404225700 -u "https://127.0.0.1:$(cat port)" <in
	kill $pid
	refute_sanitizer
	assert_success
	diff <(decode $FED "$TMPO"/$FED/0/8/* | awk -F'\t' '$2 >= 1404225700') \
	    <(printf '%s\n' "$output")
}

@test "-K reads tokens from a file only its owner can read" {
	printf '%s %s\n' $FED $FED_TOKEN $GAS $GAS_TOKEN >tokens
	chmod 644 tokens
	printf '%s\t%s\n' $FED 1404225700 $GAS 1404225600 >in
	run og-pull -K tokens <in
	refute_sanitizer
	assert_failure 1
	assert_output "og-pull: tokens: token file readable by others (mode 0644); chmod 600 it"
	chmod 600 tokens
	run --separate-stderr og-pull -K tokens <in
	refute_sanitizer
	assert_success
	diff <(decode $FED "$TMPO"/$FED/0/8/* | awk -F'\t' '$2 >= 1404225700'
	    decode $GAS "$TMPO"/$GAS/0/8/* | awk -F'\t' '$2 >= 1404225600') \
	    <(printf '%s\n' "$output")
	printf '%s\n' 00000000000000000000000000000bad >in
	run --separate-stderr og-pull -K tokens <in
	[ "$status" -eq 1 ]
	[ "$stderr" = "og-pull: <stdin>:1: 00000000000000000000000000000bad: no token in tokens" ]
}

@test "the stand-in builds block sets deterministically, counting the energy of the power records" {
	gzip -dc "$DATA/elec_power_min_1sensor.tsv.gz" | head -n 3000 >power.tsv
	python3 "$BATS_TEST_DIRNAME/flukso_server.py" build power.tsv a >a.line
	python3 "$BATS_TEST_DIRNAME/flukso_server.py" build power.tsv b >b.line
	diff -r a b
	read -r sid token <a.line
	decode "$sid" a/$sid/0/*/* >readings
	# the counter steps 1 Wh at a time and ends within a step of the energy
	python3 - power.tsv readings <<'PY'
import sys
p = [l.split("\t") for l in open(sys.argv[1])]
p = [(int(t), float(v)) for _, t, v in p]
wh = sum(v * (b[0] - a[0]) for (a, b, v) in ((p[i], p[i + 1], p[i][1])
         for i in range(len(p) - 1)) if v == v and v > 0) / 3600
wh += p[-1][1] * 60 / 3600 if p[-1][1] > 0 else 0
r = [(int(t), float(v)) for _, t, v in (l.split("\t") for l in open(sys.argv[2]))]
assert all(b[0] > a[0] and b[1] > a[1] for a, b in zip(r, r[1:]))
assert r[0][1] >= 1000001 and abs(r[-1][1] - 1000000 - wh) < 1, (r[-1], wh)
PY
}
