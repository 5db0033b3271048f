#!/usr/bin/env bats
# og-metric: buckets, aggregates, counters, windows, profiles, site metrics
# and mergeable partial state.  Expected values are worked out by hand in
# the comments, or by an independent python3 computation on the real data.

load helper

setup() { setup_scratch; }

HOUR=$DATA/electricity_2016_hour.tsv.gz
MINUTE=$DATA/elec_power_min_1sensor.tsv.gz

# --- buckets and aggregates -------------------------------------------------

@test "-i 1h gives the mean per hour; an empty hour prints nothing" {
	rec k 0 1 k 1800 2 k 7200 6 k 10799 7 >in
	run og-metric -i 1h in
	assert_success
	assert_output "$(rec k 0 1.5 k 7200 6.5)"
}

@test "fixed intervals are aligned to the epoch" {
	rec k -1 4 k 899 1 k 900 2 k 1799 3 >in
	run og-metric -i 15min -a sum in
	assert_success
	assert_output "$(rec k -900 4.0 k 0 1.0 k 900 5.0)"
	rec k 29 1 k 30 2 k 61 3 >in
	run og-metric -i 30s -a count in
	assert_output "$(rec k 0 1.0 k 30 1.0 k 60 1.0)"
}

@test "every aggregate at once; several aggregates name keys KEY/AGG" {
	rec k 30 4 k 10 2 k 20 1 k 50 5 k 40 3 j 0 7 >in
	run og-metric -i 1h -a mean,min,max,sum,count,first,last,median,p95 in
	assert_success
	assert_output "$(rec k/mean 0 3.0 k/min 0 1.0 k/max 0 5.0 k/sum 0 15.0 \
	    k/count 0 5.0 k/first 0 2.0 k/last 0 5.0 k/median 0 3.0 \
	    k/p95 0 4.8 \
	    j/mean 0 7.0 j/min 0 7.0 j/max 0 7.0 j/sum 0 7.0 j/count 0 1.0 \
	    j/first 0 7.0 j/last 0 7.0 j/median 0 7.0 j/p95 0 7.0)"
}

@test "a single aggregate keeps the input key" {
	rec k 0 1 k 1 3 >in
	run og-metric -i 1h -a max in
	assert_output "$(rec k 0 3.0)"
}

@test "percentiles interpolate linearly between ranks, as numpy does" {
	# ranks (n-1)p/100: p25 of 1..4 is 1.75, p90 of 10,20 is 19,
	# p0 and p100 the extremes, p50 of an even count the midpoint
	rec k 1 4 k 2 1 k 3 3 k 4 2 j 1 10 j 2 20 >in
	run og-metric -i 1h -a p25,p0,p100,p50,p90 in
	assert_success
	assert_output "$(rec k/p25 0 1.75 k/p0 0 1.0 k/p100 0 4.0 k/p50 0 2.5 \
	    k/p90 0 3.7 j/p25 0 12.5 j/p0 0 10.0 j/p100 0 20.0 \
	    j/p50 0 15.0 j/p90 0 19.0)"
}

@test "nan samples are skipped; a bucket of nothing but nan is nan, count 0" {
	rec k 0 nan k 1 4 k 3600 nan >in
	run og-metric -i 1h -a mean,count,sum in
	assert_success
	assert_output "$(rec k/mean 0 4.0 k/count 0 1.0 k/sum 0 4.0 \
	    k/mean 3600 nan k/count 3600 0.0 k/sum 3600 nan)"
}

@test "sums are exact and rounded once, so a mean does not depend on order" {
	# ten times 0.1 adds up to 1 exactly; naive addition gives 0.9999999999999999
	for i in $(seq 10); do rec k "$i" 0.1; done >in
	run og-metric -i 1h -a mean,sum in
	assert_output "$(rec k/mean 0 0.1 k/sum 0 1.0)"
	rec k 1 1e16 k 2 1 k 3 -1e16 >in
	run og-metric -i 1h -a mean,sum in
	assert_output "$(rec k/mean 0 0.3333333333333333 k/sum 0 1.0)"
	rec k 3 -1e16 k 1 1 k 2 1e16 >in
	run og-metric -i 1h -a sum in
	assert_output "$(rec k 0 1.0)"
}

