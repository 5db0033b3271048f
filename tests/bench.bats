#!/usr/bin/env bats
# make bench's own parts: the generator's pulse variants and its estimate
# of their information, the record reader alone, and the store sizes of
# VictoriaMetrics and InfluxDB (tests/bench/).

load helper

setup() {
	setup_scratch
	cc -O2 -o gen "$TOP/tests/bench/gen.c" -lm
}

teardown() {
	if declare -F tsdb_stop_all >/dev/null; then
		tsdb_stop_all
	fi
}

# canon: records with their values as doubles, sorted, to compare text
# that prints a number differently ("1000001" and "1000001.0")
canon() {
	awk -F'\t' '{ printf "%s\t%s\t%.17g\n", $1, $2, $3 }' "$@" |
	    LC_ALL=C sort -t "$(printf '\t')" -k1,1 -k2,2n
}

@test "gen -e writes the information estimate and leaves the records as they are" {
	for class in pulse gas water gauge power mix jitter ripple site idle blend levels; do
		./gen $class 4 3 >plain
		./gen -e info $class 4 3 >counted
		cmp plain counted
		read -r n path jitter <info
		[ "$n" -eq "$(wc -l <plain)" ]
		awk -v p="$path" -v j="$jitter" 'BEGIN { exit !(p >= 0 && j >= 0) }'
	done
	./gen -e info pulse 1 2 >/dev/null
	awk '{ exit !($2 > 0 && $3 == 0) }' info
}

@test "every pulse variant packs and unpacks exactly" {
	for class in jitter ripple site idle blend levels; do
		rm -rf st
		./gen -n 20000 $class 8 20 >in
		og-pack st <in
		og-unpack st | canon >out
		canon in | cmp - out
	done
}

@test "-n stops each sensor after that many records; Flukso keys are 32 hex digits" {
	./gen -n 1500 levels 20 3650 >in
	[ "$(wc -l <in)" -eq 30000 ]
	[ "$(cut -f1 in | uniq -c | awk '$1 == 1500' | wc -l)" -eq 20 ]
	[ "$(cut -f1 in | sort -u | grep -c '^[0-9a-f]\{32\}$')" -eq 20 ]
}

@test "the meters of a site count in their own constants, a record each time the counter moves" {
	./gen site 4 3 >in
	# per key: times rising, the counter rising by whole multiples of
	# 1 Wh, 0.5 Wh, 10 l and 1 l, in the order of the sensors
	awk -F'\t' '
	    $1 != k { k = $1; i++; unit = i == 2 ? 0.5 : i == 3 ? 10 : 1; t = $2; v = $3; next }
	    { d = $3 - v; q = d / unit
	      if ($2 <= t || d < unit || q != int(q)) { print "bad line " NR ": " $0; bad = 1 } }
	    { t = $2; v = $3 }
	    END { exit bad || i != 4 }' in
	# the 0.5 Wh PV meter shows half watt-hours
	[ "$(awk -F'\t' '$3 ~ /\.5$/' in | wc -l)" -gt 100 ]
}

@test "a holiday home on standby takes 1200 pulses a local day: 20 W and a fridge at 90 W a third of the time" {
	./gen idle 1 60 >in
	days=$(mawk -F'\t' '{ n[strftime("%F", $2)]++ } END { for (d in n) print n[d] }' in)
	[ "$(echo "$days" | grep -cx 1200)" -ge 20 ]
	[ "$(echo "$days" | awk '$1 > 3000' | wc -l)" -ge 5 ]
}

