#!/usr/bin/env bats
# og-pack and og-unpack: the per-key store, its exactness, its index and
# its behaviour under overlap, damage, concurrency and kill -9.

load helper

setup() { setup_scratch; }

# count_chunks STORE KEY-FILE-NAME: chunks in a meta file, from its size
count_chunks() {
	local size keylen
	size=$(stat -c %s "$1/$2.meta")
	keylen=${#2}
	echo $(( (size - 32 - keylen - 4) / 40 ))
}

@test "pack then unpack returns every real opengrid record byte for byte" {
	for f in "$DATA"/*.tsv.gz; do
		rm -rf st
		gzip -dc "$f" >in
		og-pack st <in
		og-unpack st >out
		LC_ALL=C sort -t "$(printf '\t')" -k1,1 -k2,2n in | cmp - out
	done
}

@test "packing the same records twice changes nothing visible" {
	gzip -dc "$DATA/elec_power_min_1sensor.tsv.gz" >in
	og-pack st <in
	og-unpack st >once
	og-pack st <in
	og-unpack st >twice
	cmp once twice
	[ "$(wc -l <twice)" -eq 23040 ]
}

@test "the value written last wins, within a batch and across batches" {
	rec k 10 1 k 20 2 k 10 3 k 30 4 | og-pack st
	run og-unpack st
	assert_output "$(rec k 10 3.0 k 20 2.0 k 30 4.0)"
	rec k 20 5 k 25 6 | og-pack st
	run og-unpack st
	assert_output "$(rec k 10 3.0 k 20 5.0 k 25 6.0 k 30 4.0)"
}

@test "records may arrive in any order and keys come out in byte order" {
	rec b 3 1 a 2 2 B 1 3 a 1 4 b 1 5 | og-pack st
	run og-unpack st
	assert_output "$(rec B 1 3.0 a 1 4.0 a 2 2.0 b 1 5.0 b 3 1.0)"
	run og-unpack st b a
	assert_output "$(rec a 1 4.0 a 2 2.0 b 1 5.0 b 3 1.0)"
}

@test "nan is stored as a known gap, distinct from no record" {
	rec k 1 1.5 k 2 nan k 3 -0.0 k 5 nan | og-pack st
	run og-unpack st
	assert_output "$(rec k 1 1.5 k 2 nan k 3 -0.0 k 5 nan)"
	run og-unpack -l st
	assert_output "$(printf 'k\t4\t1\t5')"
}

@test "values of different decimal places in one chunk come back exactly" {
	# found by fuzzing: 7 places suit the second value, not the first
	rec k 1 8589930496.01953 k 2 -595821443.5137254 k 4 -7 >in
	og-pack st <in
	run og-unpack st
	assert_output "$(rec k 1 8589930496.01953 k 2 -595821443.5137254 k 4 -7.0)"
}

@test "doubles computed from a counter pack on their grid and come back exactly" {
	# power per minute as a resampler computes it: 60 * (difference of two
	# counter readings on a 2^-32 grid), about a 0.001 Wh quantum plus noise;
	# a second key breaks the grid with -0.0 and a value off it
	python3 -c '
import random
random.seed(7)
for i in range(20000):
    x = round(random.randint(0, 9000) * 2**32 / 1000) + random.randint(-30, 30)
    print("g\t%d\t%r" % (i * 60, 60 * (x * 2.0**-32)))
for i, v in enumerate([1.5, -0.0, 60 * (12345 * 2.0**-32), 0.1 + 0.2, -7e-300]):
    print("h\t%d\t%r" % (i, v))
' >in
	og-pack st <in
	og-unpack st >out
	LC_ALL=C sort -t "$(printf '\t')" -k1,1 -k2,2n in | cmp - out
	# 8 bytes of noise per double would be over 100000; the grid needs ~3
	[ "$(stat -c %s st/g.dat)" -lt 60000 ]
}

@test "hourly power from an interpolated pulse counter packs as a counter, exactly" {
	# 1 Wh pulses at a wandering power; the counter read at each hour edge
	# by linear interpolation between the pulses around it, as a resampler
	# does; the values are the differences of those readings
	python3 -c '
import random
random.seed(11)
t, c, power, pulses = 0.0, 5000000, 300.0, []
while t < 3000 * 3600:
    power = min(4000, max(40, power * random.uniform(0.97, 1.03)))
    t += max(1, round(3600 / power))
    c += 1
    pulses.append((t, c))
edges, j = [], 0
for h in range(1, 3000):
    while pulses[j + 1][0] < h * 3600:
        j += 1
    (t0, c0), (t1, c1) = pulses[j], pulses[j + 1]
    edges.append(c0 + (c1 - c0) * (h * 3600 - t0) / (t1 - t0))
for h in range(1, len(edges)):
    print("p\t%d\t%r" % (h * 3600, edges[h] - edges[h - 1]))
' >in
	og-pack st <in
	og-unpack st | cmp - in
	# value codec 4, the counter (og-pack(1)); byte planes take 14073
	[ "$(od -An -tu1 -j25 -N1 st/p.dat | tr -d ' ')" = 4 ]
	[ "$(stat -c %s st/p.dat)" -lt 10000 ]
}

# time_codecs DATA-FILE META-FILE: the time codec of each chunk, by the
# chunk offsets of the meta file's index (og-pack(1))
time_codecs() {
	local keylen chunks i off
	keylen=$(od -An -tu2 -j4 -N2 "$2" | tr -d ' ')
	chunks=$(od -An -tu4 -j24 -N4 "$2" | tr -d ' ')
	for ((i = 0; i < chunks; i++)); do
		off=$(od -An -tu8 -j$((32 + keylen + 40 * i)) -N8 "$2" | tr -d ' ')
		od -An -tu1 -j$((off + 24)) -N1 "$1" | tr -d ' '
	done
}

# pulses_pack CLASS DAYS TIME-CODECS: the benchmark generator's CLASS for
# DAYS, packed: it must come back exactly, each chunk by one of the time
# codecs named (in og-pack(1)), in under 0.1 bytes a record
pulses_pack() {
	cc -O2 -o gen "$BATS_TEST_DIRNAME/bench/gen.c" -lm
	./gen "$1" 1 "$2" >in
	og-pack st <in
	og-unpack st | awk -F'\t' '{ printf "%s\t%s\t%d\n", $1, $2, $3 }' | cmp - in
	n=$(wc -l <in)
	[ "$n" -gt 50000 ]
	! time_codecs st/${1}0000.dat st/${1}0000.meta | grep -qvx "[$3]"
	[ $(( $(cat st/* | wc -c) * 10 )) -lt "$n" ]
}

# exact KEY-TIME-VALUE... : the records with each value as the double it
# reads as, so that 1000001 and 1000001.0 compare equal
exact() { awk -F'\t' '{ printf "%s\t%s\t%.17g\n", $1, $2, $3 }' "$@"; }

# store_codecs STORE: each chunk's version and time codec, distinct pairs on
# one line ("2:0 2:1 ")
store_codecs() {
	local d v
	for d in "$1"/*.dat; do
		v=$(od -An -tu1 -j3 -N1 "$d" | tr -d ' ')
		time_codecs "$d" "${d%.dat}.meta" | sed "s/^/$v:/"
	done | sort -u | tr '\n' ' '
}

@test "every pulse variant of the bench generator comes back exactly" {
	# jitter, ripple, site meters of four constants, idling, a blend of
	# them and issue 19's levels: times by whichever codec is smallest
	# per chunk, the rate model among them
	cc -O2 -o gen "$BATS_TEST_DIRNAME/bench/gen.c" -lm
	for class in jitter ripple site idle; do
		./gen $class 2 4
	done >in
	./gen -n 3000 blend 8 3650 >>in
	./gen -n 20000 levels 2 3650 >>in
	og-pack st <in
	og-unpack st | exact | sort | cmp - <(exact in | sort)
	for d in st/*.dat; do
		time_codecs "$d" "${d%.dat}.meta"
	done | sort | uniq -c >codecs
	cat codecs
	grep -q ' 5$' codecs
}

@test "pulses at a steady rate take a few bytes for thousands of records" {
	# floor(k * T + phi), T = 3600 / 437 s: a 437 W load on a 1 Wh
	# meter, which the rate model predicts every step of: 133 bytes,
	# where zstd on the steps took 329
	awk 'BEGIN { for (k = 0; k < 16384; k++)
		printf "p\t%d\t%d\n", 1451606400 + int(k * 3600 / 437 + 0.3), k }' >in
	og-pack st <in
	og-unpack st | awk -F'\t' '{ printf "%s\t%s\t%d\n", $1, $2, $3 }' | cmp - in
	[ "$(time_codecs st/p.dat st/p.meta)" = 5 ]
	[ "$(od -An -tu1 -j3 -N1 st/p.dat | tr -d ' ')" = 5 ]
	[ "$(stat -c %s st/p.dat)" -lt 160 ]
}

@test "chunks that do not use the rate model stay version 2, for og before it" {
	awk 'BEGIN { for (k = 0; k < 1000; k++) {
		printf "r\t%d\t%d\n", 1451606400 + 60 * k, k % 7
		printf "p\t%d\t%d\n", 1451606400 + int(k * 3600 / 437 + 0.3), k } }' |
	    og-pack st
	[ "$(time_codecs st/r.dat st/r.meta)" = 0 ]
	[ "$(od -An -tu1 -j3 -N1 st/r.dat | tr -d ' ')" = 2 ]
	[ "$(time_codecs st/p.dat st/p.meta)" = 5 ]
	[ "$(od -An -tu1 -j3 -N1 st/p.dat | tr -d ' ')" = 5 ]
}

@test "a steady rate with pulses early or late and changes of load comes back exactly" {
	# one pulse in 50 a second late, the load stepping between three
	# levels and back, pauses of an hour: what the rate model must
	# recover from, in each of the three chunks
	awk 'BEGIN { t = 1451606400; x = 0.5
		T[0] = 8.2379123; T[1] = 31.70417; T[2] = 3.0512345
		for (k = 0; k < 40000; k++) {
			if (k % 997 == 0) l = int(k / 997) % 3
			if (k % 5003 == 0) x += 3600
			x += T[l]
			printf "q\t%d\t%d\n", t + int(x) + (k % 50 == 7), k
		} }' >in
	og-pack st <in
	og-unpack st | awk -F'\t' '{ printf "%s\t%s\t%d\n", $1, $2, $3 }' | cmp - in
	[ "$(time_codecs st/q.dat st/q.meta | tr '\n' ' ')" = "5 5 5 " ]
	[ $(( $(stat -c %s st/q.dat) * 20 )) -lt 40000 ]
}

@test "chunks of version 2, written by og before the rate model, still read" {
	# tests/data/store-v2: og-pack of the generator's pulse, gas, gauge,
	# power and site records, as of commit 2aa040d: time codecs 0, 1, 2,
	# value codecs 0 and 2
	cp -r "$BATS_TEST_DIRNAME/data/store-v2" old
	[ "$(store_codecs old)" = "2:0 2:1 2:2 " ]
	cc -O2 -o gen "$BATS_TEST_DIRNAME/bench/gen.c" -lm
	{ ./gen pulse 1 1; ./gen gas 1 10; ./gen gauge 1 1; ./gen power 1 1
	  ./gen site 4 1; } >in
	og-unpack old | exact | sort | cmp - <(exact in | sort)
	og-pack st <in
	og-unpack old | cmp - <(og-unpack st)
	# and a new pack on top of the old chunks reads both
	printf 'pulse0000\t1999999999\t7\n' | og-pack old
	og-unpack old pulse0000 >out
	[ "$(wc -l <out)" = $(( $(grep -c ^pulse0000 in) + 1 )) ]
	[ "$(tail -n 1 out)" = "$(printf 'pulse0000\t1999999999\t7.0')" ]
	head -n -1 out | exact | cmp - <(grep ^pulse0000 in | exact)
}

# old_rate_store FIXTURE CODEC: tests/data/FIXTURE, the generator's pulse,
# levels and jitter records packed by an older og with time codec CODEC
# in every chunk (at chunk version CODEC), reads back exactly; the same
# records packed now take codec 5, and fewer bytes
old_rate_store() {
	cp -r "$BATS_TEST_DIRNAME/data/$1" old
	[ "$(store_codecs old)" = "$2:$2 " ]
	cc -O2 -o gen "$BATS_TEST_DIRNAME/bench/gen.c" -lm
	{ ./gen pulse 1 1; ./gen -n 4000 levels 2 3650
	  ./gen jitter 1 1 | head -n 3000; } >in
	[ "$(wc -l <in)" = 15391 ]
	og-unpack old | exact | sort | cmp - <(exact in | sort)
	og-pack st <in
	og-unpack old | cmp - <(og-unpack st)
	[ "$(store_codecs st)" = "5:5 " ]
	[ "$(cat st/*.dat | wc -c)" -lt "$(cat old/*.dat | wc -c)" ]
}

@test "chunks of version 3, written by og's first rate model, still read" {
	# tests/data/store-v3: og-pack of the generator's pulse, levels and
	# jitter records, as of commit 5a1f302: time codec 3 in every chunk,
	# whose misses code a direction that codec 4 leaves out
	old_rate_store store-v3 3
}

@test "chunks of version 4, written by og's second rate model, still read" {
	# tests/data/store-v4: og-pack of the same records as store-v3, as of
	# commit 12da1b9: time codec 4 in every chunk, whose contexts and
	# turns back to a remembered rate are not codec 5's: read with codec
	# 5's model, they do not come back
	old_rate_store store-v4 4
}

@test "a month of 1 Wh pulses packs under 0.1 bytes a record" {
	# a record for each second in which the counter advanced, power
	# following a fridge and appliances: time codec 1, steps, or 5, the
	# rate model (5 in every chunk here)
	pulses_pack pulse 30 15
}

@test "two months of 10 l gas pulses pack under 0.1 bytes a record" {
	# bursts at one step while the boiler burns, pauses between: time
	# codec 2, gaps, or 5, the rate model (5 in every chunk here)
	pulses_pack gas 60 25
}

@test "decimals and times print from their digits as Python prints them" {
	# all keys but e are decimal-coded (codec 1 or 2, og-pack(1)), printed
	# from their digits where that gives repr's text, else as doubles; a
	# time or whole number copies the digits it shares with the last
	python3 -c '
keys = {
    "a": ["0.0001", "0.00012", "1.5", "-12.50", "450", "0", "nan", "nan",
          "1.5"],
    "b": ["1e-05", "2e-05", "0.0001", "0.00009999", "-0.000012345",
          "1e-09"],
    "c": ["123456789012345.6", "99999999999999.9", "-99999999999999.9",
          "100000000000000.5", "0.5"],
    "d": ["1e15", "-1e14", "999999999999999", "-999999999999999",
          "123", "0", "0"],
    "e": ["-0.0", "1e16", repr(0.1 + 0.2), "5e-324", "-0.0"],
    "f": ["900719925474.0991", "-99999999999.9999", "0.1", "0.1",
          "0.2", "0.1"],
    "n": ["9998", "9999", "10000", "10001", "19999", "20000", "20000",
          "nan", "20000", "123456789", "5", "-20000", "100000000000000",
          "999999999999999", "1e15", "10000"],
}
for k in sorted(keys):
    for i, x in enumerate(keys[k]):
        print("%s\t%d\t%r" % (k, i, float(x)))
for t in [-5, 9999, 10000, 19999, 20000, 1451609999, 1451610000,
          2**63 - 1]:
    print("t\t%d\t1.25" % t)
' >in
	og-pack st <in
	og-unpack st | cmp - in
	og-unpack -m st | LC_ALL=C sort -t "$(printf '\t')" -k1,1 -k2,2n |
	    cmp - in
	for k in a b c d f n t; do
		case $(od -An -tu1 -j25 -N1 st/$k.dat | tr -d ' ') in
		1|2) ;;
		*) echo "$k is not decimal-coded"; false ;;
		esac
	done
}

# chunk_codecs DATA-FILE META-FILE: the version and value codec of each
# chunk, by the chunk offsets of the meta file's index (og-pack(1))
chunk_codecs() {
	local keylen chunks i off
	keylen=$(od -An -tu2 -j4 -N2 "$2" | tr -d ' ')
	chunks=$(od -An -tu4 -j24 -N4 "$2" | tr -d ' ')
	for ((i = 0; i < chunks; i++)); do
		off=$(od -An -tu8 -j$((32 + keylen + 40 * i)) -N8 "$2" | tr -d ' ')
		echo "$(od -An -tu1 -j$((off + 3)) -N1 "$1" | tr -d ' ')" \
		    "$(od -An -tu1 -j$((off + 25)) -N1 "$1" | tr -d ' ')"
	done
}

@test "decimals of 12 to 15 digits, as exporters print them, come back as they came" {
	# value codec 5 (og-pack(1)) in chunks of version 4: each key's values
	# are M * 10^e; what does not fit (-0.0, 0.1 + 0.2, 5e-324, a value of
	# 15 places among 12-digit ones) is kept whole, nan stays a gap
	python3 -c '
import random
random.seed(19)
keys = {}
# a: what VictoriaMetrics gives back of a meter'\''s minute power: 13
# significant digits, a reading in hundredths with noise below
keys["a"] = ["%.13g" % (round(random.uniform(100, 3000), 2) - random.uniform(-3e-8, 3e-8)) for i in range(5000)]
# b: 15 significant digits, one decade
def walk(m, n):
    out = []
    for i in range(n):
        m += random.randint(-5000, 5000)
        out.append(m)
    return out
keys["b"] = ["%d.%011d" % divmod(m, 10**11) for m in walk(123456789012345, 3000)]
# c: 15 digits at 10^-8, the smallest exponent, 10^-22
keys["c"] = ["%de-22" % m for m in walk(723456789012345, 3000)]
# d: 15 digits times 10^7, a positive exponent
keys["d"] = ["%de7" % m for m in walk(-523456789012345, 3000)]
# g: negative and positive, 12 digits, mean power that repeats
v, g = 0.0, []
for i in range(6000):
    if random.random() < 0.12:
        v = round(random.uniform(-2000, 2000), 2) + 0.7835296624
    g.append("%.10f" % v)
keys["g"] = g
# x: a chunk of decimals with what does not fit kept whole: -0.0, a sum
# of 17 digits, the smallest subnormal, a value of 15 places; nan between
x = ["%.12g" % random.uniform(10, 99) for i in range(2000)]
for i, s in zip(range(7, 2000, 150), ["-0.0", repr(0.1 + 0.2), "5e-324", "nan", "0.123456789012345", "nan", "-0.0", "0", "nan", "1e-22"]):
    x[i] = s
keys["x"] = x
# y: 10 places in the first values, 12 in most: the exponent the first
# ones tell would leave most off
y = walk(12345678901234, 3100)
keys["y"] = ["%d.%012d" % divmod(m // 100 * 100, 10**12) for m in y[:100]] + \
    ["%d.%012d" % divmod(m, 10**12) for m in y[100:]]
for k in sorted(keys):
    for i, s in enumerate(keys[k]):
        print("%s\t%d\t%r" % (k, 1451606400 + 60 * i, float(s)))
' >in
	og-pack st <in
	og-unpack st | cmp - in
	# Python's repr of the decimal text is the text itself, shortened
	python3 -c '
import sys
for line in sys.stdin:
    k, t, v = line.rstrip("\n").split("\t")
    assert repr(float(v)) == v, line
' <in
	for k in a b c d g x y; do
		[ "$(chunk_codecs st/$k.dat st/$k.meta)" = "4 5" ] ||
		    { echo "$k: $(chunk_codecs st/$k.dat st/$k.meta)"; false; }
	done
	# what does not fit is in the input, and came back
	for v in -0.0 0.30000000000000004 5e-324 0.123456789012345 nan 1e-22; do
		grep -q "$(printf '^x\t[0-9]*\t%s$' "$v")" in
	done
	# ranges and -p read them as well
	og-unpack -s 1451606400 -e 1451607000 st g | cmp - <(grep "^g" in | head -n 10)
	og-unpack -p -s 1451607000 -e 1451607060 st d |
	    cmp - <(grep "^d" in | sed -n 10,11p)
}

@test "a decimal chunk of random-walk 15-digit values is smaller than the byte planes" {
	# 3000 values M * 10^-11, M changing by at most 5000: about 2 bytes
	# a value as differences, 8 as doubles (the store before codec 5
	# took 20180 bytes for them)
	python3 -c '
import random
random.seed(5)
m = 123456789012345
for i in range(3000):
    m += random.randint(-5000, 5000)
    print("b\t%d\t%r" % (i, float("%d.%011d" % divmod(m, 10**11))))
' >in
	og-pack st <in
	og-unpack st | cmp - in
	[ "$(chunk_codecs st/b.dat st/b.meta)" = "4 5" ]
	[ "$(stat -c %s st/b.dat)" -lt 8000 ]
}

@test "100000 equal decimals of 13 digits take under 0.01 bytes each; runs of repeats next to nothing" {
	awk 'BEGIN { for (i = 0; i < 100000; i++)
		printf "r\t%d\t155.8799999859\n", 1451606400 + 60 * i }' >in
	og-pack st <in
	og-unpack st | cmp - in
	[ "$(stat -c %s st/r.dat)" -lt 1000 ]
	# mean power as VictoriaMetrics gives it back: a new 14-digit value
	# one minute in 8, negative too, the others repeats
	python3 -c '
import random
random.seed(3)
v = 0.0
for i in range(16384):
    if random.random() < 0.12:
        v = round(random.uniform(-2000, 2000), 2) + 0.7835296624
    print("m\t%d\t%r" % (1451606400 + 60 * i, float("%.10f" % v)))
' >min
	og-pack st2 <min
	og-unpack st2 | cmp - min
	[ "$(chunk_codecs st2/m.dat st2/m.meta)" = "4 5" ]
	# 1919 changes of about 19 bits of hundredths each: under 5 bytes a
	# change, the repeats between them included (byte planes: 31223)
	[ "$(awk -F'\t' '$3 != p { c++ } { p = $3 } END { print c }' min)" = 1919 ]
	[ "$(stat -c %s st2/m.dat)" -lt $((1919 * 5)) ]
}

@test "chunks that do not use the decimals stay as they were, for og before them" {
	# a gauge of 2 decimals keeps codec 1 or 2 and version 2; full
	# doubles keep the byte planes or a grid
	python3 -c '
import random
random.seed(1)
for i in range(3000):
    print("g\t%d\t%r" % (i * 60, round(20 + random.gauss(0, 1), 2)))
    print("p\t%d\t%r" % (i * 60, random.uniform(0, 1000)))
' >in
	og-pack st <in
	LC_ALL=C sort -t "$(printf '\t')" -k1,1 -k2,2n in | cmp - <(og-unpack st)
	case $(chunk_codecs st/g.dat st/g.meta) in
	"2 1"|"2 2") ;;
	*) false ;;
	esac
	[ "$(chunk_codecs st/p.dat st/p.meta)" = "2 0" ]
}

@test "-m merges keys in time order, ties in key order" {
	rec b 1 1 a 2 2 b 2 3 a 3 4 c 0 5 | og-pack st
	run og-unpack -m st
	assert_output "$(rec c 0 5.0 b 1 1.0 a 2 2.0 b 2 3.0 a 3 4.0)"
}

@test "-l lists count, first and last per key, -T in local time" {
	rec k 1459040400 1 k 1459040460 2 j 5 1 | og-pack st
	run og-unpack -l st
	assert_output "$(printf 'j\t1\t5\t5\nk\t2\t1459040400\t1459040460')"
	run og-unpack -l -T st k
	assert_output "$(printf 'k\t2\t2016-03-27T03:00:00+02:00\t2016-03-27T03:01:00+02:00')"
}

@test "-s is inclusive and -e exclusive, also at chunk edges" {
	seq 0 40000 | awk '{print "k\t" $1 * 60 "\t" $1 % 97}' >in
	og-pack st <in
	[ "$(count_chunks st k)" -ge 3 ]
	for edge in 0 16383 16384 16385 32767 32768 40000; do
		s=$((edge * 60))
		og-unpack -s $s -e $((s + 120)) st >out
		awk -v s=$s '$2 >= s && $2 < s + 120 {print $1 "\t" $2 "\t" $3 ".0"}' in >want
		cmp want out
	done
	run og-unpack -s 2400001 st
	assert_output ""
	run og-unpack -s 1970-01-01T00:01:00Z -e 180 st
	assert_output "$(rec k 60 1.0 k 120 2.0)"
}

@test "a range read decodes only the chunks it overlaps" {
	seq 0 99999 | awk '{print "k\t" $1 "\t" $1}' | og-pack st
	# damage the first chunk: a later range never reads it
	printf 'XXXX' | dd of=st/k.dat bs=1 seek=45 conv=notrunc 2>/dev/null
	run og-unpack -s 90000 -e 90003 st
	assert_success
	assert_output "$(rec k 90000 90000.0 k 90001 90001.0 k 90002 90002.0)"
	run og-unpack -e 3 st
	assert_failure 1
}

@test "hostile keys stay inside the store and do not collide" {
	long=$(printf '%%.%.0s' $(seq 127))x
	keys=(.. . a/b a%2Fb ../../etc/passwd /abs '..%2F' "$long" '~' 'A' 'a')
	for k in "${keys[@]}"; do rec "$k" 1 7; done >in
	mkdir box
	og-pack box/st <in
	[ -z "$(find box -mindepth 1 -not -path 'box/st' -not -path 'box/st/*')" ]
	! find box/st -name '*..*' | grep -q .
	run og-unpack box/st
	assert_success
	[ "$(echo "$output" | wc -l)" -eq 11 ]
	LC_ALL=C sort in | sed 's/7$/7.0/' >want
	echo "$output" | cmp want -
	run og-unpack box/st "$long"
	assert_output "$(rec "$long" 1 7.0)"
}

@test "a damaged data file is named with its offset; other keys still print" {
	rec a 1 1 b 1 2 c 1 3 | og-pack st
	printf 'Z' | dd of=st/b.dat bs=1 seek=45 conv=notrunc 2>/dev/null
	run og-unpack st
	assert_failure 1
	assert_output "$(printf 'a\t1\t1.0\nog-unpack: st/b.dat: offset 0: checksum mismatch\nc\t1\t3.0')"
	run og-unpack -x st
	assert_failure 1
	assert_output "$(printf 'a\t1\t1.0\nog-unpack: st/b.dat: offset 0: checksum mismatch')"
}

@test "a truncated data file and a damaged meta file are named" {
	rec a 1 1 b 1 2 | og-pack st
	truncate -s 10 st/a.dat
	run og-unpack st
	assert_failure 1
	assert_output "$(printf 'og-unpack: st/a.dat: offset 0: truncated data file\nb\t1\t2.0')"
	printf 'Q' | dd of=st/b.meta bs=1 seek=9 conv=notrunc 2>/dev/null
	run og-unpack st b
	assert_failure 1
	assert_output "og-unpack: st/b.meta: meta file checksum mismatch"
}

@test "a missing data file is named and the other keys still print" {
	rec a 1 1 b 1 2 | og-pack st
	rm st/a.dat
	run og-unpack st
	assert_failure 1
	assert_output "$(printf 'og-unpack: st/a.dat: No such file or directory\nb\t1\t2.0')"
}

@test "bad input leaves the store exactly as it was" {
	rec k 1 1 | og-pack st
	cp -a st before
	run og-pack st < <(rec k 2 2 j 3 3; printf 'k\tx\t1\n')
	assert_failure 1
	assert_output "og-pack: <stdin>:3: bad time 'x'"
	run og-unpack st
	assert_output "$(rec k 1 1.0)"
	diff <(cd before && find . -type f | sort) <(cd st && find . -type f -not -name '*.dat' | sort; cd st && ls *.dat | sed 's|^|./|') >/dev/null ||
	    diff <(cd before && find . -name '*.meta' | sort) <(cd st && find . -name '*.meta' | sort)
}

@test "an unknown key is reported and the others still print" {
	rec k 1 1 | og-pack st
	run og-unpack st k nokey
	assert_failure 1
	assert_output "$(printf 'og-unpack: nokey: no such key\nk\t1\t1.0')"
}

@test "small appends keep the store dense: tail chunks are merged" {
	seq 0 19999 | awk '{print "k\t" $1 * 60 "\t" 1000 + $1}' >in
	og-pack bulk <in
	for i in $(seq 0 99); do
		sed -n "$((i * 200 + 1)),$((i * 200 + 200))p" in | og-pack st
	done
	og-unpack st | cmp - <(og-unpack bulk)
	[ "$(count_chunks st k)" -le 3 ]
	bulk=$(du -sb bulk | cut -f1)
	small=$(du -sb st | cut -f1)
	echo "bulk $bulk small appends $small"
	[ "$small" -le $((bulk * 3 / 2 + 70000)) ]
}

@test "a pack or unpack of more keys than open files allowed works" {
	seq 1 1500 | awk '{print "key" $1 "\t" $1 "\t" $1}' >in
	(ulimit -n 256; og-pack st <in)
	run og-unpack -l st
	[ "${#lines[@]}" -eq 1500 ]
	(ulimit -S -n 256; og-unpack st) | cut -f2 | sort -n | cmp - <(seq 1 1500)
}

@test "two packs at once both land" {
	seq 0 49999 | awk '{print "a\t" $1 "\t" $1}' >in1
	seq 0 49999 | awk '{print "b\t" $1 "\t" $1}' >in2
	og-pack st <in1 & og-pack st <in2 & wait
	run og-unpack -l st
	assert_output "$(printf 'a\t50000\t0\t49999\nb\t50000\t0\t49999')"
}

@test "a reader during packs sees whole batches only" {
	for b in $(seq 1 8); do
		seq 1 20000 | awk -v b=$b '{print "k" $1 % 4 "\t" b * 100000 + $1 "\t" b}' >batch$b
	done
	( for b in $(seq 1 8); do og-pack st <batch$b; done ) &
	while kill -0 $! 2>/dev/null; do
		og-unpack st 2>/dev/null | awk -F'\t' '{n[$3]++} END {for (b in n) if (n[b] != 20000) {print "torn batch " b ": " n[b]; exit 1}}'
	done
	wait
	[ "$(og-unpack st | wc -l)" -eq 160000 ]
}

# Kill og-pack at random instants: every completed batch must be there
# exactly once, the killed batch all or nothing, the store readable.  Each
# kill costs a read of the store and a range read; the batches are checked
# one by one at the end, so hundreds of kills stay affordable.
@test "kill -9 at random points loses no committed batch and tears none" {
	kills=${OG_KILLS:-150}
	# kill instants spread over 1.5 times how long one pack takes here
	seq 1 30000 | awk '{print "k" $1 % 3 "\t" $1 "\t" 1}' >batch
	t0=$(date +%s%N); og-pack probe <batch; t1=$(date +%s%N)
	span=$(( (t1 - t0) / 1000000 * 3 / 2 + 1 ))
	cut=0 nlanded=0
	for b in $(seq 1 $kills); do
		awk -v b=$b 'BEGIN { for (i = 1; i <= 30000; i++)
		    print "k" i % 3 "\t" b * 100000 + i "\t" b "." i % 10 }' >batch
		og-pack st <batch &
		pid=$!
		sleep "$(printf '0.%03d' $((RANDOM % span % 1000)))"
		kill -9 $pid 2>/dev/null || true
		wait $pid 2>/dev/null || true
		if [ ! -d st ]; then cut=$((cut + 1)); continue; fi
		n=$(og-unpack -s $((b * 100000)) -e $(((b + 1) * 100000)) st | wc -l) ||
		    { echo "unreadable after kill $b"; return 1; }
		case $n in
		0)	cut=$((cut + 1)) ;;
		30000)	landed="$landed $b" nlanded=$((nlanded + 1)) ;;
		*)	echo "killed batch $b torn: $n records"; return 1 ;;
		esac
		# the whole store reads, and holds every batch that landed once:
		# a lost or torn one would make the count short
		n=$(og-unpack st | wc -l) || { echo "unreadable after kill $b"; return 1; }
		[ "$n" -eq $((nlanded * 30000)) ] ||
		    { echo "after kill $b: $n records, $nlanded batches landed"; return 1; }
	done
	echo "landed:$landed; cut off: $cut"
	[ -n "$landed" ] && [ "$cut" -gt 0 ]
	og-unpack st | awk -F'\t' -v landed="$landed" '
	    { n[int($2 / 100000)]++
	      if ($3 != int($2 / 100000) "." $2 % 100000 % 10) { print "bad value: " $0; bad = 1; exit 1 } }
	    END {
		if (bad) exit 1
		split(landed, l, " ")
		for (i in l) if (n[l[i]] != 30000) { print "batch " l[i] ": " n[l[i]]; exit 1 }
		for (b in n) if (n[b] != 30000) { print "batch " b " torn: " n[b]; exit 1 }
	    }'
}

# --- damage, repair and leftovers -------------------------------------------

# data_end STORE KEY: the data end a key's meta file records (og-pack(1))
data_end() {
	od -An -tu8 -j8 -N8 "$1/$2.meta" | tr -d ' '
}

# tidy STORE: no file a pack leaves when it dies, and every data file
# exactly as long as its meta file says
tidy() {
	local m left
	left=$(cd "$1" && find . -name '*.new' -o -name '.og-dirty' -o -name '.og-journal*')
	[ -z "$left" ] || { echo "left over: $left"; return 1; }
	for m in "$1"/*.meta; do
		[ "$(stat -c %s "${m%.meta}.dat")" = "$(data_end "$1" "$(basename "${m%.meta}")")" ] ||
		    { echo "${m%.meta}.dat: $(stat -c %s "${m%.meta}.dat") bytes, meta says $(data_end "$1" "$(basename "${m%.meta}")")"; return 1; }
	done
}

@test "one damaged key does not block the batch: the others land, it is named, exit 1" {
	gzip -dc "$DATA/elec_power_min_1sensor.tsv.gz" | sed 's/^[^\t]*/e1de/' >in
	og-pack tr <in
	truncate -s 20000 tr/e1de.dat
	sum=$(md5sum tr/e1de.*)
	run --separate-stderr og-pack tr < <(rec zz2 1 5 e1de 1600000000 5 zz2 2 6)
	assert_failure 1
	assert_equal "$stderr" "og-pack: tr/e1de.dat: 20000 bytes, shorter than the 42820 its meta file counts: damaged
og-pack: e1de: 1 record not stored: its files are damaged (og-pack -R repairs them)"
	run og-unpack tr zz2
	assert_output "$(rec zz2 1 5.0 zz2 2 6.0)"
	[ "$(md5sum tr/e1de.*)" = "$sum" ]
	# a re-run is safe: the records that landed are written again, the same
	run og-pack tr < <(rec zz2 1 5 e1de 1600000000 5 zz2 2 6)
	assert_failure 1
	run og-unpack tr zz2
	assert_output "$(rec zz2 1 5.0 zz2 2 6.0)"
}

@test "a key damaged in the middle of a batch drops all its records of the batch, and only them" {
	seq 0 49999 | awk '{print "k\t" $1 "\t" $1}' | og-pack st
	rec j 1 1 | og-pack st
	# damage the second chunk: a batch reaching into it cannot merge
	printf 'Z' | dd of=st/k.dat bs=1 seek=$(( $(od -An -tu8 -j$((32 + 1 + 40)) -N8 st/k.meta) + 50 )) conv=notrunc 2>/dev/null
	size=$(stat -c %s st/k.dat)
	run --separate-stderr og-pack st < <(seq 50000 99999 | awk '{print "k\t" $1 "\t" $1}'; rec j 2 2; rec k 20000 0)
	assert_failure 1
	[[ "${stderr_lines[0]}" == "og-pack: st/k.dat: offset "*": checksum mismatch" ]]
	assert_equal "${stderr_lines[1]}" "og-pack: k: 50001 records not stored: its files are damaged (og-pack -R repairs them)"
	# what it wrote to k before it found the damage is taken back
	[ "$(stat -c %s st/k.dat)" -eq "$size" ]
	run og-unpack st j
	assert_output "$(rec j 1 1.0 j 2 2.0)"
	tidy st
}

@test "-R keeps the whole chunks, drops the damaged, and the key reads and packs again" {
	seq 0 49999 | awk '{print "k\t" $1 * 60 "\t" $1 % 97}' >in
	og-pack st <in
	rec j 1 1 | og-pack st
	[ "$(count_chunks st k)" -eq 4 ]
	# one byte of the second chunk (records 16384 to 32767)
	off=$(od -An -tu8 -j$((32 + 1 + 40)) -N8 st/k.meta | tr -d ' ')
	printf 'Z' | dd of=st/k.dat bs=1 seek=$((off + 60)) conv=notrunc 2>/dev/null
	run og-unpack st k
	assert_failure 1
	run --separate-stderr og-pack -R st
	assert_success
	assert_equal "$stderr" "og-pack: st/k.dat: offset $off: checksum mismatch: 16384 records dropped (983040 to 1966020)"
	assert_output "$(printf 'j\tintact: 1 chunk, 1 record\nk\tkept 3 chunks, 33616 records; dropped 1 chunk, 16384 records')"
	og-unpack st k >out
	awk '$2 < 983040 || $2 > 1966020 {print $1 "\t" $2 "\t" $3 ".0"}' in | cmp - out
	tidy st
	# the hole can be filled again, and new records append
	awk '$2 >= 983040 && $2 <= 1966020' in | og-pack st
	rec k 3000000 1 | og-pack st
	og-unpack st k | cmp - <({ sed 's/$/.0/' in; rec k 3000000 1.0; })
	run og-pack -R st k
	assert_success
	assert_output "$(printf 'k\tintact: 4 chunks, 50001 records')"
}

@test "-R rebuilds a torn meta file from the chunks, leaving out the chunks they replaced" {
	seq 0 49999 | awk '{print "k\t" $1 * 60 "\t" $1 % 97}' | og-pack st
	# a second batch replaces chunks: their old copies stay dead in k.dat
	seq 20000 20100 | awk '{print "k\t" $1 * 60 "\t7"}' | og-pack st
	og-unpack st >want
	cp st/k.dat before.dat
	printf 'QQ' | dd of=st/k.meta bs=1 seek=50 conv=notrunc 2>/dev/null
	run --separate-stderr og-pack -R st
	assert_success
	assert_equal "$stderr" "og-pack: st/k.meta: meta file checksum mismatch: index rebuilt from the data file"
	assert_output "$(printf 'k\tindex rebuilt: kept 4 chunks, 50000 records; 0 bytes held no chunk')"
	og-unpack st | cmp want -
	[ "$(stat -c %s st/k.dat)" -lt "$(stat -c %s before.dat)" ]
	tidy st
	# a meta file lost, and bytes that are no chunk in the data file
	rm st/k.meta
	printf 'garbage' >>st/k.dat
	run og-unpack st k
	assert_output "og-unpack: k: no such key"
	run --separate-stderr og-pack -R st
	assert_success
	assert_equal "$stderr" "og-pack: k: no meta file: index rebuilt from the data file"
	assert_output "$(printf 'k\tindex rebuilt: kept 4 chunks, 50000 records; 7 bytes held no chunk')"
	og-unpack st | cmp want -
	rec k 9999999 1 | og-pack st
	[ "$(og-unpack st | wc -l)" -eq 50001 ]
}

@test "-R: a missing data file empties its key; a key not in the store is named" {
	rec a 1 1 a 2 2 b 1 3 | og-pack st
	rm st/a.dat
	run --separate-stderr og-pack -R st a nokey
	assert_failure 1
	assert_equal "$stderr" "$(printf 'og-pack: st/a.dat: No such file or directory\nog-pack: nokey: no such key')"
	assert_output "$(printf 'a\tkept 0 chunks, 0 records; dropped 1 chunk, 2 records')"
	run og-unpack st
	assert_success
	assert_output "$(rec b 1 3.0)"
	rec a 5 5 | og-pack st
	run og-unpack st a
	assert_output "$(rec a 5 5.0)"
	run og-pack -R st ''
	assert_failure 1
	assert_output "og-pack: bad key ''"
}

@test "-R is atomic: killed at any point, the store reads as before or as repaired" {
	for k in $(seq 1 40); do seq 1 20000 | awk -v k=$k '{print "k" k "\t" $1 "\t" $1 % 7}'; done >in
	og-pack st <in
	og-unpack st k1 >want
	for k in $(seq 1 40); do
		# into the first chunk, 84 bytes
		printf 'Z' | dd of=st/k$k.dat bs=1 seek=50 conv=notrunc 2>/dev/null
	done
	cp -a st damaged
	for i in $(seq 1 20); do
		rm -rf st && cp -a damaged st
		og-pack -R st >/dev/null 2>&1 &
		pid=$!
		sleep "0.0$((RANDOM % 10))"
		kill -9 $pid 2>/dev/null || true
		wait $pid 2>/dev/null || true
		# every key either damaged as before or repaired, never a mix
		n=$(og-unpack -l st | wc -l)
		[ "$n" -eq 40 ] || { echo "after kill $i: $n keys"; return 1; }
		good=$(og-unpack st 2>/dev/null | wc -l) || true
		[ $((good % 3616)) -eq 0 ] || { echo "after kill $i: $good records"; return 1; }
		run og-pack -R st
		assert_success
		og-unpack st k1 | cmp - <(tail -n 3616 want)
		tidy st
	done
}

@test "kill -9 or SIGTERM mid-pack: the next pack, of another key, removes what it left" {
	awk 'BEGIN {srand(3); for (i = 0; i < 300000; i++)
	    printf "k%d\t%d\t%.17g\n", i % 12, i, rand()}' >one
	awk 'BEGIN {srand(4); for (i = 0; i < 600000; i++)
	    printf "k%d\t%d\t%.17g\n", i % 12, 1000000 + i, rand()}' >two
	for sig in TERM KILL; do
		rm -rf st
		og-pack st <one
		og-unpack st >want
		size=$(cat st/*.dat | wc -c)
		# the input is held open, so the pack cannot reach its commit
		# however fast it is
		mkfifo fifo
		og-pack st <fifo &
		pid=$!
		exec 5>fifo
		cat two >&5
		# kill once it has written past the committed ends
		for i in $(seq 1000); do
			[ "$(cat st/*.dat | wc -c)" -gt $((size + 1000000)) ] && break
			sleep 0.01
		done
		kill -$sig $pid
		wait $pid || true
		exec 5>&-
		rm fifo
		[ "$(cat st/*.dat | wc -c)" -gt $((size + 1000000)) ]
		[ -e st/.og-dirty ]
		og-unpack st | cmp want -
		rec other 1 1 | og-pack st
		tidy st
		[ "$(cat st/*.dat | wc -c)" -eq $((size + 60)) ]
		og-unpack st | cmp - <(cat want; rec other 1 1.0)
	done
}

@test "kill -9 at random points, then a pack of another key: nothing left over" {
	seq 1 60000 | awk '{print "k" $1 % 6 "\t" $1 "\t" $1 % 10}' >one
	og-pack st <one
	for b in $(seq 1 25); do
		awk -v b=$b 'BEGIN { for (i = 1; i <= 60000; i++)
		    print "k" i % 6 "\t" b * 100000 + i "\t" i % 3 }' >batch
		og-pack st <batch &
		pid=$!
		sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
		kill -9 $pid 2>/dev/null || true
		wait $pid 2>/dev/null || true
		rec "other$b" 1 1 | og-pack st
		tidy st
		og-unpack st >/dev/null
	done
}

# --- og-unpack -p -----------------------------------------------------------

@test "-p prints each key's last record before START too, however far back" {
	seq 0 40000 | awk '{print "k\t" $1 * 60 "\t" $1 % 97}' >in
	og-pack st <in
	rec idle 5 1 idle 100 2 | og-pack st
	[ "$(count_chunks st k)" -eq 3 ]
	# START at a chunk's first record: the record before is the last of
	# the chunk before
	s=$((16384 * 60))
	run og-unpack -p -s $s -e $((s + 61)) st k
	assert_output "$(rec k $((s - 60)) $((16383 % 97)).0 k $s $((16384 % 97)).0 k $((s + 60)) $((16385 % 97)).0)"
	# START inside a chunk, and between records
	run og-unpack -p -s 90 -e 180 st k
	assert_output "$(rec k 60 1.0 k 120 2.0)"
	# before the first record: nothing before it
	run og-unpack -p -s 0 -e 60 st k
	assert_output "$(rec k 0 0.0)"
	# after the last record: the last record alone, for a meter long idle
	run og-unpack -p -s 100000000 st
	assert_output "$(rec idle 100 2.0 k 2400000 $((40000 % 97)).0)"
	run og-unpack -p -m -s 110 -e 130 st
	assert_output "$(rec k 60 1.0 idle 100 2.0 k 120 2.0)"
	# an empty range stays empty
	run og-unpack -p -s 130 -e 110 st
	assert_output ""
}

@test "-p reads one chunk more, not the chunks before it" {
	seq 0 49999 | awk '{print "k\t" $1 "\t" $1}' | og-pack st
	printf 'XXXX' | dd of=st/k.dat bs=1 seek=45 conv=notrunc 2>/dev/null
	run og-unpack -p -s 40000 -e 40002 st
	assert_success
	assert_output "$(rec k 39999 39999.0 k 40000 40000.0 k 40001 40001.0)"
	run og-unpack -p -s 16384 -e 16385 st
	assert_failure 1
	assert_output "og-unpack: st/k.dat: offset 0: checksum mismatch"
}

# --- og-pack -c: a stream ---------------------------------------------------

# drained FD: waits until all that was written to the pipe or fifo open on
# FD has been read from it (at most 30 s)
drained() {
	python3 -c '
import array, fcntl, sys, termios, time
fd, n = int(sys.argv[1]), array.array("i", [0])
for _ in range(3000):
    fcntl.ioctl(fd, termios.FIONREAD, n)
    if n[0] == 0:
        sys.exit(0)
    time.sleep(0.01)
print("fd %d: %d bytes still unread" % (fd, n[0]))
sys.exit(1)' "$1"
}

# until_seen N ARG...: waits until og-unpack ARG... prints N records (at
# most 30 s): a commit must become visible without the stream ending
until_seen() {
	local n=$1 i
	shift
	for i in $(seq 300); do
		[ "$(og-unpack "$@" 2>/dev/null | wc -l)" -eq "$n" ] && return 0
		sleep 0.1
	done
	echo "og-unpack $*: $(og-unpack "$@" 2>/dev/null | wc -l) records, not $n"
	return 1
}

@test "-c: a reader sees each commit while the stream runs, also when no more input comes" {
	mkfifo f
	og-pack -c 1 st <f 2>err 3>&- &
	pid=$!
	exec 5>f
	rec a 1 1 a 2 2 >&5
	until_seen 2 st
	kill -0 $pid
	rec b 1 3 a 2 4 >&5
	until_seen 3 st
	run og-unpack st
	assert_output "$(rec a 1 1.0 a 2 4.0 b 1 3.0)"
	# another og-pack is not kept waiting between commits
	run timeout 60 og-pack st < <(rec c 1 5)
	assert_success
	rec b 2 6 >&5
	exec 5>&-
	wait $pid
	[ ! -s err ]
	run og-unpack st
	assert_output "$(rec a 1 1.0 a 2 4.0 b 1 3.0 b 2 6.0 c 1 5.0)"
	tidy st
}

@test "-c: a line cut at end of input is dropped with a warning; without -c it is a record" {
	printf 'a\t1\t1\na\t2\t2\nb\t5\t1' >in
	run --separate-stderr og-pack -c 1 st <in
	assert_success
	assert_equal "$stderr" "og-pack: <stdin>:3: line cut at end of input: dropped"
	run og-unpack st
	assert_output "$(rec a 1 1.0 a 2 2.0)"
	run --separate-stderr og-pack -c 1 st2 in
	assert_equal "$stderr" "og-pack: in:3: line cut at end of input: dropped"
	og-pack st3 <in
	run og-unpack st3 b
	assert_output "$(rec b 5 1.0)"
}

@test "-c: a bad line commits what came before it and stops the stream, exit 1" {
	{ rec a 1 1 a 2 2; printf 'a\tx\t3\n'; rec a 4 4; } >in
	run --separate-stderr og-pack -c 60 st <in
	assert_failure 1
	assert_equal "$stderr" "og-pack: <stdin>:3: bad time 'x'"
	run og-unpack st
	assert_output "$(rec a 1 1.0 a 2 2.0)"
	tidy st
	# without -c the batch is all or nothing, as ever
	run og-pack st2 <in
	assert_failure 1
	run og-unpack -l st2
	assert_output ""
}

@test "-c: SIGTERM commits every whole line read and exits 0" {
	mkfifo f
	og-pack -c 3600 st <f 3>&- &
	pid=$!
	exec 5>f
	{ rec a 1 1 a 2 2; printf 'b\t3'; } >&5
	drained 5
	kill -TERM $pid
	st=0
	wait $pid || st=$?
	assert_equal "$st" 0
	exec 5>&-
	run og-unpack st
	assert_output "$(rec a 1 1.0 a 2 2.0)"
	tidy st
}

@test "-j: one thread or several write the same store, byte for byte" {
	# keys one after another and interleaved, a key out of order with a
	# repeated time, then a batch appending to full and to small tails
	seq 0 99999 | awk '{ print "k" $1 % 3 "\t" $1 "\t" $1 % 97 }' >in
	seq 0 39999 | awk '{ print "s\t" $1 * 60 "\t" $1 / 7 }' >>in
	rec u 5 1 u 3 2 u 5 3 >>in
	seq 100000 140000 | awk '{ print "k" $1 % 2 "\t" $1 "\t" $1 }' >in2
	for j in 1 2 3 8; do
		og-pack -j $j st$j in
		og-pack -j $j st$j in2
	done
	for j in 2 3 8; do
		diff -r st1 st$j
	done
	run og-unpack -l st8
	assert_output "$(printf '%s\t%s\t%s\t%s\n' k0 53335 0 140000 \
	    k1 53333 1 139999 k2 33333 2 99998 s 40000 0 2399940 u 2 3 5)"
	run og-unpack st8 u
	assert_output "$(rec u 3 2.0 u 5 3.0)"
	og-unpack st8 s | cut -f 3 | cmp - <(seq 0 39999 | awk '{ print $1 / 7 }' |
	    sed '/\./!s/$/.0/')
}

# bad_counts OPT WHAT MAX: bad values of -OPT, a count of WHAT from 1 to
# MAX, are usage errors that say so
bad_counts() {
	for v in 0 -1 x $(($3 + 1)) 1.5 ''; do
		run --separate-stderr og-pack -$1 "$v" st </dev/null
		[ "$status" -eq 2 ] || { echo "-$1 '$v': $status"; return 1; }
		assert_equal "$stderr" "og-pack: bad -$1 '$v': $2, 1 to $3"
	done
	[ ! -e st ]
}

@test "-j: bad -j values are usage errors" {
	bad_counts j threads 64
}

@test "-c: bad -c values are usage errors; -c and -R do not combine" {
	bad_counts c seconds 86400
	run --separate-stderr og-pack -c 1 -R st
	[ "$status" -eq 2 ]
	[[ "$stderr" == "usage: og-pack "* ]]
	[ ! -e st ]
}

# A producer of round R writes records R * 1000000 + i, i = 1, 2, ..., 50
# every 10 ms, until its pipe breaks.
producer() {
	python3 -c '
import sys, time
r, i = int(sys.argv[1]), 0
try:
    while True:
        for _ in range(50):
            i += 1
            sys.stdout.write("k%d\t%d\t%d\n" % (i % 3, r * 1000000 + i, i))
        sys.stdout.flush()
        time.sleep(0.01)
except BrokenPipeError:
    pass' "$1" 2>/dev/null
}

@test "-c: kill -9 loses at most the records since the last commit, never a committed one" {
	total=0
	for round in 1 2 3 4 5 6; do
		s=$((round * 1000000)) e=$(((round + 1) * 1000000))
		producer $round 3>&- | og-pack -c 1 st 3>&- &
		pid=$!
		for i in $(seq 300); do
			[ "$(og-unpack -s $s -e $e st 2>/dev/null | wc -l)" -gt 0 ] && break
			sleep 0.1
		done
		sleep "0.$((RANDOM % 10))"
		seen=$(og-unpack -s $s -e $e st | wc -l)
		kill -9 $pid
		wait $pid || true
		n=$(og-unpack -s $s -e $e st | wc -l)
		echo "round $round: $seen seen before the kill, $n after"
		[ "$seen" -gt 0 ] && [ "$n" -ge "$seen" ]
		# the stream came in order and each commit is whole: a prefix
		og-unpack -m -s $s -e $e st | awk -F'\t' -v s=$s '
		    $2 != s + NR || $3 != NR ".0" { print "not a prefix at " NR ": " $0; exit 1 }'
		# a kill in the middle of a commit leaves its tail and list of
		# keys: the next pack, of another key, takes them away
		rec other $round 1 | og-pack st
		total=$((total + n + 1))
		[ "$(og-unpack st | wc -l)" -eq "$total" ]
		tidy st
	done
}

@test "-c: memory stays flat over a long stream" {
	# 3 M records over 50 keys, 60 blocks; og-pack's resident set after
	# each block: the last third of the stream needs no more than the
	# one before (ASan keeps freed memory in quarantine: a small one
	# here).  The first third is left out: the encoding threads' buffers
	# and zstd contexts grow to their size once, as each thread meets
	# chunks of every kind.
	ASAN_OPTIONS=${ASAN_OPTIONS:-}:quarantine_size_mb=1 python3 -c '
import subprocess, sys
p = subprocess.Popen([sys.argv[1], "-c", "1", "st"], stdin=subprocess.PIPE)
rss, t = [], 0
for block in range(60):
    lines = []
    for i in range(50000):
        t += 1
        lines.append("k%d\t%d\t%d\n" % (t % 50, t, t % 1000))
    p.stdin.write("".join(lines).encode())
    p.stdin.flush()
    with open("/proc/%d/status" % p.pid) as f:
        rss += [int(l.split()[1]) for l in f if l.startswith("VmRSS:")]
p.stdin.close()
print("exit", p.wait())
print("RSS kB, every 10th block:", rss[::10])
first, second = max(rss[20:40]), max(rss[40:])
print("peak of blocks 20-39: %d kB, of 40-59: %d kB" % (first, second))
sys.exit(0 if p.returncode == 0 and second <= first + 4096 else 1)
' "$OG_BIN/og-pack"
	run og-unpack -l st k0
	assert_output "$(printf 'k0\t60000\t50\t3000000')"
}
