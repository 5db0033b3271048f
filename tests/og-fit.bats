#!/usr/bin/env bats
# shellcheck disable=SC2154  # status, output and stderr are set by bats' run
# og-fit: the choice of terms, the fit, predictions and intervals, checked
# against an independent Python og-fit on statsmodels (fit_reference.py)
# on the real weather of 2016 and on generated gas, and by hand; every
# error with its message and exit status.

load helper

setup() { setup_scratch; }

WEATHER=$DATA/weather_2016_hour.tsv.gz
REF=$BATS_TEST_DIRNAME/fit_reference.py

# days: the daily means of the real weather of 2016 and the degree days of
# its temperature; 9 candidates besides the one modelled
weather_days() {
	gzip -dc "$WEATHER" >weather
	og-metric -i 1d weather >days
	grep '^temperature' weather | og-metric -i 1d --hdd 12,16.5,18 \
		--cdd 18,22 >>days
}

# gas: daily gas generated from the real degree days and sunshine, with
# noise, never below 0
gas_days() {
	python3 - days >gas <<'PY'
import sys, random
rng = random.Random(15)
vals = {}
for line in open(sys.argv[1]):
    k, t, v = line.rstrip('\n').split('\t')
    vals.setdefault(k, {})[int(t)] = float(v)
hdd = vals['temperature/HDD_16.5']
sun = vals['GlobalHorizontalIrradiance']
for t in sorted(hdd):
    if hdd[t] == hdd[t]:
        g = 0.4 + 1.05 * hdd[t] - 0.004 * sun[t] + rng.gauss(0, 0.9)
        print('gas\t%d\t%r' % (t, round(max(g, 0), 3)))
PY
}

# same_fit OPTIONS...: og-fit and the reference give the same records and
# model, every number within 1e-9 (relative; records relative to at least
# 1): coefficients, standard errors, p-values, R2, BIC, AIC, predictions
# and interval bounds
same_fit() {
	pysci "$REF" fit -m ref.model "$@" >ref.out
	og-fit -m got.model "$@" >got.out
	python3 "$REF" compare --rel 1e-9 ref.model got.model
	python3 "$REF" compare --rel 1e-9 ref.out got.out
}

# --- agreement with statsmodels ---------------------------------------------

@test "agrees with statsmodels on the real weather: humidity from 9 candidates" {
	weather_days
	same_fit -y humidity days
	# four of the nine entered, in this order
	run cut -f1 got.model
	assert_output "Intercept
GlobalHorizontalIrradiance
temperature/HDD_16.5
windSpeed
temperature
# n=372 r2=0.5722883358555005 adj_r2=0.5676266283443889 bic=-924.7115117906765 aic=-944.3059810620422"
	# 2015-12-25 and 26 have no degree days: 372 rows, 3 records each
	[ "$(wc -l <got.out)" -eq $((3 * 372)) ]
}

@test "agrees with statsmodels on generated gas against degree days, at any -p and -c" {
	weather_days
	gas_days
	same_fit -y gas gas days
	run cut -f1 got.model
	assert_output --partial "Intercept
temperature/HDD_16.5
temperature/HDD_18
GlobalHorizontalIrradiance
# n=372 "
	same_fit -y gas -p 0.01 -c 0.9 gas days
	same_fit -y gas -p 0.2 -c 0.99 -n gas days
	same_fit -y gas -x temperature/HDD_16.5 -x windSpeed gas days
}

@test "a stricter -p prunes the term that entered last, and the selection stops" {
	weather_days
	# temperature entered fourth at p = 0.000131 > 0.0001: the model is
	# the one of the round before
	same_fit -y humidity -p 0.0001 days
	run cut -f1 got.model
	assert_output --partial "Intercept
GlobalHorizontalIrradiance
temperature/HDD_16.5
windSpeed
# n=372 "
}

@test "negative predictions are 0 unless -n; the interval stays around the prediction" {
	weather_days
	gas_days
	og-fit -y gas gas days >clipped
	og-fit -n -y gas gas days >negative
	# 2016-05-07: the model predicts a little below 0
	run grep -P '^gas/predicted\t1462572000\t' negative
	assert_output --regexp $'^gas/predicted\t1462572000\t-0\\.00372832089'
	run grep -P '^gas/predicted\t1462572000\t' clipped
	assert_output $'gas/predicted\t1462572000\t0.0'
	[ "$(awk '$1 == "gas/predicted" && $3 < 0' negative | wc -l)" -gt 0 ]
	[ "$(awk '$1 == "gas/predicted" && $3 < 0' clipped | wc -l)" -eq 0 ]
	# only predictions below 0 differ, and the bounds not at all
	diff <(grep -v predicted negative) <(grep -v predicted clipped)
	paste negative clipped | awk -F'\t' '$3 != $6 && !($3 < 0 && $6 == 0)' >bad
	[ ! -s bad ]
}