@test "exact sums of many values, near each other and far apart, agree with Python's math.fsum" {
	# a bucket's values near its first are summed in one 128-bit integer,
	# folded into the limbs every 16384 values; the rest go to the limbs
	python3 - <<'PY' >in
import random, struct
random.seed(19)
def finite_bits():
    while True:
        v = struct.unpack('d', struct.pack('Q', random.getrandbits(64)))[0]
        if v == v and abs(v) < 1e300:
            return v
buckets = [
    [random.randrange(10**7) for _ in range(40000)],
    [round(random.uniform(-1e4, 1e4), random.randint(0, 3)) for _ in range(20000)],
    [random.choice([finite_bits(), random.uniform(-1, 1) * 10 ** random.randint(-5, 5),
                    0.0, -0.0, 5e-324, 1e300, -1e300]) for _ in range(20000)],
    [5e-324, 1e-310, 2.5, -2.5e-300] + [random.uniform(0, 1e-300) for _ in range(100)],
    [2.0 ** -1000, 5e-324, -1e-310, 2.0 ** -1000, 0.0, 2.0 ** -1020],
    [1e307, -3e306, 1.0, 2.0 ** -1000, 1e307],
    [1.0, 2.0 ** -30, -2.0 ** -31, 2.0 ** 30, -2.0 ** 31, 3.0, 2.0 ** -31, 2.0 ** 31],
    # the largest near values, 2^30 above the first, 2^14 of which fill
    # 128 bits; and the smallest far ones
    [1.0] + [-(2.0 ** 53 - 1) * 2.0 ** -22] * 20000,
    [1.0] + [-(2.0 ** 53 - 1) * 2.0 ** -21] * 20000,
]
for b, vals in enumerate(buckets):
    for i, v in enumerate(vals):
        print('k\t%d\t%r' % (3600 * b + i % 3600, v))
PY
	python3 - <<'PY' >expected
import math
sums = {}
for line in open('in'):
    k, t, v = line.split('\t')
    sums.setdefault(int(t) // 3600 * 3600, []).append(float(v))
for start, vals in sorted(sums.items()):
    print('k/sum\t%d\t%r' % (start, math.fsum(vals)))
    print('k/mean\t%d\t%r' % (start, math.fsum(vals) / len(vals)))
PY
	og-metric -i 1h -a sum,mean in | sort -t "$(printf '\t')" -k2,2n -k1,1r >out
	cmp expected out
	split -l 9000 in part.
	for f in part.*; do og-metric -i 1h --partial $f; done |
	    og-metric -i 1h -a sum,mean --merge | sort -t "$(printf '\t')" -k2,2n -k1,1r >merged
	cmp expected merged
}

@test "daily means agree with an independent computation on the real data" {
	python3 - "$HOUR" <<'PY' | sort -k1,1 -k2,2n >expected
import sys, gzip, math
from datetime import datetime
from zoneinfo import ZoneInfo
tz = ZoneInfo('Europe/Brussels')
days = {}
for line in gzip.open(sys.argv[1], 'rt'):
    k, t, v = line.rstrip('\n').split('\t')
    d = datetime.fromtimestamp(int(t), tz).date()
    start = int(datetime(d.year, d.month, d.day, tzinfo=tz).timestamp())
    days.setdefault((k, start), []).append(float(v))
for (k, start), vals in days.items():
    print('%s\t%d\t%r' % (k, start, math.fsum(vals) / len(vals)))
PY
	gzip -dc "$HOUR" | og-metric -i 1d | sort -k1,1 -k2,2n >out
	[ "$(wc -l <out)" -eq $((18 * 367)) ]
	cmp expected out
}

@test "calendar days start at local midnight: 23 and 25 hours at the DST changes" {
	gzip -dc "$HOUR" | grep '^e1de' >in
	run og-metric -i 1d -a count -T in
	assert_success
	assert_line "e1de	2016-03-26T00:00:00+01:00	24.0"
	assert_line "e1de	2016-03-27T00:00:00+01:00	23.0"
	assert_line "e1de	2016-03-28T00:00:00+02:00	24.0"
	assert_line "e1de	2016-10-30T00:00:00+02:00	25.0"
	assert_line "e1de	2016-10-31T00:00:00+01:00	24.0"
	run og-metric -i 1d -a count in
	assert_line "e1de	1459033200	23.0"
	assert_line "e1de	1477778400	25.0"
}

@test "-z chooses the zone of calendar buckets" {
	gzip -dc "$HOUR" | grep '^e1de' >in
	run og-metric -z UTC -i 1d -a count -T in
	assert_line "e1de	2016-03-27T00:00:00+00:00	24.0"
	assert_line "e1de	2015-12-31T00:00:00+00:00	1.0"
}

@test "weeks start on Monday; months and years follow the calendar" {
	gzip -dc "$HOUR" | grep '^e1de' >in
	run og-metric -i 1w -a count -T in
	assert_line --index 0 "e1de	2015-12-28T00:00:00+01:00	72.0"
	assert_line --index 1 "e1de	2016-01-04T00:00:00+01:00	168.0"
	assert_line "e1de	2016-03-21T00:00:00+01:00	167.0"
	assert_line "e1de	2016-10-24T00:00:00+02:00	169.0"
	run og-metric -i 1mo -a count -T in
	assert_line "e1de	2016-03-01T00:00:00+01:00	743.0"
	assert_line "e1de	2016-04-01T00:00:00+02:00	720.0"
	assert_line "e1de	2016-10-01T00:00:00+02:00	745.0"
	run og-metric -i 2mo -a count -T in
	assert_line "e1de	2016-03-01T00:00:00+01:00	1463.0"
	run og-metric -i 1y -a count -T in
	assert_output "$(rec e1de 2016-01-01T00:00:00+01:00 8784.0 \
	    e1de 2017-01-01T00:00:00+01:00 1.0)"
}

@test "-T prints bucket starts as local ISO 8601" {
	rec k 1459040400 1 >in
	run og-metric -i 1h -T in
	assert_output "$(rec k 2016-03-27T03:00:00+02:00 1.0)"
}

# --- windows and profiles ---------------------------------------------------

@test "-w keeps a local time-of-day window, start included, end excluded" {
	# 2016-01-04 local 00:00 is 1451862000
	rec k 1451862000 1 k 1451865600 2 k 1451869200 3 k 1451880000 4 \
	    k 1451883600 5 >in
	run og-metric -w 01:00-06:00 in
	assert_success
	assert_output "$(rec k 1451865600 2.0 k 1451869200 3.0 k 1451880000 4.0)"
}

@test "a window across midnight keeps evening samples in their own day" {
	# 22:00 and 23:00 of Jan 4 and 00:00, 01:00 of Jan 5 (local)
	rec k 1451941200 10 k 1451944800 20 k 1451948400 30 k 1451952000 40 \
	    k 1451955600 50 k 1451937600 60 >in
	run og-metric -w 22:00-02:00 -i 1d -a sum,count -T in
	assert_success
	assert_output "$(rec k/sum 2016-01-04T00:00:00+01:00 30.0 \
	    k/count 2016-01-04T00:00:00+01:00 2.0 \
	    k/sum 2016-01-05T00:00:00+01:00 70.0 \
	    k/count 2016-01-05T00:00:00+01:00 2.0)"
}

@test "windows on DST days count local clock hours, both 02:00s in October" {
	gzip -dc "$HOUR" | grep '^e1de' >in
	run og-metric -w 01:00-06:00 -i 1d -a count -T in
	assert_line "e1de	2016-03-26T00:00:00+01:00	5.0"
	assert_line "e1de	2016-03-27T00:00:00+01:00	4.0"
	assert_line "e1de	2016-10-30T00:00:00+02:00	6.0"
}

@test "standby power -w 01:00-06:00 -i 1d -a min agrees with python" {
	gzip -dc "$MINUTE" >in
	python3 - in <<'PY' >expected
import sys
from datetime import datetime
from zoneinfo import ZoneInfo
tz = ZoneInfo('Europe/Brussels')
mins, order = {}, []
for line in open(sys.argv[1]):
    k, t, v = line.rstrip('\n').split('\t')
    lt = datetime.fromtimestamp(int(t), tz)
    if not (1 <= lt.hour < 6):
        continue
    start = int(datetime(lt.year, lt.month, lt.day, tzinfo=tz).timestamp())
    if (k, start) not in mins:
        order.append((k, start))
        mins[(k, start)] = float(v)
    mins[(k, start)] = min(mins[(k, start)], float(v))
for k, s in order:
    print('%s\t%d\t%r' % (k, s, mins[(k, s)]))
PY
	og-metric -w 01:00-06:00 -i 1d -a min in >out
	[ -s out ]
	cmp expected out
}

@test "-P gives a profile: the mean per local time of day, slot start in seconds" {
	# two days, 00:10 and 12:10 local; slots of 12 hours
	rec k 1451862600 1 k 1451905800 10 k 1451949000 3 k 1451992200 30 >in
	run og-metric -P 12h -a mean,count in
	assert_success
	assert_output "$(rec k/mean 0 2.0 k/count 0 2.0 k/mean 43200 20.0 \
	    k/count 43200 2.0)"
	gzip -dc "$HOUR" | grep '^e1de' >in
	run og-metric -P 15min -a count in
	assert_success
	[ "${#lines[@]}" -eq 24 ]
	assert_line --index 0 "e1de	0	367.0"
	# 02:00 is missing on 27 March and twice on 30 October
	assert_line --index 2 "e1de	7200	366.0"
	assert_line --index 23 "e1de	82800	366.0"
}

# --- counters ---------------------------------------------------------------

@test "-d: consumption per bucket from the counter interpolated at the edges" {
	# 15 Wh in the first 45 minutes, 15 in the next 45, 10 in the last
	# half hour: 15 + 5 in the first hour, 10 + 10 in the second
	rec k 0 1000 k 2700 1015 k 5400 1030 k 7200 1040 >in
	run og-metric -d -i 1h in
	assert_success
	assert_output "$(rec k 0 20.0 k 3600 20.0)"
}

@test "-d: a counter that goes down is a reset; consumption goes on from it" {
	# 0..3600: +20; 3600..5400 reset to 5 is unknown; 5400..7200: +10
	rec k 0 0 k 1800 10 k 3600 20 k 5400 5 k 7200 15 >in
	run og-metric -d -i 1h in
	assert_success
	assert_output "$(rec k 0 20.0 k 3600 10.0)"
}

@test "-d: a gap longer than -g prints nan inside, edges keep what is known" {
	# 9000 -> 16200 is a gap of 7200 s: bucket 7200 keeps the 1 Wh before
	# it, 10800 is nan, 14400 has the 10 Wh after it; the 16 Wh across
	# the gap are in no bucket
	rec k 7200 15 k 9000 16 k 16200 32 k 18000 42 >in
	run og-metric -d -g 3600 -i 1h in
	assert_success
	assert_output "$(rec k 7200 1.0 k 10800 nan k 14400 10.0)"
	# with -g 7200, or by default, the 16 Wh spread over the gap: 4, 8, 4
	run og-metric -d -g 7200 -i 1h in
	assert_output "$(rec k 7200 5.0 k 10800 8.0 k 14400 14.0)"
	run og-metric -d -i 1h in
	assert_output "$(rec k 7200 5.0 k 10800 8.0 k 14400 14.0)"
}

@test "-d -r gives average power from an energy counter" {
	# 25 Wh in a quarter hour is 100 W; 50 Wh in a 23-hour day
	rec k 0 0 k 900 25 >in
	run og-metric -d -r -i 15min in
	assert_output "$(rec k 0 100.0)"
	rec k 1459033200 0 k 1459116000 46 >in
	run og-metric -d -r -i 1d in
	assert_output "$(rec k 1459033200 2.0)"
}

@test "-r with a sheet gives liters per minute for liter sensors" {
	printf 'w1\tS\tgridWater\twater\tl\ne1\tS\tgridCons\telectricity\tWh\n' >meta
	rec w1 0 0 w1 3600 120 e1 0 0 e1 3600 120 >in
	run og-metric -d -r -M meta -i 1h in
	assert_success
	assert_output "$(rec w1 0 2.0 e1 0 120.0)"
}

@test "-d: repeated times add a jump to their bucket, or reset" {
	# 0 -> 100: +5; at 100 the counter jumps 5 -> 7: +2; 100 -> 200 goes
	# down to 3: a reset; 200 -> 3000: +7
	rec k 0 0 k 0 0 k 100 5 k 100 7 k 200 3 k 3000 10 k 3100 nan >in
	run og-metric -d -i 1h in
	assert_success
	assert_output "$(rec k 0 14.0)"
}

@test "-d output piped into -P and -i gives profiles and days of consumption" {
	# readings every 15 minutes for two days (UTC): +10 per quarter on
	# day 0; on day 1 +30 per quarter until 11:45, a reset to 7 at 12:00
	# (the quarter 11:45-12:00 is unknown: nan), then +20 per quarter
	awk 'BEGIN {
		for (i = 0; i <= 192; i++) {
			c = i == 0 ? 0 : i <= 96 ? c + 10 : i <= 143 ? c + 30 : \
			    i == 144 ? 7 : c + 20
			printf "k\t%d\t%d\n", 900 * i, c
		}
	}' >in
	# profile: slots 00:00-11:30 (0 to 41400) (10 + 30) / 2 = 20, slot
	# 11:45 (42300) 10 (nan is left out), slots 12:00-23:45 (10 + 20) / 2 = 15
	awk 'BEGIN {
		for (s = 0; s < 96; s++)
			printf "k\t%d\t%s\n", 900 * s, s < 47 ? "20.0" : s == 47 ? "10.0" : "15.0"
	}' >expected
	og-metric -d -i 15min in | og-metric -z UTC -P 15min >out
	cmp expected out
	# days: 96 * 10 = 960; 47 * 30 + 0 + 48 * 20 = 2370, as -d -i 1d gives
	run sh -c 'og-metric -d -i 15min in | og-metric -z UTC -i 1d -a sum'
	assert_success
	assert_output "$(rec k 0 960.0 k 86400 2370.0)"
	run og-metric -z UTC -d -i 1d in
	assert_output "$(rec k 0 960.0 k 86400 2370.0)"
	# a window: the mornings 00:00-12:00 only, 48 * 10 and 47 * 30 + 0
	run sh -c 'og-metric -d -i 15min in | og-metric -z UTC -w 00:00-12:00 -i 1d -a sum'
	assert_output "$(rec k 0 480.0 k 86400 1410.0)"
}

