#!/usr/bin/env bats
# The pipelines on a week of the bundled sample, served by the Flukso
# stand-in: job_sync, job_daily and the analysis scripts, checked by numbers.

load helper

SHEET=$TOP/pipelines/sample/sheet.csv
HASSELT=d9096b4a3a05ad34ee5e5cca11958cfd	# gridCons, the only sensor of hasselt
A_IMPORT=3547c3bf841e38b071e205eb45f0de26
A_EXPORT=906a467721eb06c030a2b17ce357aa62
A_PV=ef5a2cdca97862f59a41b9980b86d6c1

setup_file() {
	export W=$BATS_FILE_TMPDIR
	"$TOP/pipelines/sample/make_blocks" "$SHEET" "$W/sample" 2016-01-04 2016-01-11
	python3 "$TOP/tests/flukso_server.py" serve --port-file "$W/port" \
	    --tokens "$W/sample/tokens" "$W/sample/blocks" >/dev/null 2>&1 3>&- &
	echo $! >"$W/server.pid"
	for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.1; done
	export OG_API_URL="http://127.0.0.1:$(cat "$W/port")"
	job_sync "$SHEET" "$W/store" 2>"$W/sync.log"
	og-unpack "$W/store" >"$W/store.tsv"
	job_daily "$SHEET" "$W/store" "$W/public" "$W/private" 2>"$W/daily.log"
}

teardown_file() {
	kill "$(cat "$BATS_FILE_TMPDIR/server.pid")" 2>/dev/null || :
}

setup() {
	setup_scratch
}

@test "job_sync pulls every sensor of the sheet" {
	run og-unpack -l "$W/store"
	assert_success
	[ "$(echo "$output" | wc -l)" -eq 19 ]
	diff <(cut -f 1 <<<"$output") <(og-meta -f sensor "$SHEET" | sort)
	grep -q 'job_sync: 19 sensors, [1-9][0-9]* new records' "$W/sync.log"
}

@test "job_sync twice adds nothing" {
	cp -r "$W/store" store
	run job_sync "$SHEET" store
	assert_success
	assert_output --partial "0 new records"
	diff <(og-unpack store) "$W/store.tsv"
}

@test "job_sync continues each sensor from its last stored time" {
	og-unpack -e 2016-01-07 "$W/store" | og-pack -q store
	run job_sync "$SHEET" store
	assert_success
	diff <(og-unpack store) "$W/store.tsv"
}

@test "a job_sync killed half-way and run again ends with the data of an undisturbed run" {
	for delay in 0.3 0.8 1.5; do
		rm -rf store
		setsid job_sync "$SHEET" store 2>/dev/null &
		pid=$!
		sleep "$delay"
		kill -KILL -- "-$pid" 2>/dev/null || :
		wait "$pid" 2>/dev/null || :
		# the killed children may still be exiting with the lock: wait
		OG_SYNC_WAIT=60 job_sync "$SHEET" store 2>/dev/null
		diff <(og-unpack store) "$W/store.tsv"
	done
}

@test "concurrent job_sync runs do not interleave" {
	job_sync "$SHEET" store 2>a.log &
	job_sync "$SHEET" store 2>b.log &
	job_sync "$SHEET" store 2>c.log &
	wait
	diff <(og-unpack store) "$W/store.tsv"
	# one run pulled; the others skipped, or found nothing new after it
	[ "$(cat a.log b.log c.log | grep -c 'new records' )" -ge 1 ]
	[ "$(cat a.log b.log c.log | grep -c '[1-9][0-9]* new records')" -eq 1 ]
}

@test "a sensor with a wrong token fails alone, and job_sync exits 1" {
	sed "s/45b4225ae99a235fb6b4ef5177dd2190/00000000000000000000000000000000/" "$SHEET" >sheet.csv
	run job_sync sheet.csv store
	assert_failure 1
	assert_output --partial "$A_IMPORT"
	refute_output --partial "00000000000000000000000000000000"
	[ "$(og-unpack -l store | wc -l)" -eq 18 ]
	diff <(og-unpack store) <(grep -v "^$A_IMPORT" "$W/store.tsv")
}

@test "job_sync keeps tokens out of its messages" {
	og-meta -f token "$SHEET" >tokens
	! grep -qF -f tokens "$W/sync.log"
}

# the energy of one counter per local day, by hand: the counter interpolated
# linearly at each local midnight, the day's energy the difference
day_energy() {	# day_energy SENSOR DAY
	local from to
	from=$(date -d "$2" +%s) to=$(date -d "$2 + 1 day" +%s)
	og-unpack "$W/store" "$1" | awk -F '\t' -v a="$from" -v b="$to" '
		function at(x) { return pv + (v - pv) * (x - pt) / (t - pt) }
		NR > 1 && pt < a && t >= a { ca = at(a) }
		NR > 1 && pt < b && t >= b { cb = at(b) }
		{ pt = t; pv = v; t = $2; v = $3 }
		NR == 1 { pt = t; pv = v }
		END { printf "%.3f\n", (cb - ca) / 1000 }'
}