@test "the model of a line agrees with a hand computation" {
	# y = 2 + 3x + e, e = .1 -.1 0 .1 -.1: slope 3 + sum((x-3)e)/10 =
	# 2.98, intercept 11 - 3 * 2.98 = 2.06, residuals .06 -.12 0 .12 -.06,
	# ssr .036, s2 = .036/3 = .012; se(slope) = sqrt(.012/10),
	# se(intercept) = sqrt(.012 (1/5 + 9/10)); tss 88.84
	rec y 1 5.1 y 2 7.9 y 3 11 y 4 14.1 y 5 16.9 \
		x 1 1 x 2 2 x 3 3 x 4 4 x 5 5 >in
	og-fit -y y -m model in >out
	[ "$(cut -f1 model | head -2 | tr '\n' ' ')" = "Intercept x " ]
	# p of t with 3 degrees of freedom: (2/pi)(atan(1/u) - u/(1+u^2)),
	# u = t/sqrt(3); llf = -n/2 (log(2 pi ssr/n) + 1)
	awk -F'\t' '
	function near(got, want, what) {
		if ((got - want) ^ 2 > (1e-12 * want) ^ 2) {
			print what ": " got " != " want; bad = 1
		}
	}
	function p3(t,   u) { u = t / sqrt(3)
		return 2 / atan2(0, -1) * (atan2(1, u) - u / (1 + u * u)) }
	NR == 1 { near($2, 2.06, "b0"); near($3, sqrt(.012 * 1.1), "se0")
		near($4, p3(2.06 / sqrt(.012 * 1.1)), "p0") }
	NR == 2 { near($2, 2.98, "b1"); near($3, sqrt(.0012), "se1")
		near($4, p3(2.98 / sqrt(.0012)), "p1") }
	NR == 3 { split($0, f, /[ =]/)
		llf = -2.5 * (log(2 * atan2(0, -1) * .036 / 5) + 1)
		if (f[3] != 5) { print "n " f[3]; bad = 1 }
		near(f[5], 1 - .036 / 88.84, "r2")
		near(f[7], 1 - 4 / 3 * .036 / 88.84, "adj_r2")
		near(f[9], -2 * llf + 2 * log(5), "bic")
		near(f[11], -2 * llf + 4, "aic") }
	END { exit bad }' model
	# predictions 2.06 + 2.98 x; the interval t(.025, 3) = 3.18244630528
	# (NIST: 3.182) times sqrt(s2 (1 + 1/5 + (x - 3)^2 / 10))
	paste - - - <out | awk -F'\t' '
	{ x = $2; p = 2.06 + 2.98 * x; sd = sqrt(.012 * (1.2 + (x - 3) ^ 2 / 10))
	  if ((($3 - p) / p) ^ 2 > 1e-28) { print "predicted " $0; bad = 1 }
	  q = ($9 - $3) / sd
	  if ((q - 3.1824463052842638) ^ 2 > 1e-22 ||
	      (($3 - $6) / sd - q) ^ 2 > 1e-22) { print "interval " $0; bad = 1 } }
	END { exit bad || NR != 5 }'
}

# --- rows and candidates ----------------------------------------------------

@test "rows are the times at which y and every candidate have a value" {
	# t 2: y is nan; t 3: no x; t 5: x is nan; t 7: no y
	rec y 1 1 y 2 nan y 3 3 y 4 5 y 5 4 y 6 8 y 8 9 \
		x 1 1 x 2 2 x 4 2 x 5 nan x 6 3 x 7 4 x 8 5 >in
	og-fit -y y -m model in >out
	run cut -f2 out
	assert_output "$(printf '%s\n' 1 1 1 4 4 4 6 6 6 8 8 8)"
	run tail -n 1 model
	assert_output --partial "# n=4 "
	cut -f1,3 out | head -3 >first
	[ "$(cut -f1 first | tr '\n' ' ')" = "y/predicted y/interval_l y/interval_u " ]
}