@test "-d: input out of time order is an error naming the line" {
	rec k 0 1 j 5 1 k 3600 2 k 1800 3 >in
	run og-metric -d -i 1h in
	assert_failure 1
	assert_output "og-metric: in:4: time 1800 of key 'k' before 3600 (-d needs each key in time order)"
}

@test "-d: a counter split by sensor and merged gives the same bytes" {
	gzip -dc "$MINUTE" | awk -F'\t' -v OFS='\t' '{ c += $3 / 60; print $1, $2, c }' >a
	sed 's/^064f/abcd/' a >b
	cat a b >in
	og-metric -d -r -i 15min in >one
	{ og-metric -d -i 15min --partial a; og-metric -d -i 15min --partial b; } |
	    og-metric -d -r -i 15min --merge >merged
	cmp one merged
	[ "$(wc -l <one)" -gt 2000 ]
}

# --- meters as they behave: reversible, reset, idle, cut ----------------------

@test "-D: a reversible counter's fall is export, signed through the buckets" {
	# 100, 105, 103, 110 a quarter hour apart: +5, -2, +7
	rec k 0 100 k 900 105 k 1800 103 k 2700 110 >in
	run og-metric -D -i 1h in
	assert_success
	assert_output "$(rec k 0 10.0)"
	run og-metric -D -i 15min in
	assert_output "$(rec k 0 5.0 k 900 -2.0 k 1800 7.0)"
	# as power: 5 Wh a quarter hour is 20 W, -2 is -8 W
	run og-metric -D -r -i 15min in
	assert_output "$(rec k 0 20.0 k 900 -8.0 k 1800 28.0)"
	# -d reads the fall as a reset: the quarter it spans is unknown
	run og-metric -d -i 1h in
	assert_output "$(rec k 0 12.0)"
	run og-metric -d -i 15min in
	assert_output "$(rec k 0 5.0 k 900 nan k 1800 7.0)"
}