@test "jitter moves pulse times a second either way, and its bits are nearly those of the moves seen" {
	./gen -e pinfo pulse 1 10 >pulse
	./gen -e jinfo jitter 1 10 >jitter
	# the same path: the same pulses and values, and the same path bits
	cut -f3 pulse >a
	cut -f3 jitter >b
	cmp a b
	[ "$(cut -d' ' -f2 pinfo)" = "$(cut -d' ' -f2 jinfo)" ]
	# the moves, and their information as Python counts it from the data
	paste pulse jitter | python3 -c '
import math, sys
moves = {}
for line in sys.stdin:
    f = line.split("\t")
    d = int(f[4]) - int(f[1])
    moves[d] = moves.get(d, 0) + 1
n = sum(moves.values())
assert set(moves) <= {-1, 0, 1}, moves
assert abs(moves[0] / n - 0.9) < 0.01 and abs(moves[-1] / n - 0.05) < 0.005, moves
bits = moves[0] * -math.log2(0.9) + (moves[-1] + moves[1]) * -math.log2(0.05)
counted = float(open("jinfo").read().split()[2])
# a pulse pushed on by a late one before it shows a move it did not draw
assert 0.97 * bits < counted <= bits, (counted, bits)
'
}

@test "the record reader counts records, runs of a key and sums as awk does" {
	./gen -n 3000 site 4 30 >in
	rec k 5 nan k 6 1e-05 j 7 -2.5 k 8 nan >>in
	flags=
	case $OG_BIN in
	*asan*) flags="-g -fsanitize=address,undefined" ;;
	esac
	# shellcheck disable=SC2086
	cc -O1 $flags -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -I"$TOP/common" \
	    -o reader "$TOP/tests/bench/reader.c" "$OG_BIN/obj/libog.a" -lm
	run ./reader in
	assert_success
	expected=$(awk -F'\t' '$1 != k { runs++; k = $1 }
	    { n++; t += $2 } $3 != "nan" { v += $3 }
	    END { printf "%d\t%d\t%.0f\t%.6e", n, runs, t, v }' in)
	assert_output "$expected"
	# 12004 records in 7 runs: 4 sensors of 3000, then k, j, k
	assert_output --regexp $'^12004\t7\t'
}

@test "VictoriaMetrics: its points and bytes after the merge, the records it gives back rounded, nan left out" {
	command -v victoria-metrics >/dev/null || skip "victoria-metrics is not installed"
	. "$TOP/tests/bench/tsdb.bash"
	rec a 1451606400 1.5 a 1451606460 nan a 1451606520 1000001 \
	    b 1451606400 0.30000000000000004 b 1459040400 123456.78901234567 >in
	run vm_measure in vm
	assert_success
	assert_output --regexp '^[0-9]+ 4$'
	[ "${output% *}" -gt 0 ]
	# it keeps 12 to 14 significant digits: 0.1 + 0.2 comes back as 0.3
	head -n 3 vm.tsv >exact
	rec a 1451606400 1.5 a 1451606520 1000001 b 1451606400 0.3 | cmp - exact
	awk -F'\t' 'NR == 4 { d = $3 - 123456.78901234567; ok = $1 == "b" &&
	    $2 == 1459040400 && d * d < 1e-14 && $3 != 123456.78901234567 }
	    END { exit !(ok && NR == 4) }' vm.tsv
	[ -z "$(jobs -p)" ]
}

@test "InfluxDB: its points and bytes after full compaction, nan left out" {
	command -v influxd >/dev/null || skip "influxd is not installed"
	. "$TOP/tests/bench/tsdb.bash"
	rec a 1451606400 1 a 1451606460 nan a 1451606520 3 >ints
	rec b 1451606400 0.5 b 1451606460 2 >floats
	influx_start ifx
	run influx_measure ints ints
	assert_success
	assert_output --regexp '^[0-9]+ 2$'
	run influx_measure floats floats
	assert_success
	assert_output --regexp '^[0-9]+ 2$'
	# one TSM file each, the WAL empty
	[ "$(find ifx/data/ints ifx/data/floats -name '*.tsm' | wc -l)" -eq 2 ]
	[ -z "$(find ifx/wal -name '*.wal' -size +0)" ]
	influx_stop
	[ -z "$(jobs -p)" ]
}