@test "job_daily: daily siteCons of a site equals the hand computation from the records" {
	day=2016-01-06
	hasselt=$(day_energy $HASSELT $day)
	anderlecht=$(awk -v i="$(day_energy $A_IMPORT $day)" -v p="$(day_energy $A_PV $day)" \
	    -v e="$(day_energy $A_EXPORT $day)" 'BEGIN { printf "%.3f\n", i + p - e }')
	run grep "^$day," "$W/private/sites/hasselt.csv"
	assert_output "$day,$hasselt,$hasselt,$(grep "^$day," "$W/private/sites/hasselt.csv" | cut -d , -f 4)"
	got=$(awk -F , -v d=$day '$1 == d { print $2 }' "$W/private/sites/anderlecht.csv")
	awk -v a="$got" -v b="$anderlecht" 'BEGIN { exit !(a - b < 0.0015 && b - a < 0.0015) }'
	awk -v h="$hasselt" 'BEGIN { exit !(h > 5) }'
}

# by_hand STORE SENSOR DAY...: in python, each counter interpolated at the
# local midnights of each day, the day's use in kWh
by_hand() {
	local store=$1 sensor=$2; shift 2
	og-unpack "$store" "$sensor" | python3 -c '
import subprocess, sys
readings = [(int(t), float(v)) for k, t, v in (l.split("\t") for l in sys.stdin)]
def at(x):
    for (t0, v0), (t1, v1) in zip(readings, readings[1:]):
        if t0 <= x <= t1:
            return v0 + (v1 - v0) * (x - t0) / (t1 - t0)
for day in sys.argv[1:]:
    a, b = (int(subprocess.check_output(["date", "-d", d, "+%s"])) for d in (day, day + " + 1 day"))
    print("%.3f" % ((at(b) - at(a)) / 1000))' "$@"
}

@test "job_daily: a net-metered PV site in summer: siteCons is net plus PV, export days negative" {
	# gent alone: a reversible gridNet meter and a PV inverter, in June
	grep -E '^(site|gent),' "$SHEET" >sheet.csv
	"$TOP/pipelines/sample/make_blocks" sheet.csv sample 2016-06-19 2016-06-24
	python3 "$TOP/tests/flukso_server.py" serve --port-file port \
	    --tokens sample/tokens sample/blocks >/dev/null 2>&1 3>&- &
	echo $! >server.pid
	for _ in $(seq 100); do [ -s port ] && break; sleep 0.1; done
	OG_API_URL="http://127.0.0.1:$(cat port)" job_sync sheet.csv store 2>/dev/null
	kill "$(cat server.pid)"
	job_daily sheet.csv store pub priv 2>/dev/null
	net=fe27eed8fe0497d1454b77a04a8a7960 pv=71cefb0221d77532c690808c828c77ea
	days="2016-06-20 2016-06-21 2016-06-22"
	paste -d , <(by_hand store $net $days) <(by_hand store $pv $days) >want
	for day in $days; do
		awk -F , -v d=$day '$1 == d { print $3 "," $4 }' priv/sites/gent.csv
	done >got
	# the days agree with the hand computation to the printed kWh
	paste -d , got want | awk -F , '{ for (i = 1; i <= 2; i++) {
		d = $i - $(i + 2); if (d > 0.0015 || d < -0.0015) exit 1 } }'
	# the meter turned back: at least one day of net export, as it is
	[ "$(awk -F , 'NR > 1 && $3 < 0' priv/sites/gent.csv | wc -l)" -ge 1 ]
	# siteCons is net plus PV on every day, export days included
	awk -F , 'NR > 1 && $2 != "" { d = $2 - $3 - $4; if (d > 0.0015 || d < -0.0015) exit 1 }' \
	    priv/sites/gent.csv
	[ "$(awk -F , 'NR > 1 && $2 != ""' priv/sites/gent.csv | wc -l)" -ge 3 ]
	# the store holds readings below the ones before: the meter counted down
	og-unpack store $net | awk -F '\t' 'NR > 1 && $3 < v { down = 1 } { v = $3 } END { exit !down }'
}