@test "-D: a fall faster than -F is a reset, not export" {
	# a meter replaced: 1000000, 1000005, then 3, 8 a minute apart
	rec k 0 1000000 k 60 1000005 k 120 3 k 180 8 >in
	run og-metric -D -i 1h in
	assert_success
	assert_output "$(rec k 0 10.0)"
	# falls of 60 and 61 in a minute: 3600 and 3660 units an hour
	rec k 0 100 k 60 160 k 120 100 k 180 39 k 240 49 >in
	run og-metric -D -F 3600 -i 1h in
	assert_output "$(rec k 0 10.0)"
	run og-metric -D -F 3660 -i 1h in
	assert_output "$(rec k 0 -51.0)"
	run og-metric -D -i 1h in
	assert_output "$(rec k 0 -51.0)"
}

@test "-d with a sheet reads gridNet counters as reversible, the others not" {
	printf 's1\tS\tgridImport\telectricity\tWh\ns4\tS\tgridNet\telectricity\tWh\n' >meta
	rec s1 0 100 s1 1800 90 s1 3600 95 s4 0 100 s4 1800 90 s4 3600 95 >in
	run og-metric -d -M meta -i 1h in
	assert_success
	assert_output "$(rec s1 0 5.0 s4 0 -5.0)"
	run og-metric -d -i 1h in
	assert_output "$(rec s1 0 5.0 s4 0 5.0)"
}