@test "without -x every other key is a candidate; with -x only those named" {
	weather_days
	gas_days
	# an extra key with a value on one day in two
	awk -F'\t' '$1 == "windSpeed" && NR % 2 { print "half\t" $2 "\t" $3 }' \
		days >half
	og-fit -y gas -m all gas days half >/dev/null
	# the days of half that have gas (all days but the first two)
	n=$(awk -F'\t' '$2 > 1451170000' half | wc -l)
	[ "$n" -gt 150 ]
	run tail -n 1 all
	assert_output --partial "# n=$n "
	og-fit -y gas -x temperature/HDD_16.5 -x GlobalHorizontalIrradiance \
		-m named gas days half >/dev/null
	run tail -n 1 named
	assert_output --partial "# n=372 "
	run cut -f1 named
	assert_line --index 1 "temperature/HDD_16.5"
	assert_line --index 2 "GlobalHorizontalIrradiance"
	same_fit -y gas -x temperature/HDD_16.5 -x GlobalHorizontalIrradiance \
		gas days half
}

@test "input in any order and split over files gives the same fit" {
	weather_days
	gas_days
	og-fit -y gas -m model1 gas days >out1
	cat gas days | shuf --random-source=days >shuffled
	head -n 1000 shuffled >part1
	tail -n +1001 shuffled >part2
	og-fit -y gas -m model2 part1 - <part2 >out2
	cmp out1 out2
	cmp model1 model2
}

@test "collinear candidates are passed over with a note, not fatal" {
	weather_days
	gas_days
	# twice the degree days: the same fit to the last bit, so the first
	# of the two in order enters and the other is passed over
	awk -F'\t' '$1 == "temperature/HDD_16.5" {
		printf "double\t%s\t%.17g\n", $2, 2 * $3 }' days >double
	run --separate-stderr og-fit -y gas -x temperature/HDD_16.5 -x double \
		-m model gas days double
	assert_success
	[ "$stderr" = "og-fit: double: a linear combination of the model's terms: passed over" ]
	[ "$(cut -f1 model | head -2 | tr '\n' ' ')" = "Intercept temperature/HDD_16.5 " ]
	echo "$output" >out
	run --separate-stderr og-fit -y gas -x double -x temperature/HDD_16.5 \
		-m model2 gas days double
	assert_success
	[ "$stderr" = "og-fit: temperature/HDD_16.5: a linear combination of the model's terms: passed over" ]
	[ "$(cut -f1 model2 | head -2 | tr '\n' ' ')" = "Intercept double " ]
	# the same model, so the same predictions, and as statsmodels has them
	python3 "$REF" compare --rel 1e-12 out <(echo "$output")
	pysci "$REF" fit -y gas -x temperature/HDD_16.5 gas days >ref.out
	python3 "$REF" compare --rel 1e-9 ref.out out
}

@test "degree days on three bases in winter are collinear: one enters, the others are passed over" {
	weather_days
	gas_days
	# until 2016-03-01 the temperature equivalent stays below 12, so
	# HDD_12, HDD_16.5 and HDD_18 differ by constants
	awk -F'\t' '$2 < 1456786800' gas days >winter
	run --separate-stderr og-fit -y gas -x temperature/HDD_12 \
		-x temperature/HDD_16.5 -x temperature/HDD_18 -m model winter
	assert_success
	[ "$(echo "$stderr" | wc -l)" -eq 2 ]
	[[ "$stderr" == *"a linear combination of the model's terms: passed over"* ]]
	[ "$(wc -l <model)" -eq 3 ]
	echo "$output" >out
	pysci "$REF" fit -y gas -x temperature/HDD_16.5 winter >ref.out
	python3 "$REF" compare --rel 1e-9 ref.out out
}

# --- errors -----------------------------------------------------------------

@test "a -y or -x key with no records is an error naming it" {
	rec y 1 1 y 2 2 y 3 4 x 1 1 x 2 3 x 3 3 >in
	run og-fit -y gas in
	assert_failure 1
	assert_output "og-fit: no records of the -y key 'gas'"
	run og-fit -y y -x hdd in
	assert_failure 1
	assert_output "og-fit: no records of the -x key 'hdd'"
	run og-fit -y y </dev/null
	assert_failure 1
	assert_output "og-fit: no records of the -y key 'y'"
}

