#!/usr/bin/env bats
# Faults around the tools: a full disk under og-pack, many writers and
# readers on one store at once, and valgrind memcheck over a representative
# run of each tool.  (kill -9 of og-pack is in og-pack.bats: OG_KILLS=N.)

load helper

FED=fed676021dacaaf6a12a8dda7685be34

setup() {
	setup_scratch
	MNT=
}

teardown() {
	if [ -n "$MNT" ]; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
	fi
	if [ -n "${SERVER_PID:-}" ]; then
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
	return 0
}

# the bytes of a store's meta files: what a reader goes by
meta_sum() {
	(cd "$1" && find . -name '*.meta' | sort | xargs md5sum)
}

# --- disk full --------------------------------------------------------------

# small: 3000 records; big: 150000 random doubles, about 8 bytes a point
# packed (1.2 MB): more than a full 2 MB file system has left, less than an
# empty one has
make_batches() {
	seq 1 3000 | awk '{print "k" $1 % 3 "\t" $1 "\t" $1 * 1.5}' >small
	awk 'BEGIN {srand(7); for (i = 1; i <= 150000; i++)
	    printf "k%d\t%d\t%.17g\n", i % 3, 100000 + i, rand()}' >big
}

@test "disk full: og-pack fails clearly, the store reads as before, a later pack lands" {
	[ "$(id -u)" -eq 0 ] || skip "mounting a tmpfs needs root (the ulimit -f test stands in)"
	mkdir mnt
	mount -t tmpfs -o size=2m tmpfs mnt 2>/dev/null || skip "cannot mount a tmpfs here (the ulimit -f test stands in)"
	MNT=$SCRATCH/mnt
	make_batches
	og-pack mnt/st <small
	og-unpack mnt/st >before
	meta_before=$(meta_sum mnt/st)
	# fill what is left of the file system
	dd if=/dev/zero of=mnt/fill bs=4k 2>/dev/null || true
	run --separate-stderr og-pack mnt/st big
	refute_sanitizer
	assert_failure 1
	[ -z "$output" ]
	# the first write that fails: the list of keys being written, or data
	[[ "$stderr" =~ ^"og-pack: mnt/st/"(k[0-2]\.dat|\.og-dirty)": write error: No space left on device"$ ]] ||
	    { echo "stderr: $stderr"; return 1; }
	og-unpack mnt/st | cmp before -
	[ "$(meta_sum mnt/st)" = "$meta_before" ]
	rm mnt/fill
	run og-pack mnt/st big
	assert_success
	sort -t "$(printf '\t')" -k1,1 -k2,2n small big | awk -F'\t' '{
	    v = $3 + 0; print $1 "\t" $2 "\t" v}' >want
	og-unpack mnt/st | awk -F'\t' '{v = $3 + 0; print $1 "\t" $2 "\t" v}' | cmp want -
	[ "$(og-unpack mnt/st | wc -l)" -eq 153000 ]
}

@test "a file size limit (ulimit -f): og-pack fails clearly, the store reads as before" {
	make_batches
	og-pack st <small
	og-unpack st >before
	meta_before=$(meta_sum st)
	run --separate-stderr bash -c 'trap "" XFSZ; ulimit -f 256; og-pack st big'
	refute_sanitizer
	assert_failure 1
	[ -z "$output" ]
	[[ "$stderr" =~ ^"og-pack: st/k"[0-2]".dat: write error: File too large"$ ]] ||
	    { echo "stderr: $stderr"; return 1; }
	og-unpack st | cmp before -
	[ "$(meta_sum st)" = "$meta_before" ]
	# the failed pack took back what it wrote past the committed ends
	[ "$(cat st/*.dat | wc -c)" -lt 100000 ]
	run og-pack st big
	assert_success
	[ "$(og-unpack st | wc -l)" -eq 153000 ]
}

# --- concurrency ------------------------------------------------------------
# og-pack.bats has two writers of different keys at once and one reader
# during packs made one after the other.  Here four writers at once append
# to the same keys, while two readers loop.