@test "job_daily: a week of days per site, totals that add up" {
	run cat "$W/private/summary.csv"
	assert_line --index 0 "site,days,kWh,gas m3,water m3,standby W"
	# the last day of the data is left out: it may not be over
	assert_line --index 3 --regexp '^hasselt,6,[0-9.]+,,,[0-9]+$'
	total=$(awk -F , 'NR > 1 && $2 != "" { s += $2 } END { printf "%.1f", s }' "$W/private/sites/hasselt.csv")
	assert_line --index 3 --regexp "^hasselt,6,$total,"
	assert_line --index 4 --regexp '^leuven,6,[0-9.]+,[0-9.]+,[0-9.]+,[0-9]+$'
	[ "$(sed 1d "$W/private/sites/leuven.csv" | wc -l)" -eq 6 ]
	# standby: the smallest quarter-hour power of the night is below the day's mean
	awk -F , 'NR > 1 && $NF != "" { if ($NF > $2 * 1000 / 24) exit 1 }' "$W/private/sites/hasselt.csv"
}

@test "job_daily: PUBLIC holds no sensor id, token or site name" {
	og-meta -f sensor,token "$SHEET" | tr '\t' '\n' >secrets
	og-meta -l sites "$SHEET" | cut -f 1 >>secrets
	[ "$(wc -l <secrets)" -eq 44 ]
	! grep -rqiF -f secrets "$W/public"
	ls "$W/public/index.html" "$W/public/community.png" "$W/public/sites.png"
	# one line per anonymous site, the totals as PRIVATE has them, in the
	# order of a hash keyed with the secret beside the cache (sha256 of
	# KEY:SITE, by hand in python), not the sheet's order
	python3 - "$W/store.q15/.label-key" "$W/private/summary.csv" >want <<'PY'
import hashlib, sys
key = open(sys.argv[1]).read()
rows = [l.rstrip("\n").split(",") for l in open(sys.argv[2])][1:]
rows.sort(key=lambda r: hashlib.sha256(("%s:%s" % (key, r[0])).encode()).hexdigest())
for i, r in enumerate(rows):
    print(",".join(["site " + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i]] + r[1:]))
PY
	diff <(sed 1d "$W/public/summary.csv") want
	[ "$(wc -c <"$W/store.q15/.label-key")" -eq 64 ]
	[ "$(stat -c %a "$W/store.q15/.label-key")" = 600 ]
	! grep -rqF "$(cat "$W/store.q15/.label-key")" "$W/public" "$W/private"
	# and PRIVATE no token
	og-meta -f token "$SHEET" >tokens
	! grep -rqF -f tokens "$W/private"
}

