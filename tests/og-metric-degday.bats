#!/usr/bin/env bats
# og-metric --hdd/--cdd: degree days as opengrid's compute_degree_days,
# checked against pandas on the real 2016 weather and by hand.

load helper

setup() { setup_scratch; }

WEATHER=$DATA/weather_2016_hour.tsv.gz

# noon of the local day N days after Monday 2016-01-04 (UTC+1)
noon() { echo $((1451862000 + $1 * 86400 + 43200)); }
day() { echo $((1451862000 + $1 * 86400)); }

@test "degree days agree with pandas on the real hourly weather of 2016" {
	gzip -dc "$WEATHER" | grep '^temperature' >temps
	pysci - "$WEATHER" >expected <<'PY'
import sys, gzip
import pandas as pd
rows = [l.rstrip('\n').split('\t') for l in gzip.open(sys.argv[1], 'rt')]
rows = [r for r in rows if r[0] == 'temperature']
t = pd.to_datetime([int(r[1]) for r in rows], unit='s', utc=True)
temp = pd.Series([float(r[2]) for r in rows],
                 index=t.tz_convert('Europe/Brussels'))
day = temp.resample('D').mean()
teq = 0.6 * day + 0.3 * day.shift(1) + 0.1 * day.shift(2)
cols = [('temp_equivalent', teq)]
for b in ['13', '16.5']:
    d = float(b) - teq
    d[d < 0] = 0
    cols.append(('HDD_' + b, d))
for b in ['16.5', '24']:
    d = teq - float(b)
    d[d < 0] = 0
    cols.append(('CDD_' + b, d))
for i in teq.index:
    for name, s in cols:
        print('temperature/%s\t%d\t%r' % (name, i.timestamp(), s[i]))
PY
	og-metric -z Europe/Brussels -i 1d --hdd 13,16.5 --cdd 16.5,24 temps >out
	# 2015-12-25 to 2017-01-01 local: 374 days, 5 records a day
	[ "$(wc -l <out)" -eq 1870 ]
	# the same keys, days (23 and 25 hours at the DST changes) and nans
	diff <(cut -f1,2 expected) <(cut -f1,2 out)
	[ "$(grep -c 'nan$' out)" -eq 10 ]
	diff <(grep -n 'nan$' expected) <(grep -n 'nan$' out)
	# and the same values to 1e-12 (today they are the same bytes)
	paste expected out | awk -F'\t' '
		{ d = $3 - $6; if (d < 0) d = -d; if (d > 1e-12) { print; bad++ } }
		END { exit bad > 0 }'
}

@test "the first two days are nan; bases are named as written, in the order given" {
	rec t "$(noon 0)" 10 t "$(noon 1)" 10 t "$(noon 2)" 9 t "$(noon 2)" 11 >in
	run og-metric -i 1d --hdd 13,16.50 --cdd 9.5 in
	assert_success
	# day 2: 0.6*10 + 0.3*10 + 0.1*10 = 10
	assert_output "$(rec t/temp_equivalent "$(day 0)" nan t/HDD_13 "$(day 0)" nan \
		t/HDD_16.50 "$(day 0)" nan t/CDD_9.5 "$(day 0)" nan \
		t/temp_equivalent "$(day 1)" nan t/HDD_13 "$(day 1)" nan \
		t/HDD_16.50 "$(day 1)" nan t/CDD_9.5 "$(day 1)" nan \
		t/temp_equivalent "$(day 2)" 10.0 t/HDD_13 "$(day 2)" 3.0 \
		t/HDD_16.50 "$(day 2)" 6.5 t/CDD_9.5 "$(day 2)" 0.5)"
}

@test "a day without samples is nan, and so are the two days after it" {
	# means 10 8 4 (none) 2 0 6
	rec t "$(noon 0)" 10 t "$(noon 1)" 8 t "$(noon 2)" 4 \
		t "$(noon 4)" 2 t "$(noon 5)" 0 t "$(noon 6)" 6 >in
	run og-metric -i 1d --hdd 5 in
	assert_success
	# day 2: 0.6*4 + 0.3*8 + 0.1*10 = 5.8, HDD 0 (not negative);
	# day 3 has no mean, days 4 and 5 need it; day 6: 3.6 + 0 + 0.2 = 3.8,
	# HDD 5 - 3.8 = 1.2000000000000002 in doubles
	assert_output "$(rec t/temp_equivalent "$(day 0)" nan t/HDD_5 "$(day 0)" nan \
		t/temp_equivalent "$(day 1)" nan t/HDD_5 "$(day 1)" nan \
		t/temp_equivalent "$(day 2)" 5.8 t/HDD_5 "$(day 2)" 0.0 \
		t/temp_equivalent "$(day 3)" nan t/HDD_5 "$(day 3)" nan \
		t/temp_equivalent "$(day 4)" nan t/HDD_5 "$(day 4)" nan \
		t/temp_equivalent "$(day 5)" nan t/HDD_5 "$(day 5)" nan \
		t/temp_equivalent "$(day 6)" 3.8 t/HDD_5 "$(day 6)" 1.2000000000000002)"
	# a day of nothing but nan samples is the same as a day without any
	rec t "$(noon 0)" 10 t "$(noon 1)" 8 t "$(noon 2)" 4 t "$(noon 3)" nan \
		t "$(noon 4)" 2 t "$(noon 5)" 0 t "$(noon 6)" 6 >in2
	run og-metric -i 1d --hdd 5 in2
	assert_output "$(og-metric -i 1d --hdd 5 in)"
}

