#!/usr/bin/env bats
# The pipelines on a week of the bundled sample, served by the Flukso
# stand-in, with the real 2016 weather served by the Open-Meteo stand-in:
# job_sync, job_daily and the analysis scripts, checked by numbers.

load helper

SHEET=$TOP/pipelines/sample/sheet.csv
HASSELT=d9096b4a3a05ad34ee5e5cca11958cfd	# gridCons, the only sensor of hasselt
A_IMPORT=3547c3bf841e38b071e205eb45f0de26
A_EXPORT=906a467721eb06c030a2b17ce357aa62
A_PV=ef5a2cdca97862f59a41b9980b86d6c1
WEATHER=$TOP/tests/data/weather_2016_hour.tsv.gz

setup_file() {
	export W=$BATS_FILE_TMPDIR
	"$TOP/pipelines/sample/make_blocks" "$SHEET" "$W/sample" 2016-01-04 2016-01-11
	python3 "$TOP/tests/flukso_server.py" serve --port-file "$W/port" \
	    --tokens "$W/sample/tokens" "$W/sample/blocks" >/dev/null 2>&1 3>&- &
	echo $! >"$W/server.pid"
	python3 "$TOP/tests/openmeteo_server.py" serve --port-file "$W/weather.port" \
	    --log "$W/weather.log" "$WEATHER" >/dev/null 2>&1 3>&- &
	echo $! >"$W/weather.pid"
	for _ in $(seq 100); do [ -s "$W/port" ] && [ -s "$W/weather.port" ] && break; sleep 0.1; done
	OG_API_URL="http://127.0.0.1:$(cat "$W/port")"
	OG_WEATHER_URL="http://127.0.0.1:$(cat "$W/weather.port")"
	export OG_API_URL OG_WEATHER_URL
	job_sync "$SHEET" "$W/store" 2>"$W/sync.log"
	og-unpack "$W/store" >"$W/store.tsv"
	job_daily "$SHEET" "$W/store" "$W/public" "$W/private" 2>"$W/daily.log"
	cp "$W/weather.log" "$W/weather.first.log"
}

teardown_file() {
	kill "$(cat "$BATS_FILE_TMPDIR/server.pid")" 2>/dev/null || :
	kill "$(cat "$BATS_FILE_TMPDIR/weather.pid")" 2>/dev/null || :
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
# sample_store FROM TO: the sample's blocks of sheet.csv's sensors for the
# days [FROM, TO), served by the stand-in and pulled by job_sync into store
sample_store() {
	"$TOP/pipelines/sample/make_blocks" sheet.csv sample "$1" "$2"
	python3 "$TOP/tests/flukso_server.py" serve --port-file port \
	    --tokens sample/tokens sample/blocks >/dev/null 2>&1 3>&- &
	echo $! >server.pid
	for _ in $(seq 100); do [ -s port ] && break; sleep 0.1; done
	OG_API_URL="http://127.0.0.1:$(cat port)" job_sync sheet.csv store 2>/dev/null
	kill "$(cat server.pid)"
}

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
	sample_store 2016-06-19 2016-06-24
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
	run ! grep -rqiF -f secrets "$W/public"
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
	run ! grep -rqF "$(cat "$W/store.q15/.label-key")" "$W/public" "$W/private"
	# and PRIVATE no token
	og-meta -f token "$SHEET" >tokens
	! grep -rqF -f tokens "$W/private"
}