@test "job_daily: PNG files are valid images of plausible size" {
	n=0
	for f in "$W"/public/*.png "$W"/private/sites/*.png "$W"/private/sensors/*.png; do
		file "$f" | grep -q 'PNG image data, 1000 x'
		size=$(stat -c %s "$f")
		[ "$size" -gt 15000 ] && [ "$size" -lt 400000 ]
		n=$((n + 1))
	done
	[ "$n" -eq $((2 + 6 + 19)) ]
}

@test "job_daily: every image and link of index.html is there, and nothing is left half-written" {
	for root in public private; do
		cd "$W/$root"
		grep -o '\(src\|href\)="[^"#]*"' index.html | sed 's/^[a-z]*="//; s/"$//' | sort -u >links
		[ "$(wc -l <links)" -gt 3 ]
		while read -r f; do [ -s "$f" ] || { echo "missing $root/$f"; return 1; }; done <links
		rm links
		[ -z "$(find . -name '*.tmp' -o -name '.new.*')" ]
	done
}

@test "job_daily runs again to the same files" {
	cp -r "$W/store" store
	cp -r "$W/store.q15" store.q15
	job_daily "$SHEET" store pub priv 2>/dev/null
	diff -r pub "$W/public"
	diff -r priv "$W/private"
}

@test "job_daily from a cache of an earlier sync gives what a run from scratch gives" {
	og-unpack -e 2016-01-07T13:00:00+01:00 "$W/store" | og-pack -q store
	job_daily "$SHEET" store pub0 priv0 2>/dev/null
	job_sync "$SHEET" store 2>/dev/null
	job_daily "$SHEET" store pub priv 2>/dev/null
	diff <(og-unpack store.q15) <(og-unpack "$W/store.q15")
	diff -r priv "$W/private"
}

@test "job_daily: a sensor and a site without data yet are listed, not plotted" {
	cp "$SHEET" sheet.csv
	echo "mons,d,0123456789abcdef0123456789abcdef,00000000000000000000000000000001,electricity,gridImport,Wh,new,1,7000" >>sheet.csv
	cp -r "$W/store" store
	run job_daily sheet.csv store pub priv
	assert_success
	grep -q '<td>0123456789abcdef0123456789abcdef</td>.*no data yet' priv/index.html
	[ ! -e priv/sensors/0123456789abcdef0123456789abcdef.png ]
	grep -q '^mons,0,' priv/summary.csv
}

@test "index.html renders in headless Chromium with all its images" {
	[ -x /usr/bin/chromium ] || skip "chromium is not installed (Debian package chromium)"
	for root in public private; do
		# the page, with a script that reports its images once loaded
		check=$W/$root/check-images.html
		sed 's|</body>|<script>window.addEventListener("load", function () { var bad = []; for (var i = 0; i < document.images.length; i++) { var m = document.images[i]; if (!m.complete \|\| m.naturalWidth == 0) bad.push(m.src); } var p = document.createElement("p"); p.id = "imgcheck"; p.textContent = document.images.length + " images, broken:" + bad.join(" "); document.body.appendChild(p); });</script></body>|' \
		    "$W/$root/index.html" >"$check"
		run timeout 120 /usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic \
		    --no-first-run --disable-background-networking --disable-component-update \
		    --disable-sync --user-data-dir="$(mktemp -d)" --virtual-time-budget=10000 \
		    --dump-dom "file://$check"
		rm -f "$check"
		assert_output --regexp 'id="imgcheck">[1-9][0-9]* images, broken:<'
		run timeout 120 /usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic \
		    --no-first-run --disable-background-networking --disable-component-update \
		    --disable-sync --user-data-dir="$(mktemp -d)" --window-size=1100,2000 \
		    --screenshot="$PWD/$root.png" "file://$W/$root/index.html"
		file "$root.png" | grep -q 'PNG image data'
	done
}

@test "load_profile: 96 quarter hours, the mean of the quarter-hour powers" {
	run load_profile "$SHEET" "$W/store" hasselt lp
	assert_success
	[ "$(wc -l <lp.csv)" -eq 97 ]
	head -n 1 lp.csv | grep -q '^time,mean (W),median (W),p10 (W),p90 (W)$'
	file lp.png | grep -q 'PNG image data'
	# the mean over the profile is the mean power of the period
	awk -F , 'NR > 1 { s += $2 } END { printf "%.0f\n", s / 96 }' lp.csv >mean
	og-unpack "$W/store" $HASSELT | og-metric -d -r -i 15min | awk -F '\t' '$3 != "nan" { s += $3; n++ } END { printf "%.0f\n", s / n }' >want
	awk -v a="$(cat mean)" -v b="$(cat want)" 'BEGIN { exit !(a - b <= 2 && b - a <= 2) }'
}

@test "carpet: a full grid of days by 96 quarter hours" {
	run carpet "$SHEET" "$W/store" $HASSELT cp
	assert_success
	days=$(cut -d , -f 1 cp.csv | sed 1d | sort -u | wc -l)
	[ "$days" -ge 7 ]
	[ "$(sed 1d cp.csv | wc -l)" -eq $((days * 96)) ]
	file cp.png | grep -q 'PNG image data'
}

@test "load_duration: the quarter-hour powers, highest first" {
	run load_duration "$SHEET" "$W/store" hasselt ld
	assert_success
	sed 1d ld.csv | cut -d , -f 2 | sort -gr | diff - <(sed 1d ld.csv | cut -d , -f 2)
	[ "$(sed 1d ld.csv | wc -l)" -gt 600 ]
	file ld.png | grep -q 'PNG image data'
}

@test "standby_trend: the night minimum of each day, as job_daily has it" {
	run standby_trend "$SHEET" "$W/store" $HASSELT sb
	assert_success
	diff <(sed 1d sb.csv | cut -d , -f 1,2 | head -n 6) \
	    <(sed 1d "$W/private/sensors/$HASSELT.csv" | cut -d , -f 1,3)
	file sb.png | grep -q 'PNG image data'
}

@test "monthly: the month's siteCons is the sum of job_daily's days" {
	run monthly -s 2016-01-05 -e 2016-01-10 "$SHEET" "$W/store" hasselt mo
	assert_success
	got=$(sed -n 2p mo.csv | cut -d , -f 2)
	want=$(awk -F , '$1 >= "2016-01-05" && $1 < "2016-01-10" { s += $2 } END { printf "%.1f", s }' "$W/private/sites/hasselt.csv")
	awk -v a="$got" -v b="$want" 'BEGIN { exit !(a - b <= 0.2 && b - a <= 0.2) }'
	file mo.png | grep -q 'PNG image data'
}

@test "overview: electricity, gas and water per week for all sites" {
	run overview "$SHEET" "$W/store" all ov
	assert_success
	head -n 1 ov.csv | grep -q '^week,electricity (kWh),gas (m3),water (m3)$'
	[ "$(sed 1d ov.csv | wc -l)" -ge 1 ]
	file ov.png | grep -q 'PNG image data'
}

@test "parallel_daily equals the single run byte for byte" {
	run parallel_daily -j 2 -n 3 "$SHEET" "$W/store" pd
	assert_success
	og-unpack "$W/store" | og-metric -d -M <(og-meta "$SHEET") -i 1d >single.tsv
	cmp pd.tsv single.tsv
	[ "$(wc -l <pd.tsv)" -gt 100 ]
}