@test "keys are kept apart, each with its own first days" {
	rec a "$(noon 0)" 10 b "$(noon 1)" 20 a "$(noon 1)" 10 b "$(noon 2)" 20 \
		a "$(noon 2)" 10 b "$(noon 3)" 20 >in
	og-metric -i 1d --cdd 15 in >out
	run grep -v nan out
	assert_output "$(rec a/temp_equivalent "$(day 2)" 10.0 a/CDD_15 "$(day 2)" 0.0 \
		b/temp_equivalent "$(day 3)" 20.0 b/CDD_15 "$(day 3)" 5.0)"
	[ "$(grep -c nan out)" -eq 8 ]
	# forty keys interleaved give each key what it gives alone
	gzip -dc "$WEATHER" | grep '^temperature' | head -n 500 |
		awk -F'\t' '{ for (k = 1; k <= 40; k++) print "t" k "\t" $2 "\t" $3 + k }' >many
	og-metric -i 1d --hdd 16.5 many | sort >together
	for k in $(seq 40); do
		grep -P "^t$k\t" many | og-metric -i 1d --hdd 16.5
	done | sort >alone
	[ "$(wc -l <alone)" -eq $((40 * 2 * 21)) ]
	cmp together alone
}

@test "input in any order with -u gives the same degree days" {
	gzip -dc "$WEATHER" | grep '^temperature' >temps
	og-metric -i 1d --hdd 16.5 temps >expected
	shuf --random-source=temps temps >shuffled
	run og-metric -u -i 1d --hdd 16.5 shuffled
	assert_success
	assert_output "$(cat expected)"
}

@test "split by time, merged with --merge --hdd: the same bytes as one run" {
	gzip -dc "$WEATHER" | grep '^temperature' >temps
	og-metric -i 1d --hdd 13,16.5 --cdd 24 temps >expected
	# the cut falls in the middle of a day
	head -n 4000 temps >p1
	tail -n +4001 temps >p2
	{ og-metric -i 1d --partial p1; og-metric -i 1d --partial p2; } >state
	run og-metric -i 1d --merge --hdd 13,16.5 --cdd 24 state
	assert_success
	assert_output "$(cat expected)"
}

@test "degree days need -i 1d and exclude what changes the daily mean" {
	rec t 0 1 >in
	for i in "" "-i 1h" "-i 24h" "-i 2d" "-i 1w" "-P 1h"; do
		# shellcheck disable=SC2086
		run og-metric $i --hdd 16.5 in
		assert_failure 2
		assert_output "og-metric: --hdd and --cdd need -i 1d (degree days are per local day)"
	done
	for o in "-a max" "-d" "-D" "-r" "-w 01:00-06:00" "-M in" "--partial"; do
		# shellcheck disable=SC2086
		run og-metric -i 1d $o --cdd 24 in
		assert_failure 2
		assert_output "og-metric: --hdd and --cdd exclude -a, -d, -D, -r, -w, -M, -x and --partial (--merge takes the state of -i 1d --partial)"
	done
}

@test "a bad base is a usage error naming it" {
	rec t 0 1 >in
	run og-metric -i 1d --hdd 16.5,x in
	assert_failure 2
	assert_output "og-metric: --hdd: bad base 'x' (a temperature such as 16.5)"
	for b in "" "13," ",13" "nan" "inf" "1e999" "16 .5"; do
		run og-metric -i 1d --cdd "$b" in
		assert_failure 2
		assert_output --partial "og-metric: --cdd: bad base '"
	done
	run og-metric -i 1d --hdd 13,16.5,13 in
	assert_failure 2
	assert_output "og-metric: --hdd: base '13' given twice"
}

@test "a key too long for its degree-day keys is an error naming it" {
	k=$(printf 'k%.0s' {1..240})
	rec "$k" 0 1 >in
	run og-metric -i 1d --hdd 16.5 in
	assert_failure 1
	assert_output "og-metric: key '$k' too long for its degree-day keys (239 bytes at most)"
}