@test "job_daily: PNG files are valid images of plausible size" {
	n=0
	for f in "$W"/public/*.png "$W"/private/*.png "$W"/private/sites/*.png "$W"/private/sensors/*.png; do
		file "$f" | grep -q 'PNG image data, 1000 x'
		size=$(stat -c %s "$f")
		[ "$size" -gt 15000 ] && [ "$size" -lt 400000 ]
		n=$((n + 1))
	done
	[ "$n" -eq $((2 + 3 + 6 + 19)) ]
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

@test "job_daily from a cache: a meter that idled for weeks across the cache's end counts the same" {
	# B's readings of Jan 4 moved 10 days back, then silence until its
	# first reading after the cache's end, in a quarter hour that the next
	# run must count from B's reading before the silence
	cut=$(date -d 2016-01-10T12:00:00+01:00 +%s)
	lb=$((cut + 6 * 3600 + 420)) end=$((cut + 12 * 3600))
	b=$(og-unpack -s $lb -e $end "$W/store" | head -1 | cut -f1)
	og-unpack -e $cut "$W/store" | awk -F '\t' -v b=$b -v e=$((cut - 475200)) '
	    $1 != b { print; next }
	    $2 < e { print $1 "\t" $2 - 864000 "\t" $3 }' >first
	og-unpack -s $lb -e $end "$W/store" $b >>first
	og-pack -q store <first
	job_daily "$SHEET" store pub0 priv0 2>/dev/null
	og-unpack -s $cut "$W/store" | awk -F '\t' -v b=$b -v e=$end '$1 != b || $2 >= e' >rest
	og-pack -q store <rest
	job_daily "$SHEET" store pub priv 2>/dev/null
	og-pack -q fresh <first
	og-pack -q fresh <rest
	job_daily "$SHEET" fresh pubf privf 2>/dev/null
	diff <(og-unpack store.q15) <(og-unpack fresh.q15)
	# B's quarter hour of its first reading after the silence is there
	q=$((lb - lb % 900))
	[ "$(og-unpack -s $q -e $((q + 1)) store.q15 $b | cut -f2)" = $q ]
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

# gas_check PRIVATE SITE: job_daily's gas section of SITE against an
# independent computation in pandas and statsmodels: each day's gas as the
# site's table has it; its heating degree days from the served weather
# (local days, 0.6 T(d) + 0.3 T(d-1) + 0.1 T(d-2), base 16.5); the model
# chosen as og-fit(1) says (HDD if it lowers BIC and its p-value is at most
# 0.05), its numbers in the model file, each day's prediction, interval and
# side of it; and in index.html the months (the interval of a month's sum
# from the coefficients' covariance) and the list of the days outside.
# Prints the number of days outside.
gas_check() {
	pysci - "$WEATHER" "$@" <<'PY'
import math, re, sys
import numpy as np, pandas as pd, statsmodels.api as sm
from scipy import stats
weather, priv, site = sys.argv[1:4]
rows = [l.rstrip("\n").split(",") for l in open(f"{priv}/gas-{site}.csv")]
head, rows = rows[0], rows[1:]
assert head == ["date", "gas (m3)", "HDD 16.5 (degC day)", "predicted (m3)",
                "lower (m3)", "upper (m3)", "against the interval"], head
n = len(rows)
dates = [r[0] for r in rows]
y = np.array([float(r[1]) for r in rows])
h = np.array([float(r[2]) for r in rows])
table = [l.rstrip("\n").split(",") for l in open(f"{priv}/sites/{site}.csv")]
g = table[0].index("gridGas (m3)")
gas = {r[0]: float(r[g]) for r in table[1:] if r[g] != ""}
assert sorted(gas) == dates, "the days are the site's days with gas"
for d, v in zip(dates, y):
    assert abs(gas[d] - v) <= 0.0005 + 1e-9, (d, gas[d], v)
w = pd.read_csv(weather, sep="\t", names=["k", "t", "v"])
t = w[w.k == "temperature"]
temp = pd.Series(t.v.values, index=pd.to_datetime(t.t.values, unit="s", utc=True)
                 .tz_convert("Europe/Brussels"))
day = temp.resample("D").mean()
teq = 0.6 * day + 0.3 * day.shift(1) + 0.1 * day.shift(2)
hdd = {i.strftime("%Y-%m-%d"): v for i, v in (16.5 - teq).clip(lower=0).items()}
for d, v in zip(dates, h):
    assert abs(hdd[d] - v) < 1e-6, (d, hdd[d], v)
X1, X2 = np.ones((n, 1)), np.column_stack([np.ones(n), h])
m1, m2 = sm.OLS(y, X1).fit(), sm.OLS(y, X2).fit()
with_hdd = m2.bic < m1.bic and m2.pvalues[1] <= 0.05
m, X = (m2, X2) if with_hdd else (m1, X1)
model = [l.rstrip("\n").split("\t") for l in open(f"{priv}/gas-{site}.tsv")]
terms = [r for r in model if not r[0].startswith("#")]
assert [r[0] for r in terms][:1] == ["Intercept"] and len(terms) == X.shape[1], terms
if with_hdd:
    assert re.fullmatch(r"weather/-?[0-9.]+,-?[0-9.]+/temperature_2m/HDD_16\.5", terms[1][0])
for j, r in enumerate(terms):
    for got, want in zip(map(float, r[1:]), (m.params[j], m.bse[j], m.pvalues[j])):
        assert math.isclose(got, want, rel_tol=1e-4), (r, got, want)
st = dict(kv.split("=") for kv in model[-1][0][2:].split())
assert int(st["n"]) == n and abs(float(st["r2"]) - m.rsquared) < 1e-6, st
f = m.get_prediction(X).summary_frame(alpha=0.05)
mean, lo, hi = f["mean"].values, f.obs_ci_lower.values, f.obs_ci_upper.values
side = ["above" if y[i] > hi[i] else "below" if y[i] < lo[i] else "within" for i in range(n)]
for i, r in enumerate(rows):
    assert abs(float(r[3]) - max(0.0, mean[i])) < 2e-5, (r, mean[i])
    assert abs(float(r[4]) - lo[i]) < 2e-5 and abs(float(r[5]) - hi[i]) < 2e-5, (r, lo[i], hi[i])
    assert r[6] == side[i], (r, side[i])
page = open(f"{priv}/index.html").read()
sec = page[page.index(f'<h2 id="{site}">') + 4:]
sec = sec[:sec.find("<h2")] if "<h2" in sec else sec
assert sec.count("<h3>Gas and the weather</h3>") == 1
shown = re.findall(r"<tr><td>(\d{4}-\d\d)</td><td>(\d+)</td><td>([\d.]+)</td>"
                   r"<td>([\d.]+)</td><td>([\d.]+) to ([\d.]+)</td><td>(\d+)</td>"
                   r"<td>(\d+)</td></tr>", sec)
months = sorted(set(d[:7] for d in dates))
assert [s[0] for s in shown] == months, shown
tq = stats.t.ppf(0.975, m.df_resid)
for mo, s in zip(months, shown):
    idx = [i for i, d in enumerate(dates) if d.startswith(mo)]
    xs = X[idx].sum(axis=0)
    pred = xs @ m.params
    half = tq * math.sqrt(xs @ m.cov_params() @ xs + len(idx) * m.scale)
    want = [y[idx].sum(), max(0, pred), max(0, pred - half), max(0, pred + half)]
    assert int(s[1]) == len(idx), (mo, s)
    assert (int(s[6]), int(s[7])) == (sum(side[i] == "above" for i in idx),
                                      sum(side[i] == "below" for i in idx)), (mo, s)
    for got, w in zip(map(float, s[2:6]), want):
        assert abs(got - w) <= 0.05 + 1e-4, (mo, s, want)
listed = re.findall(r"<tr><td>(\d{4}-\d\d-\d\d)</td><td>[\d.]+</td><td>[\d.]+</td>"
                    r"<td>[\d.]+ to [\d.]+</td><td>(above|below)</td></tr>", sec)
outside = [(d, s) for d, s in zip(dates, side) if s != "within"][::-1]
assert listed == outside, (listed, outside)
print(len(outside))
PY
}

@test "job_daily pulls each place's weather once into STORE.weather, then only what is new" {
	# the sheet's six places, each variable, from three days before the
	# first day (2016-01-04) to the end of the last whole one (2016-01-09)
	og-meta -f latitude,longitude "$SHEET" | sort -u | tr '\t' , >places
	[ "$(wc -l <places)" -eq 6 ]
	og-unpack -l "$W/store.weather" >list
	[ "$(wc -l <list)" -eq 24 ]
	while read -r p; do
		for v in temperature_2m shortwave_radiation wind_speed_10m relative_humidity_2m; do
			grep -q "^weather/$p/$v	216	1451602800	1452376800$" list
		done
	done <places
	# the records as served: anderlecht's temperatures
	zcat "$WEATHER" | awk -F '\t' -v OFS='\t' '$1 == "temperature" && $2 >= 1451602800 && $2 < 1452380400 {
		$1 = "weather/50.8365,4.3085/temperature_2m"; print }' >want
	og-unpack "$W/store.weather" weather/50.8365,4.3085/temperature_2m | diff want -
	# two requests a place (2015-12-31, then 2016), each place once
	[ "$(wc -l <"$W/weather.first.log")" -eq 12 ]
	while read -r p; do
		[ "$(grep -c "latitude=${p%,*}&longitude=${p#*,}&start_date=2015-12-31&end_date=2015-12-31&" "$W/weather.first.log")" -eq 1 ]
		[ "$(grep -c "latitude=${p%,*}&longitude=${p#*,}&start_date=2016-01-01&end_date=2016-01-09&" "$W/weather.first.log")" -eq 1 ]
	done <places
	grep -q '&timezone=GMT&timeformat=unixtime&wind_speed_unit=ms 200$' "$W/weather.first.log"
	# again: nothing new, nothing asked
	cp -r "$W/store" "$W/store.q15" "$W/store.weather" .
	: >"$W/weather.log"
	job_daily "$SHEET" store pub priv 2>err
	[ ! -s err ]
	[ ! -s "$W/weather.log" ]
	diff -r priv "$W/private"
}

@test "job_daily: the gas of each site, its degree days and og-fit's model, as pandas and statsmodels have them" {
	[ ! -s "$W/daily.log" ] || { cat "$W/daily.log"; return 1; }
	ls "$W/private"/gas-* >files
	diff files - <<-EOF
		$W/private/gas-anderlecht.csv
		$W/private/gas-anderlecht.png
		$W/private/gas-anderlecht.tsv
		$W/private/gas-leuven.csv
		$W/private/gas-leuven.png
		$W/private/gas-leuven.tsv
		$W/private/gas-namur.csv
		$W/private/gas-namur.png
		$W/private/gas-namur.tsv
	EOF
	for site in anderlecht leuven namur; do
		gas_check "$W/private" $site
		[ "$(sed 1d "$W/private/gas-$site.csv" | wc -l)" -eq 6 ]
	done
	# in this week the degree days explain anderlecht's gas, not leuven's
	[ "$(grep -vc '^#' "$W/private/gas-anderlecht.tsv")" -eq 2 ]
	[ "$(grep -vc '^#' "$W/private/gas-leuven.tsv")" -eq 1 ]
}

@test "index.html: the section Gas and the weather shows og-fit's model file, and only for sites with gas" {
	page=$W/private/index.html
	[ "$(grep -c '<h3>Gas and the weather</h3>' "$page")" -eq 3 ]
	for site in anderlecht leuven namur; do
		sed -n "/<h2 id=\"$site\">/,/<h2 id=/p" "$page" >sec
		grep -q "<img src=\"gas-$site.png\" alt=\"$site: daily gas against heating degree days, and per month\">" sec
		awk -F '\t' '
			/^#/ { split($0, kv, " "); for (i in kv) if (split(kv[i], e, "=") == 2) st[e[1]] = e[2]; next }
			{ printf "<tr><td>%s</td><td>%.3f</td><td>%.3f</td><td>%.3g</td></tr>\n",
			    $1 == "Intercept" ? "intercept (m³ a day)" : "heating degree days (m³ per °C·day)", $2, $3, $4 }
			END { printf "<p>R² = %.3f (adjusted %.3f), n = %d days.\n", st["r2"], st["adj_r2"], st["n"] }' \
		    "$W/private/gas-$site.tsv" >want
		[ "$(wc -l <want)" -ge 2 ]
		while IFS= read -r line; do
			grep -qF "$line" sec || { echo "$site: not in the page: $line"; return 1; }
		done <want
	done
	file "$W/private/gas-anderlecht.png" | grep -q 'PNG image data, 1000 x 820'
	# gent has water, not gas; brugge and hasselt no gas
	for site in gent brugge hasselt; do
		sed -n "/<h2 id=\"$site\">/,/<h2 id=/p" "$page" >sec
		run ! grep -q 'Gas and the weather' sec
		[ ! -e "$W/private/gas-$site.csv" ]
	done
	# the places of the homes stay private
	og-meta -f latitude,longitude "$SHEET" | tr '\t' '\n' | sort -u >places
	run ! grep -rqF -f places "$W/public"
	run ! grep -rqi 'weather' "$W/public"
}

@test "a winter of one site: days outside their interval are marked and listed, months as statsmodels has them" {
	grep -E '^(site|leuven,.*gridGas),' "$SHEET" >sheet.csv
	[ "$(wc -l <sheet.csv)" -eq 2 ]
	sample_store 2016-01-01 2016-04-01
	run job_daily sheet.csv store pub priv
	assert_success
	# (gnuplot may warn of the public plots' empty electricity axis)
	refute_output --partial og-
	refute_output --partial job_daily
	[ "$(sed 1d priv/gas-leuven.csv | wc -l)" -eq 90 ]
	run gas_check priv leuven
	assert_success
	# the data are fixed: so many of the 90 days lie outside
	[ "$output" -eq 2 ]
	grep -q ',above$' priv/gas-leuven.csv
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
		assert_output --partial "id=\"imgcheck\">$(grep -o '<img ' "$W/$root/index.html" | wc -l) images, broken:<"
		if [ "$root" = private ]; then
			# the gas sections as rendered: their plots, og-fit's numbers
			for site in anderlecht leuven namur; do
				assert_output --partial "<img src=\"gas-$site.png\""
				assert_output --partial "$(awk -F '\t' '$1 == "Intercept" { printf "<td>intercept (m³ a day)</td><td>%.3f</td><td>%.3f</td>", $2, $3 }' "$W/private/gas-$site.tsv")"
			done
			assert_output --partial "$(awk -F '\t' '$1 ~ /HDD/ { printf "<td>heating degree days (m³ per °C·day)</td><td>%.3f</td><td>%.3f</td>", $2, $3 }' "$W/private/gas-anderlecht.tsv")"
		fi
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