@test "siteCons of a net-metered PV site is net plus production, by hand" {
	# n1 a reversible grid meter, p1 the PV inverter; per hour
	# net +2, -7, +6 and PV 0, 9, 1: siteCons 2, 2, 7, the day 11
	printf 'n1\tG\tgridNet\telectricity\tWh\np1\tG\tpvProd\telectricity\tWh\n' >meta
	rec n1 0 1000 n1 3600 1002 n1 7200 995 n1 10800 1001 \
	    p1 0 0 p1 3600 0 p1 7200 9 p1 10800 10 >in
	X='siteCons=gridNet+gridImport+pvProd-gridExport+gridCons'
	run og-metric -d -M meta -x "$X" -i 1h in
	assert_success
	assert_output "$(rec G/siteCons 0 2.0 G/siteCons 3600 2.0 G/siteCons 7200 7.0)"
	run og-metric -z UTC -d -M meta -x "$X" -i 1d in
	assert_output "$(rec G/siteCons 0 11.0)"
	# as power: each sensor's rate over the 3 hours its readings cover,
	# summed: 1/3 + 10/3 in doubles
	run og-metric -z UTC -d -r -M meta -x "$X" -i 1d in
	assert_output "$(rec G/siteCons 0 3.666666666666667)"
	# split by sensor into partial state and merged: the same bytes
	og-metric -z UTC -d -M meta -i 1d -x "$X" in >one
	for s in n1 p1; do
		grep "^$s" in | og-metric -z UTC -d -M meta -i 1d --partial
	done | og-metric -z UTC -d -M meta -i 1d --merge -x "$X" >merged
	cmp one merged
	grep -h '^n1' in | og-metric -D -i 1h --partial | grep -c -- '-0x' >negative
	[ "$(cat negative)" -eq 1 ]
}

@test "-d: an idle meter's use spreads over the idle days, never lost" {
	# 30 l over three idle days, then 10 l in an hour: 10 a day, the
	# four days sum to the counter's rise of 40
	rec w 0 0 w 259200 30 w 262800 40 >in
	run og-metric -z UTC -d -i 1d in
	assert_success
	assert_output "$(rec w 0 10.0 w 86400 10.0 w 172800 10.0 w 259200 10.0)"
	# -g 3600: the idle days are unknown, their 30 l in no bucket
	run og-metric -z UTC -d -g 3600 -i 1d in
	assert_output "$(rec w 0 nan w 86400 nan w 172800 nan w 259200 10.0)"
}

@test "-d -r: a bucket cut by a gap or the data's edge is the rate where known" {
	# a steady 1000 W: 62.5 Wh every 225 s from 01:07:30 UTC, no
	# reading from 01:41:15 to 04:52:30, then on to 07:00
	awk 'BEGIN {
		for (t = 4050; t <= 25200; t += 225)
			if (t <= 6075 || t >= 17550)
				printf "k\t%d\t%.1f\n", t, (t - 4050) / 225 * 62.5
	}' >in
	# under -g 3600 the quarter hours cut by the gap or the start keep
	# 1000 W; the twelve wholly inside the gap are nan
	og-metric -z UTC -d -r -g 3600 -i 15min in >q15
	run awk -F '\t' '{ n[$3]++ } END { for (v in n) print v, n[v] }' q15
	assert_output --partial "1000.0 12"
	assert_output --partial "nan 12"
	[ "$(wc -l <q15)" -eq 24 ]
	assert_equal "$(head -1 q15)" "$(rec k 3600 1000.0)"
	assert_equal "$(sed -n 2,3p q15)" "$(rec k 4500 1000.0 k 5400 1000.0)"
	# standby, the smallest quarter-hour power between 01:00 and 06:00
	run sh -c 'og-metric -z UTC -w 01:00-06:00 -i 1d -a min q15'
	assert_output "$(rec k 0 1000.0)"
	# interpolated across the gap by default: 1000 W throughout
	og-metric -z UTC -d -r -i 15min in >all
	[ "$(wc -l <all)" -eq 24 ]
	awk -F '\t' '$3 < 1000 - 1e-9 || $3 > 1000 + 1e-9 { bad = 1 } END { exit bad }' all
}

# --- order and memory -------------------------------------------------------

@test "keys may interleave, and samples within open buckets come in any order" {
	rec k 1800 2 j 0 5 k 0 1 j 3600 6 k 3600 3 >in
	run og-metric -i 1h -a sum in
	assert_success
	# a bucket is written when its key moves on; the rest at the end,
	# keys in order of first appearance
	assert_output "$(rec j 0 5.0 k 0 3.0 k 3600 3.0 j 3600 6.0)"
}