@test "four writers at once on the same keys, two readers looping: no lost batch, no torn read" {
	# writer w packs batches w.1 w.2 w.3; batch b: 4000 records over four
	# keys, times b * 100000 + i, every value the batch's number
	for w in 1 2 3 4; do
		for r in 1 2 3; do
			b=$((w * 10 + r))
			seq 1 4000 | awk -v b=$b '{print "k" $1 % 4 "\t" b * 100000 + $1 "\t" b}' >batch$b
		done
	done
	mkdir -p st
	: >done
	reader() {	# N: reads until the writers are done; any torn read is an error
		local n=0
		while :; do
			og-unpack st >read$1 2>err$1 || { echo "reader $1: og-unpack failed: $(cat err$1)"; return 1; }
			awk -F'\t' '{c[$3]++}
			    END {for (b in c) if (c[b] != 4000) {print "torn batch " b ": " c[b]; exit 1}}' read$1 ||
			    return 1
			n=$((n + 1))
			[ ! -s done ] || break
		done
		echo "$n" >reads$1
	}
	reader 1 & r1=$!
	reader 2 & r2=$!
	pids=
	for w in 1 2 3 4; do
		( for r in 1 2 3; do og-pack st <batch$((w * 10 + r)) || exit 1; done ) &
		pids="$pids $!"
	done
	fail=0
	for p in $pids; do wait "$p" || fail=1; done
	echo done >done
	wait "$r1" || fail=1
	wait "$r2" || fail=1
	[ "$fail" -eq 0 ]
	echo "reads: $(cat reads1) and $(cat reads2)"
	# every batch exactly once
	og-unpack st | awk -F'\t' '{c[$3]++} END {for (b in c) print b "\t" c[b]}' | sort -n >got
	for w in 1 2 3 4; do for r in 1 2 3; do printf '%d.0\t4000\n' $((w * 10 + r)); done; done >want
	diff want got
	run og-unpack -l st
	assert_output "$(printf 'k0\t12000\t1100004\t4304000\nk1\t12000\t1100001\t4303997\nk2\t12000\t1100002\t4303998\nk3\t12000\t1100003\t4303999')"
}

# --- valgrind ---------------------------------------------------------------

# vg TOOL ARG...: the tool under valgrind memcheck; a memory error or a
# definite leak exits 99.  og-pack's encoding threads live to the exit:
# their thread blocks are only "possibly lost", and not shown.
vg() {
	valgrind -q --error-exitcode=99 --leak-check=full \
	    --errors-for-leak-kinds=definite --show-possibly-lost=no \
	    "$OG_BIN/$@"
}

need_valgrind() {
	case $OG_BIN in
	*/asan) skip "valgrind and ASan do not mix: valgrind runs on bin/ only" ;;
	esac
	command -v valgrind >/dev/null || skip "no valgrind"
}