@test "fewer rows than terms need is an error saying how many" {
	rec y 1 1 y 2 2 y 3 4 x 1 1 x 2 3 x 3 3 z 1 5 z 2 nan z 3 1 >in
	run og-fit -y y in
	assert_failure 1
	assert_output "og-fit: 2 rows (times at which y and every candidate have a value), too few for 3 terms (the intercept and 2 candidates): 4 needed"
	run og-fit -y y -x x in
	assert_success
	rec y 1 1 x 2 2 >in
	run og-fit -y y in
	assert_failure 1
	assert_output "og-fit: 0 rows (times at which y and every candidate have a value), too few for 2 terms (the intercept and 1 candidate): 3 needed"
	rec y 1 1 >in
	run og-fit -y y in
	assert_failure 1
	assert_output "og-fit: 1 row (times at which y and every candidate have a value), too few for 1 term (the intercept and 0 candidates): 2 needed"
}

@test "a constant column is an error naming it" {
	rec y 1 5 y 2 5 y 3 5 y 4 5 x 1 1 x 2 2 x 3 3 x 4 5 >in
	run og-fit -y y in
	assert_failure 1
	assert_output "og-fit: y: the same value (5.0) at all 4 rows: nothing to fit"
	rec y 1 1 y 2 2 y 3 4 y 4 3 cdd 1 0 cdd 2 0 cdd 3 0 cdd 4 0 >in
	run og-fit -y y in
	assert_failure 1
	assert_output "og-fit: cdd: the same value (0.0) at all 4 rows: nothing to fit (name the candidates with -x)"
	run og-fit -y y -x cdd in
	assert_failure 1
	assert_output "og-fit: cdd: the same value (0.0) at all 4 rows: nothing to fit (leave it out of -x)"
}

@test "two values of a key at one time is an error naming both" {
	rec y 1 1 y 2 2 y 3 4 y 4 3 x 1 1 x 2 3 x 3 3 x 2 2 >in
	run og-fit -y y in
	assert_failure 1
	assert_output "og-fit: x: two values at time 2"
}

@test "bad options are usage errors with the reason" {
	rec y 1 1 >in
	run og-fit in
	assert_failure 2
	assert_output --partial "usage: og-fit -y KEY"
	for p in 0 1.5 -1 x ''; do
		run og-fit -y y -p "$p" in
		assert_failure 2
		assert_output "og-fit: bad -p '$p' (above 0 to 1)"
	done
	for c in 0 1 95 x; do
		run og-fit -y y -c "$c" in
		assert_failure 2
		assert_output "og-fit: bad -c '$c' (above 0 below 1)"
	done
	run og-fit -y y -x y in
	assert_failure 2
	assert_output "og-fit: -x 'y' is the -y key"
	run og-fit -y y -x a -x a in
	assert_failure 2
	assert_output "og-fit: -x 'a' given twice"
	run og-fit -y 'a b' in
	assert_failure 2
	assert_output "og-fit: bad key 'a b'"
	run og-fit -y y -x '' in
	assert_failure 2
	assert_output "og-fit: bad key ''"
	k=$(printf 'k%.0s' {1..245})
	run og-fit -y "$k" in
	assert_failure 2
	assert_output "og-fit: -y key longer than 244 bytes, too long for KEY/interval_l"
}

@test "a model file that cannot be written is an error, and nothing is printed" {
	rec y 1 1 y 2 2 y 3 4 x 1 1 x 2 3 x 3 3 >in
	run --separate-stderr og-fit -y y -m nodir/model in
	assert_failure 1
	[ -z "$output" ]
	[ "$stderr" = "og-fit: nodir/model: No such file or directory" ]
	run og-fit -y y -m /dev/full in
	assert_failure 1
	assert_output "og-fit: /dev/full: write error: No space left on device"
}

@test "a bad record, a missing file and a failed write are errors" {
	printf 'y\t1\n' >in
	run og-fit -y y in
	assert_failure 1
	assert_output "og-fit: in:1: missing VALUE field"
	run og-fit -y y nosuch
	assert_failure 1
	assert_output "og-fit: nosuch: No such file or directory"
	rec y 1 1 y 2 2 y 3 4 x 1 1 x 2 3 x 3 3 >in
	run bash -c 'og-fit -y y in >/dev/full'
	assert_failure 1
	assert_output "og-fit: <stdout>: write error: No space left on device"
}