@test "a sample in a bucket already written is an error; -u takes any order" {
	rec k 0 1 k 3700 3 k 100 4 >in
	run og-metric -i 1h in
	assert_failure 1
	assert_output "og-metric: in:3: time 100 of key 'k' falls in a bucket already written (sort the input by time per key, or use -u)"
	run og-metric -u -i 1h in
	assert_success
	assert_output "$(rec k 0 2.5 k 3600 3.0)"
}

@test "ISO and negative times read as in any record, key after key" {
	rec k 2016-03-27T03:00:00+02:00 1 k 2016-03-27T03:30:00+02:00 3 \
	    k -3600 5 k -1 7 >in
	run og-metric -u -i 1h in
	assert_success
	assert_output "$(rec k -3600 6.0 k 1459040400 2.0)"
}

@test "times beyond 2^61 seconds cannot be bucketed" {
	rec k 9223372036854775807 1 >in
	run og-metric -i 1h in
	assert_failure 1
	assert_output "og-metric: in:1: time 9223372036854775807 too far from 1970 for buckets"
}

@test "bad records are still refused with input and line" {
	rec k 0 1 >in
	printf 'k\t1\tabc\n' >>in
	run og-metric -i 1h in
	assert_failure 1
	assert_output "og-metric: in:2: bad value 'abc'"
	printf 'k\t1\t1\r\n' >>in
	run og-metric -i 1h in
	assert_failure 1
}

# --- site metrics -----------------------------------------------------------

meta() {
	# site A: import, export and PV meters; B: one net meter;
	# C: consumption and gas; D: two import meters and water
	printf '%s\t%s\t%s\t%s\t%s\n' s1 A gridImport electricity Wh \
	    s2 A gridExport electricity Wh s3 A pvProd electricity Wh \
	    s4 B gridNet electricity Wh s5 C gridCons electricity Wh \
	    g1 C gridGas gas l s6 D gridImport electricity Wh \
	    s7 D gridImport electricity Wh w1 D gridWater water l
}

@test "siteCons works as written over sites with different meters" {
	meta >meta
	rec s1 0 100 s1 3600 150 s2 0 10 s2 3600 0 s3 0 5 s3 3600 0 \
	    s4 0 -20 s4 3600 30 s5 0 7 g1 0 100 s6 0 1 s6 3600 2 s7 0 3 \
	    x9 0 1000 >in
	run og-metric -i 1h -a sum -M meta \
	    -x 'siteCons=gridNet+gridImport+pvProd-gridExport+gridCons' \
	    -x 'gas=gridGas*10' in
	assert_success
	# A: 100+5-10 and 150; B: the net meter; C: 7, gas 100*10;
	# D: 1+3, then nan as s7 has no value in the second hour
	assert_output "$(rec A/siteCons 0 95.0 A/siteCons 3600 150.0 \
	    B/siteCons 0 -20.0 B/siteCons 3600 30.0 C/siteCons 0 7.0 \
	    C/gas 0 1000.0 D/siteCons 0 4.0 D/siteCons 3600 nan)"
}

@test "site metrics with several aggregates are SITE/NAME/AGG" {
	meta >meta
	rec s4 0 10 s4 60 30 >in
	run og-metric -i 1h -a mean,max -M meta -x 'net = 0.5 * gridNet' in
	assert_success
	assert_output "$(rec B/net/mean 0 10.0 B/net/max 0 15.0)"
}

@test "a divisor in a metric divides: gridGas/1000 of 9 is 0.009" {
	meta >meta
	rec g1 0 9 >in
	# 9 * 0.001 would be 0.009000000000000001
	run og-metric -i 1h -a sum -M meta -x 'gas=gridGas/1000' \
	    -x 'twice=gridGas/1000+gridGas/1000' -x 'half=0.5*gridGas/2' in
	assert_success
	assert_output "$(rec C/gas 0 0.009 C/twice 0 0.018 C/half 0 2.25)"
}

@test "site metrics take counters per sensor first" {
	meta >meta
	rec s1 0 0 s1 3600 100 s2 0 50 s2 3600 60 s3 0 0 s3 3600 20 >in
	run og-metric -d -i 1h -M meta -x 'use=gridImport+pvProd-gridExport' in
	assert_success
	assert_output "$(rec A/use 0 110.0)"
}

@test "site metrics are made at merge time from per-sensor partial state" {
	meta >meta
	rec s1 0 100 s1 3600 150 s2 0 10 s3 0 5 s6 0 1 s7 0 3 >in
	X='siteCons=gridNet+gridImport+pvProd-gridExport+gridCons'
	og-metric -i 1h -a sum -M meta -x "$X" in >one
	for s in s1 s2 s3 s6 s7; do
		grep "^$s" in | og-metric -i 1h -a sum --partial
	done | og-metric -i 1h -a sum --merge -M meta -x "$X" >merged
	cmp one merged
	# A's export and PV meters have no value in the second hour
	assert_equal "$(cat one)" "$(rec A/siteCons 0 95.0 A/siteCons 3600 nan \
	    D/siteCons 0 4.0)"
}

# bad_metric EXPR WHAT: -x EXPR is a usage error saying WHAT is wrong
bad_metric() {
	run og-metric -i 1h -M meta -x "$1" in
	assert_failure 2
	assert_output "og-metric: bad metric '$1': $2"
}