@test "valgrind: og-pack and og-unpack" {
	need_valgrind
	gzip -dc "$DATA/elec_power_min_1sensor.tsv.gz" | head -n 5000 >in
	rec k 1 1 k 2 nan k 3 -0.0 b 5 1e-300 >>in
	run --separate-stderr vg og-pack st in
	[ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
	[ -z "$stderr" ]
	# a second batch appends to the tail chunks
	rec k 4 4 k 0 0 >in2
	run --separate-stderr vg og-pack st in2
	[ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
	for opts in "" "-m" "-l -T" "-s 1507400000 -e 1507500000 -T" "-x"; do
		run --separate-stderr vg og-unpack $opts st
		[ "$status" -eq 0 ] || { echo "og-unpack $opts: $stderr"; return 1; }
		[ -z "$stderr" ]
		[ -n "$output" ]
		diff <(og-unpack $opts st) <(printf '%s\n' "$output")
	done
	# error paths: a bad line, a damaged file, an unknown key
	printf 'k\tx\t1\n' >bad
	run --separate-stderr vg og-pack st bad
	[ "$status" -eq 1 ]
	[ "$stderr" = "og-pack: bad:1: bad time 'x'" ]
	printf 'Z' | dd of=st/b.dat bs=1 seek=45 conv=notrunc 2>/dev/null
	run --separate-stderr vg og-unpack st b nokey
	[ "$status" -eq 1 ]
	[ "$stderr" = "$(printf 'og-unpack: nokey: no such key\nog-unpack: st/b.dat: offset 0: checksum mismatch')" ]
}

@test "valgrind: og-metric with -i, -a, -d, -w, -P, -M and -x, --partial and --merge" {
	need_valgrind
	gzip -dc "$DATA/electricity_2016_hour.tsv.gz" | head -n 3000 >in
	# two energy counters of one site, import and PV
	awk -F'\t' '{s += $3; p += $3 / 3; print $1 "\t" $2 "\t" s; print "pv\t" $2 "\t" p}' in >counter
	printf 'e1de\tA\tgridImport\telectricity\tWh\npv\tA\tpvProd\telectricity\tWh\n' >meta
	check() {	# INPUT OPTIONS...: same bytes as without valgrind, no report
		local input=$1
		shift
		run --separate-stderr vg og-metric "$@" "$input"
		[ "$status" -eq 0 ] || { echo "og-metric $*: $stderr"; return 1; }
		[ -z "$stderr" ]
		diff <(og-metric "$@" "$input") <(printf '%s\n' "$output")
		[ -n "$output" ]
	}
	check in -i 1d -a mean,min,max,p95,median,count
	check in -i 1mo -z Europe/Brussels -T
	check in -i 1d -w 01:00-06:00 -a min
	check in -P 1h
	check in -i 1h -u -a sum
	check counter -d -i 1d
	check counter -d -r -i 1d -g 7200
	check counter -d -i 1d -M meta -x 'siteCons=gridNet+gridImport+pvProd-gridExport+gridCons' -x 'self=pvProd/2'
	check in -i 1d -a mean,p50 --partial
	og-metric -i 1d -a mean,p50 --partial in >part
	check part -i 1d -a mean,p50 --merge
	# error paths: a bad expression and a bad record
	run --separate-stderr vg og-metric -i 1h -M meta -x 'x=gridNet*pvProd' in
	[ "$status" -eq 2 ]
	[ "$stderr" = "og-metric: bad metric 'x=gridNet*pvProd': product of two categories at 'pvProd'" ]
	printf 'k\t1\tabc\n' >bad
	run --separate-stderr vg og-metric -i 1h bad
	[ "$status" -eq 1 ]
	[ "$stderr" = "og-metric: bad:1: bad value 'abc'" ]
}

@test "valgrind: og-meta" {
	need_valgrind
	SHEET=$TOP/pipelines/sample/sheet.csv
	for opts in "" "-H -f sensor,token,site" "-l sites -c gridGas" "-S gent -t electricity"; do
		run --separate-stderr vg og-meta $opts "$SHEET"
		[ "$status" -eq 0 ] || { echo "og-meta $opts: $stderr"; return 1; }
		[ -z "$stderr" ]
		diff <(og-meta $opts "$SHEET") <(printf '%s\n' "$output")
	done
	printf 'sensor,site,category\na,x,gridNet\nb,x,"never closed\n' >bad.csv
	run --separate-stderr vg og-meta bad.csv
	[ "$status" -eq 1 ]
	[ "$stderr" = "og-meta: bad.csv:3: unterminated quoted field in column 'category'" ]
}

@test "valgrind: og-metric's degree days and og-fit, collinear candidates and errors" {
	need_valgrind
	gzip -dc "$DATA/weather_2016_hour.tsv.gz" >weather
	grep '^temperature' weather >temps
	run --separate-stderr vg og-metric -i 1d --hdd 12,16.5,18 --cdd 22 temps
	[ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
	[ -z "$stderr" ]
	diff <(og-metric -i 1d --hdd 12,16.5,18 --cdd 22 temps) <(printf '%s\n' "$output")
	printf '%s\n' "$output" >days
	og-metric -i 1d weather >>days
	awk -F'\t' '$1 == "temperature/HDD_16.5" {
		printf "double\t%s\t%.17g\n", $2, 2 * $3 }' days >>days
	run --separate-stderr vg og-fit -y humidity -m model days
	[ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
	[ "$stderr" = "og-fit: double: a linear combination of the model's terms: passed over" ]
	diff <(og-fit -y humidity days 2>/dev/null) <(printf '%s\n' "$output")
	[ "$(wc -l <model)" -gt 2 ]
	run --separate-stderr vg og-fit -y humidity -x windSpeed -x cdd days
	[ "$status" -eq 1 ]
	[ "$stderr" = "og-fit: no records of the -x key 'cdd'" ]
}

@test "valgrind: og-pull against the stand-in, tmpo and api, with a bad block and a wrong token" {
	need_valgrind
	python3 "$BATS_TEST_DIRNAME/flukso_server.py" serve --tokens "$DATA/pull/tokens" \
	    --port-file port "$DATA/flukso-tmpo" >/dev/null 2>server.err 3>&- &
	SERVER_PID=$!
	for i in $(seq 100); do [ -s port ] && break; sleep 0.1; done
	[ -s port ] || { cat server.err; return 1; }
	export OG_API_URL=http://127.0.0.1:$(cat port) OG_PULL_BACKOFF=0.05
	tokens() { awk '{print $1 "\t" $2}' "$DATA/pull/tokens"; }
	# recent level 8 blocks of both sensors
	tokens | sed 's/$/\t1404224768/' >in
	run --separate-stderr vg og-pull -j 2 <in
	[ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
	[ -z "$stderr" ]
	diff <(og-pull -j 2 <in) <(printf '%s\n' "$output")
	[ "${#lines[@]}" -gt 10 ]
	# all blocks: the malformed real ones are salvaged, but the one that is
	# not JSON (exit 1), by name
	tokens >in
	run --separate-stderr vg og-pull -j 4 <in
	[ "$status" -eq 1 ] || { echo "$stderr"; return 1; }
	! grep -q '^==' <<<"$stderr"
	[ "$(printf '%s\n' "$stderr" | grep -c ': salvaged: ')" -eq 17 ]
	[ "$(printf '%s\n' "$stderr" | grep -c ': bad JSON at byte ')" -eq 1 ]
	# a wrong token, and a token file
	printf '%s\twrongtoken\t1404224768\n' $FED >in
	run --separate-stderr vg og-pull <in
	[ "$status" -eq 1 ]
	[ "$stderr" = "og-pull: $FED: HTTP 401" ]
	awk '{print $1 " " $2}' "$DATA/pull/tokens" >tk
	chmod 600 tk
	printf '%s\t1404225700\n' $FED >in
	run --separate-stderr vg og-pull -K tk -m api -r hour <in
	[ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
	[ -z "$stderr" ]
	diff <(og-pull -K tk -m api -r hour <in) <(printf '%s\n' "$output")
}