@test "a bad metric expression is a usage error saying what is wrong" {
	meta >meta
	rec s1 0 1 >in
	bad_metric 'siteCons=gridNet+' "expected a category or a number at end"
	bad_metric 'x=gridNet*pvProd' "product of two categories at 'pvProd'"
	bad_metric 'x=gridnet' "unknown category 'gridnet' (gridImport, gridExport, gridNet, gridCons, pvProd, gridSub, gridGas, gridWater, heatProd)"
	bad_metric 'gridNet' "expected NAME=EXPR at end"
	bad_metric 'x=2*3' "term without a category at '2*3'"
	run og-metric -i 1h -x 'x=gridNet' in
	assert_failure 2
	assert_output "og-metric: -x needs -M"
}

@test "a factor that is not a finite number is a usage error naming it" {
	meta >meta
	rec s1 0 1 >in
	bad_metric 'x=nan*gridImport' "bad factor 'nan' (not a finite number)"
	bad_metric 'x=gridImport*NaN' "bad factor 'NaN' (not a finite number)"
	bad_metric 'x=-inf*gridImport' "bad factor 'inf' (not a finite number)"
	bad_metric 'x=gridImport/Infinity' "bad factor 'Infinity' (not a finite number)"
	bad_metric 'x=1e999*gridImport' "bad factor '1e999' (not a finite number)"
	bad_metric 'x=1e200*1e200*gridImport' "factors multiply beyond the range of a double at '1e200*gridImport'"
	# a category that only begins like one is still a category
	run og-metric -i 1h -M meta -x 'x=infoo' in
	assert_failure 2
	assert_output --partial "unknown category 'infoo'"
	# tiny factors are finite: 1e-999 is 0
	run og-metric -i 1h -M meta -x 'x=1e-999*gridImport+gridImport' in
	assert_success
	assert_output "$(rec A/x 0 1.0)"
}

@test "a bad line in the sheet is an error naming file and line" {
	meta >meta
	printf 's8\tE\tgridCons\telectricity\n' >>meta
	rec s1 0 1 >in
	run og-metric -i 1h -M meta -x 'c=gridCons' in
	assert_failure 1
	assert_output "og-metric: meta:10: expected 5 tab-separated fields: SENSOR SITE CATEGORY TYPE UNIT"
	meta >meta
	printf 's8\tE\tsolar\telectricity\tWh\n' >>meta
	run og-metric -i 1h -M meta -x 'c=gridCons' in
	assert_failure 1
	assert_output "og-metric: meta:10: unknown category 'solar' (gridImport, gridExport, gridNet, gridCons, pvProd, gridSub, gridGas, gridWater, heatProd)"
	meta >meta
	printf 's1\tE\tgridCons\telectricity\tWh\n' >>meta
	run og-metric -i 1h -M meta -x 'c=gridCons' in
	assert_failure 1
	assert_output "og-metric: meta:10: sensor 's1' listed twice"
}

# --- partial state and merging ----------------------------------------------

AGGS=mean,min,max,sum,count,first,last,p95

@test "split by sensor, merged, gives the same bytes as one run" {
	gzip -dc "$HOUR" >in
	og-metric -i 1d -a $AGGS in >one
	for k in $(cut -f1 in | uniq); do
		grep "^$k" in | og-metric -i 1d -a $AGGS --partial
	done | og-metric -i 1d -a $AGGS --merge >merged
	cmp one merged
}

@test "split by time with parallel --pipe, merged in a tree, gives the same bytes" {
	command -v parallel >/dev/null || skip "no GNU parallel"
	gzip -dc "$HOUR" >in
	og-metric -i 1w -a $AGGS in >one
	parallel --pipe -k --block 300k og-metric -i 1w -a $AGGS --partial <in |
	    og-metric -i 1w -a $AGGS --merge >merged
	cmp one merged
	parallel --pipe -k --block 100k og-metric -i 1w -a $AGGS --partial <in |
	    parallel --pipe -k --block 200k og-metric -i 1w -a $AGGS --merge --partial |
	    og-metric -i 1w -a $AGGS --merge >merged
	cmp one merged
}

@test "split by time in plain shell, profiles and windows merge too" {
	gzip -dc "$HOUR" >in
	split -l 40000 in part.
	for opts in "-P 1h -a mean,p50" "-w 01:00-06:00 -i 1d -a min"; do
		og-metric $opts in >one
		for p in part.*; do og-metric $opts --partial $p; done |
		    og-metric $opts --merge >merged
		cmp one merged
	done
}

@test "input in no order at all, with -u, splits and merges too" {
	gzip -dc "$HOUR" | sort -t "$(printf '\t')" -k3,3 >in
	og-metric -u -i 1mo -a mean,p50,first,last in >one
	gzip -dc "$HOUR" | og-metric -i 1mo -a mean,p50,first,last | sort >a
	sort one >b
	cmp a b
	split -l 50000 in part.
	for p in part.*; do og-metric -u -i 1mo -a mean,p50,first,last --partial $p; done |
	    og-metric -u -i 1mo -a mean,p50,first,last --merge >merged
	cmp one merged
}

@test "percentile samples of a big bucket continue on lines KEY START *" {
	gzip -dc "$MINUTE" >in
	og-metric -i 1w -a p50,p99 in >one
	og-metric -i 1w -a p50,p99 --partial in >p
	[ "$(grep -c "$(printf '\t\\*\t')" p)" -eq 4 ]
	split -l 7000 in part.
	for f in part.*; do og-metric -i 1w -a p50,p99 --partial $f; done |
	    og-metric -i 1w -a p50,p99 --merge >merged
	cmp one merged
}

@test "partial state is exact: sums survive as hexadecimal" {
	rec k 1 0.1 k 2 0.2 >in
	run og-metric -i 1h --partial in
	assert_success
	assert_line --index 0 "#og-metric partial 2 i=1h P=- d=- g=- F=- w=- u=0 z=Europe/Brussels samples=0"
	assert_line --index 1 "k	0"
	assert_line --index 2 "k	0	2	0	0	0x133333333333338p-58	0.1	0.2	1	0.1	2	0.2"
	rec k 3 0.3 >in2
	{ og-metric -i 1h --partial in; og-metric -i 1h --partial in2; } |
	    og-metric -i 1h -a sum --merge >out
	# exact 0.1 + 0.2 + 0.3, rounded once (adding in turn gives 0.6000000000000001)
	[ "$(cat out)" = "$(rec k 0 0.6)" ]
}

@test "merge refuses partial state made with other options" {
	rec k 1 1 >in
	og-metric -i 1h --partial in >p
	run og-metric -i 1d --merge p
	assert_failure 1
	assert_output "og-metric: p:1: partial state of other options ('2 i=1h P=- d=- g=- F=- w=- u=0 z=Europe/Brussels samples=0', here '2 i=1d P=- d=- g=- F=- w=- u=0 z=Europe/Brussels samples=0')"
	og-metric -d -i 1h --partial in >p
	run og-metric -D -i 1h --merge p
	assert_failure 1
	assert_output "og-metric: p:1: partial state of other options ('2 i=1h P=- d=d g=- F=- w=- u=0 z=Europe/Brussels samples=0', here '2 i=1h P=- d=D g=- F=- w=- u=0 z=Europe/Brussels samples=0')"
	printf 'k\t0\tx\n' >p
	run og-metric -i 1h --merge p
	assert_failure 1
	assert_output "og-metric: p:1: bad count in partial state"
}

# --- usage ------------------------------------------------------------------

@test "-h, the errors and og-metric(1) list the same aggregates" {
	names=$(og-metric -h | sed -n 's/^  -a AGG       \(.*\) (comma-separated)$/\1/p')
	[ "$names" = "mean min max sum count first last pNN median" ]
	run og-metric -i 1h -a avg </dev/null
	assert_output "og-metric: bad aggregate 'avg' ($names)"
	# each has its entry in the man page's list of aggregates
	for n in $names; do
		case $n in
		pNN) grep -q '^\.It Cm p Ns Ar NN$' "$TOP/src/og-metric.1" ;;
		*) grep -Eq "^\.It Cm ([a-z]+ , Cm )?$n( , Cm [a-z]+)?\$" "$TOP/src/og-metric.1" ;;
		esac
	done
	[ "$(sed -n '/^\.It Fl a Ar agg/,/^\.El/p' "$TOP/src/og-metric.1" | grep -c '^\.It Cm')" -eq 7 ]
}

@test "bad options are usage errors with the reason" {
	rec k 0 1 >in
	run og-metric -i 15m in
	assert_failure 2
	assert_output "og-metric: bad interval '15m' (Ns, Nmin, Nh, Nd, Nw, Nmo or Ny)"
	run og-metric -i 0h in
	assert_failure 2
	run og-metric -i 1h -a avg in
	assert_failure 2
	assert_output "og-metric: bad aggregate 'avg' (mean min max sum count first last pNN median)"
	run og-metric -i 1h -a p101 in
	assert_failure 2
	run og-metric -w 1:00-06:00 in
	assert_failure 2
	assert_output "og-metric: bad window '1:00-06:00' (HH:MM-HH:MM)"
	run og-metric -P 7h in
	assert_failure 2
	assert_output "og-metric: bad profile interval '7h' (Ns, Nmin or Nh dividing a day)"
	run og-metric -a mean in
	assert_failure 2
	assert_output "og-metric: -a, -d, -D, -r, -u, -x, --partial and --merge need -i or -P"
	run og-metric -d -a max -i 1h in
	assert_failure 2
	assert_output "og-metric: -d and -D exclude -a, -w and -P (pipe their output into another og-metric)"
	run og-metric -d -D -i 1h in
	assert_failure 2
	assert_output "og-metric: -d and -D exclude each other"
	run og-metric -g 60 -i 1h in
	assert_failure 2
	assert_output "og-metric: -g and -F need -d or -D"
	run og-metric -d -F 5000 -i 1h in
	assert_failure 2
	assert_output "og-metric: -F needs -D, or -d with -M (reversible counters)"
	for bad in 0 -1 x nan inf; do
		run og-metric -D -F "$bad" -i 1h in
		assert_failure 2
		assert_output "og-metric: bad fastest fall '$bad' (units an hour, above 0)"
	done
	run og-metric -M in -i 1h in
	assert_failure 2
	assert_output "og-metric: -M needs -x, -r, -d or -D"
	run og-metric -d -g 0 -i 1h in
	assert_failure 2
	assert_output "og-metric: bad gap '0' (seconds)"
}
