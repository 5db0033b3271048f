#!/usr/bin/env bats
# Hostile and bad input, tool by tool: each class of bad input gives its
# exact message on stderr and its exit status, and changes nothing it should
# not.  tests/README.md tables every class and the test that asserts it
# (here or in the other bats files).  Rows marked "needs fixing" there are
# asserted as the tools behave today.

load helper

setup() { setup_scratch; }

# fails STATUS MESSAGE CMD...: CMD, stdin from the file in (or /dev/null),
# exits STATUS with exactly MESSAGE on stderr and nothing on stdout.
fails() {
	local want_status=$1 want=$2
	shift 2
	[ -f in ] || : >in
	run --separate-stderr "$@" <in
	refute_sanitizer
	if [ "$status" -ne "$want_status" ] || [ "$stderr" != "$want" ] || [ -n "$output" ]; then
		printf 'command: %s\nstatus %s, want %s\nstderr: %s\nwant:   %s\nstdout: %s\n' \
		    "$*" "$status" "$want_status" "$stderr" "$want" "$output"
		return 1
	fi
}

# usage_fails TOOL ARG...: exit 2, the synopsis on stderr, after MESSAGE
# lines from getopt if any; stdin empty.
usage_fails() {
	local tool=$1
	run --separate-stderr "$@" </dev/null
	refute_sanitizer
	[ "$status" -eq 2 ] || { echo "$*: status $status"; return 1; }
	[ -z "$output" ]
	[[ "$stderr" == *"usage: $tool "* ]] || { echo "$*: $stderr"; return 1; }
}

# the bytes of a store's data and meta files
store_sum() {
	(cd "$1" && find . -name '*.dat' -o -name '*.meta' | sort | xargs md5sum)
}

LONGKEY=$(printf 'a%.0s' $(seq 256))
LONGKEY40=$(printf 'a%.0s' $(seq 40))
ID=fed676021dacaaf6a12a8dda7685be34	# a Flukso sensor id: 32 hex digits

# --- og-pack ----------------------------------------------------------------

@test "og-pack: every kind of bad record line names input and line; the store is unchanged" {
	rec k 1 1 | og-pack st
	before=$(store_sum st)
	check() {	# LINE MESSAGE
		{ rec k 2 2 j 2 2; printf "$1\n"; } >in
		fails 1 "og-pack: <stdin>:3: $2" og-pack st
		fails 1 "og-pack: in:3: $2" og-pack st in
	}
	check '' 'empty line'
	check 'k' 'missing TIME and VALUE fields'
	check 'k\t5' 'missing VALUE field'
	check '\t5\t1' 'empty key'
	check 'k\t5\t1\t2' 'more than three fields'
	check 'k\t5\t1\t' 'more than three fields'
	check 'k\t5\t1\r' 'CR at end of line (DOS line ends?)'
	check 'k\tabc\t1' "bad time 'abc'"
	check 'k\t\t1' "bad time ''"
	check 'k\t 5\t1' "bad time ' 5'"
	check 'k\t12.5\t1' "bad time '12.5'"
	check 'k\t9223372036854775808\t1' "bad time '9223372036854775808'"
	check 'k\t2016-03-27T03:00:00\t1' "bad time '2016-03-27T03:00:00'"
	check 'k\t2016-02-30T03:00:00Z\t1' "bad time '2016-02-30T03:00:00Z'"
	check 'k\t5\t' "bad value ''"
	check 'k\t5\tabc' "bad value 'abc'"
	check 'k\t5\t 1' "bad value ' 1'"
	check 'k\t5\t1,5' "bad value '1,5'"
	check 'k\t5\tinf' "bad value 'inf'"
	check 'k\t5\t1e999' "bad value '1e999'"
	check 'k\t5\t0x10' "bad value '0x10'"
	check 'k\t5\t\377' "bad value '\\377'"
	check 'a b\t5\t1' "bad key (space or control byte) 'a b'"
	check 'k \t5\t1' "bad key (space or control byte) 'k '"
	check 'a\001b\t5\t1' "bad key (space or control byte) 'a\\001b'"
	check '\303\251\t5\t1' "bad key (space or control byte) '\\303\\251'"
	check "$LONGKEY\t5\t1" "key longer than 255 bytes: '$LONGKEY40...'"
	# a NUL byte inside the key
	{ rec k 2 2 j 2 2; printf 'k\0x\t5\t1\n'; } >in
	fails 1 "og-pack: <stdin>:3: bad key (space or control byte) 'k\\000x'" og-pack st
	[ "$(store_sum st)" = "$before" ]
	run og-unpack st
	assert_output "$(rec k 1 1.0)"
}

@test "og-pack: the extremes of time and value that are valid are taken" {
	rec k -9223372036854775808 1 k -9223372036854775807 -0.0 \
	    j 5 nan j 6 NaN j 7 1e-320 j 9223372036854775806 -1.7976931348623157e308 >in
	run og-pack st in
	assert_success
	assert_output ""
	run og-unpack st
	assert_success
	assert_output "$(rec j 5 nan j 6 nan j 7 1e-320 j 9223372036854775806 -1.7976931348623157e+308 \
	    k -9223372036854775808 1.0 k -9223372036854775807 -0.0)"
}

@test "og-pack: times at the ends of the 64-bit range are kept and printed" {
	# a record at the largest time is stored and printed (no -e: no end)
	rec k 0 1 k 9223372036854775807 2 | og-pack st
	run og-unpack -l st
	assert_output "$(printf 'k\t2\t0\t9223372036854775807')"
	run og-unpack st
	assert_success
	assert_output "$(rec k 0 1.0 k 9223372036854775807 2.0)"
	# one batch spanning more than 2^63 seconds: steps are unsigned
	rec k -9223372036854775808 0 k -1 1 k 9223372036854775807 2 >in
	og-pack st2 in
	run og-unpack st2
	assert_success
	assert_output "$(rec k -9223372036854775808 0.0 k -1 1.0 k 9223372036854775807 2.0)"
	rec k 5 5 | og-pack st2
	run og-unpack -l st2
	assert_output "$(printf 'k\t4\t-9223372036854775808\t9223372036854775807')"
	# -T prints what it cannot write as a date in years 0 to 9999 as Unix
	# seconds, and the other keys as dates
	rec k1 -9223372036854775808 1 k1 -62167305601 2 k2 1459040400 3 \
	    k3 253402300800 4 k3 9223372036854775807 5 | og-pack st3
	run --separate-stderr og-unpack -T st3
	assert_success
	[ -z "$stderr" ]
	assert_output "$(rec k1 -9223372036854775808 1.0 k1 -62167305601 2.0 \
	    k2 2016-03-27T03:00:00+02:00 3.0 k3 253402300800 4.0 k3 9223372036854775807 5.0)"
	run --separate-stderr og-unpack -l -T st3
	assert_success
	assert_output "$(printf 'k1\t2\t-9223372036854775808\t-62167305601\nk2\t1\t2016-03-27T03:00:00+02:00\t2016-03-27T03:00:00+02:00\nk3\t2\t253402300800\t9223372036854775807')"
	# the first and last seconds that are dates, in a zone east and west
	rec k 253402300799 1 k -62167219200 2 | og-pack st4
	run env TZ=UTC og-unpack -T st4
	assert_output "$(rec k 0000-01-01T00:00:00+00:00 2.0 k 9999-12-31T23:59:59+00:00 1.0)"
}

@test "og-pack: bad operands and store paths" {
	usage_fails og-pack
	usage_fails og-pack -Q st
	run --separate-stderr og-pack -Q st </dev/null
	assert_equal "${stderr_lines[0]}" "og-pack: invalid option -- 'Q'"
	rec k 1 1 >in
	fails 1 "og-pack: nosuch: No such file or directory" og-pack st nosuch
	fails 1 "og-pack: nosuch: No such file or directory" og-pack st in nosuch
	[ ! -e st/k.meta ]
	mkdir d
	fails 1 "og-pack: d: read error: Is a directory" og-pack st d
	[ ! -e st/k.meta ]
	echo plain >file
	fails 1 "og-pack: file: Not a directory" og-pack file
	fails 1 "og-pack: no/such/dir: No such file or directory" og-pack no/such/dir
	# an empty STORE operand is a usage error
	run --separate-stderr og-pack ''
	[ "$status" -eq 2 ]
	[[ "$stderr" == "usage: og-pack "* ]]
}

# damaged KEY N: the second line og-pack prints for a damaged key
damaged() {
	printf 'og-pack: %s: %s not stored: its files are damaged (og-pack -R repairs them)' \
	    "$1" "$2"
}

@test "og-pack: a damaged key is named and not packed into; the batch's other keys are" {
	rec a 1 1 b 1 2 >in
	og-pack st <in
	echo junk >st/z.meta
	rec z 2 2 g 1 1 >in
	fails 1 "og-pack: st/z.meta: not a meta file
$(damaged z '1 record')" og-pack st
	[ "$(cat st/z.meta)" = junk ]
	run og-unpack st g
	assert_output "$(rec g 1 1.0)"
	: >st/z.meta
	fails 1 "og-pack: st/z.meta: not a meta file
$(damaged z '1 record')" og-pack st
	rm st/z.meta st/g.*
	# a meta file copied over another key's
	cp -a st st.good
	cp st/b.meta st/a.meta
	rec a 2 2 a 3 3 >in
	fails 1 "og-pack: st/a.meta: holds key 'b', not the one its name says
$(damaged a '2 records')" og-pack st
	rm -rf st && cp -a st.good st
	printf 'Q' | dd of=st/b.meta bs=1 seek=9 conv=notrunc 2>/dev/null
	rec b 2 2 a 2 2 >in
	fails 1 "og-pack: st/b.meta: meta file checksum mismatch
$(damaged b '1 record')" og-pack st
	run og-unpack st a
	assert_output "$(rec a 1 1.0 a 2 2.0)"
	rm -rf st && cp -a st.good st
	printf 'Z' | dd of=st/b.dat bs=1 seek=45 conv=notrunc 2>/dev/null
	before=$(store_sum st)
	rec b 2 2 >in
	fails 1 "og-pack: st/b.dat: offset 0: checksum mismatch
$(damaged b '1 record')" og-pack st
	[ "$(store_sum st)" = "$before" ]
}

@test "og-pack: a truncated or missing data file is named and left as it is" {
	rec a 1 1 b 1 2 | og-pack st
	cp -a st st.good
	truncate -s 10 st/a.dat
	rec a 3 3 >in
	fails 1 "og-pack: st/a.dat: 10 bytes, shorter than the 60 its meta file counts: damaged
$(damaged a '1 record')" og-pack st
	[ "$(stat -c %s st/a.dat)" -eq 10 ]
	rm -rf st && cp -a st.good st
	rm st/a.dat
	fails 1 "og-pack: st/a.dat: No such file or directory
$(damaged a '1 record')" og-pack st
	[ ! -e st/a.dat ]
}

@test "og-pack: a symlinked data file is refused, its target left alone" {
	rec a 1 1 | og-pack st
	echo keep >victim
	ln -s ../victim st/k.dat
	rec k 1 1 >in
	fails 1 "og-pack: st/k.dat: Too many levels of symbolic links
$(damaged k '1 record')" og-pack st
	[ "$(cat victim)" = keep ]
	rm st/k.dat
	ln -s "$SCRATCH/elsewhere" st/j.dat
	rec j 1 1 >in
	fails 1 "og-pack: st/j.dat: Too many levels of symbolic links
$(damaged j '1 record')" og-pack st
	[ ! -e elsewhere ]
	rm st/j.dat
	run og-unpack st
	assert_output "$(rec a 1 1.0)"
	# a symlinked meta file is refused, its target left alone
	echo keep >victim2
	ln -s ../victim2 st/m.meta
	rec m 1 1 >in
	fails 1 "og-pack: st/m.meta: Too many levels of symbolic links
$(damaged m '1 record')" og-pack st
	[ "$(cat victim2)" = keep ]
}

@test "og-pack, og-unpack: a directory that is not a store is refused and left as it is" {
	mkdir notes
	echo mine >notes/todo.txt
	rec k 1 1 >in
	fails 1 "og-pack: notes: not a store" og-pack notes
	fails 1 "og-unpack: notes: not a store" og-unpack notes
	fails 1 "og-unpack: notes: not a store" og-unpack -l notes
	[ "$(ls -A notes)" = todo.txt ]
	# names og-pack would make, but not made by og (no lock files)
	mkdir fake
	touch fake/a.meta fake/a.dat
	fails 1 "og-pack: fake: not a store" og-pack fake
	fails 1 "og-unpack: fake: not a store" og-unpack -l fake
	# a marker of another format, or not a marker
	og-pack st <in
	echo 'og-store 2' >st/.og-store
	fails 1 "og-unpack: st: a store of format 2, which this og does not know" og-unpack st
	fails 1 "og-pack: st: a store of format 2, which this og does not know" og-pack st
	echo junk >st/.og-store
	fails 1 "og-unpack: st/.og-store: not a store marker" og-unpack st
}

@test "og-pack, og-unpack: an empty directory, or one of other dot files only, is an empty store" {
	mkdir empty cache
	run --separate-stderr og-unpack -l empty
	assert_success
	[ -z "$output$stderr" ]
	[ -z "$(ls -A empty)" ]
	# job_sync's shard mark and lock, job_daily's cache key, kept as they are
	echo '1 of 3' >cache/.fleet
	echo secret >cache/.label-key
	: >cache/.job_daily.lock
	run og-unpack -l cache
	assert_success
	assert_output ""
	rec k 1 1 | og-pack cache
	[ "$(cat cache/.fleet)" = '1 of 3' ]
	[ "$(cat cache/.label-key)" = secret ]
	[ "$(cat cache/.og-store)" = 'og-store 1' ]
	run og-unpack -l cache
	assert_output "$(printf 'k\t1\t1\t1')"
}

@test "og-pack, og-unpack: a store an earlier og made is read, and adopted by the next pack" {
	rec a 1 1 b 1 2 | og-pack st
	rm st/.og-store
	# what a killed pack of that og left: a tail and an orphan .new file
	printf 'tail' >>st/a.dat
	cp st/a.meta st/a.meta.new
	run og-unpack st
	assert_success
	assert_output "$(rec a 1 1.0 b 1 2.0)"
	rec c 1 3 | og-pack st
	[ "$(cat st/.og-store)" = 'og-store 1' ]
	[ "$(stat -c %s st/a.dat)" -eq 60 ]
	[ ! -e st/a.meta.new ]
	run og-unpack st
	assert_output "$(rec a 1 1.0 b 1 2.0 c 1 3.0)"
}

@test "og-unpack: a store nested in another's tree gives no keys glued from its path" {
	rec k 1 1 | og-pack st
	mkdir -p st/sub/deeper
	rec k 2 2 | og-pack st/sub/deeper/ds
	run og-unpack -l st
	assert_success
	assert_output "$(printf 'k\t1\t1\t1')"
	run og-unpack st subdeeperdsk
	assert_failure 1
	assert_output "og-unpack: subdeeperdsk: no such key"
	run og-unpack st/sub/deeper/ds
	assert_output "$(rec k 2 2.0)"
}

# --- og-unpack --------------------------------------------------------------

@test "og-unpack: bad options, times and operands" {
	rec a 1 1 b 1 2 | og-pack st
	usage_fails og-unpack
	usage_fails og-unpack -l -m st
	usage_fails og-unpack -p st
	usage_fails og-unpack -p -l st
	usage_fails og-unpack -s
	run --separate-stderr og-unpack -s </dev/null
	assert_equal "${stderr_lines[0]}" "og-unpack: option requires an argument -- 's'"
	fails 1 "og-unpack: bad time ''" og-unpack -s '' st
	fails 1 "og-unpack: bad time 'yesterday'" og-unpack -e yesterday st
	fails 1 "og-unpack: bad time '2016-02-30T00:00:00Z'" og-unpack -e 2016-02-30T00:00:00Z st
	fails 1 "og-unpack: bad time '99999999999999999999'" og-unpack -s 99999999999999999999 st
	fails 1 "og-unpack: nostore: No such file or directory" og-unpack nostore
	echo plain >file
	fails 1 "og-unpack: file: Not a directory" og-unpack file
	# an empty range is no records, not an error
	run og-unpack -s 5 -e 3 st
	assert_success
	assert_output ""
	# -l counts from the meta files alone: a range is a usage error
	run --separate-stderr og-unpack -l -s 5 st
	[ "$status" -eq 2 ]
	[[ "$stderr" == "usage: og-unpack "* ]]
}

@test "og-unpack: hostile key arguments are refused or not found, never read outside the store" {
	rec a 1 1 | og-pack st
	echo 'x	1	1' >secret.meta
	fails 1 "og-unpack: bad key ''" og-unpack st ''
	fails 1 "og-unpack: bad key 'a b'" og-unpack st 'a b'
	fails 1 "og-unpack: bad key '$LONGKEY40'" og-unpack st "$LONGKEY"
	fails 1 "og-unpack: ../secret: no such key" og-unpack st ../secret
	fails 1 "og-unpack: /etc/passwd: no such key" og-unpack st /etc/passwd
	fails 1 "og-unpack: ..: no such key" og-unpack st ..
	run --separate-stderr og-unpack st ../secret a
	assert_failure 1
	assert_output "$(rec a 1 1.0)"
}

@test "og-unpack: damaged and foreign files in the store" {
	rec a 1 1 b 1 2 | og-pack st
	cp -a st st.good
	# files that are no part of a store are passed over
	touch st/junk st/.hidden
	mkdir st/c.meta
	run --separate-stderr og-unpack st
	assert_success
	assert_output "$(rec a 1 1.0 b 1 2.0)"
	[ -z "$stderr" ]
	rm -rf st && cp -a st.good st
	echo hi >st/zz.meta
	run --separate-stderr og-unpack st
	assert_failure 1
	assert_output "$(rec a 1 1.0 b 1 2.0)"
	assert_equal "$stderr" "og-unpack: st/zz.meta: not a meta file"
	ln -sf /etc/passwd st/zz.meta
	run --separate-stderr og-unpack st
	assert_failure 1
	assert_equal "$stderr" "og-unpack: st/zz.meta: Too many levels of symbolic links"
	rm -rf st && cp -a st.good st
	: >st/a.meta
	run --separate-stderr og-unpack st
	assert_failure 1
	assert_output "$(rec b 1 2.0)"
	assert_equal "$stderr" "og-unpack: st/a.meta: not a meta file"
	rm -rf st && cp -a st.good st
	truncate -s 40 st/a.meta
	fails 1 "og-unpack: st/a.meta: meta file checksum mismatch" og-unpack st a
	rm -rf st && cp -a st.good st
	rm st/a.dat
	fails 1 "og-unpack: st/a.dat: No such file or directory" og-unpack st a
	rm -rf st && cp -a st.good st
	cp st/b.meta st/a.meta
	run --separate-stderr og-unpack st
	assert_failure 1
	assert_output "$(rec b 1 2.0)"
	assert_equal "$stderr" "og-unpack: st/a.meta: holds key 'b', not the one its name says"
}

@test "og-unpack: a failed write to stdout is an error in every mode; -h of every tool too" {
	[ -w /dev/full ] || skip "no /dev/full"
	rec k 1 1 k 2 2 | og-pack st
	for opts in "" "-m" "-l" "-T"; do
		run --separate-stderr sh -c "og-unpack $opts st >/dev/full"
		refute_sanitizer
		assert_failure 1
		assert_equal "$stderr" "og-unpack: <stdout>: write error: No space left on device"
	done
	for t in og-pack og-unpack og-metric og-meta og-pull og-fit; do
		run --separate-stderr sh -c "$t -h >/dev/full"
		refute_sanitizer
		assert_failure 1
		assert_equal "$stderr" "$t: <stdout>: write error: No space left on device"
	done
}

# --- og-metric --------------------------------------------------------------

@test "og-metric: bad option values are usage errors with the reason" {
	rec k 1 1 >in
	fails 2 "og-metric: bad interval '' (Ns, Nmin, Nh, Nd, Nw, Nmo or Ny)" og-metric -i ''
	fails 2 "og-metric: bad interval '-1h' (Ns, Nmin, Nh, Nd, Nw, Nmo or Ny)" og-metric -i -1h
	fails 2 "og-metric: bad interval '1x' (Ns, Nmin, Nh, Nd, Nw, Nmo or Ny)" og-metric -i 1x
	fails 2 "og-metric: bad interval '99999999999999999999s' (Ns, Nmin, Nh, Nd, Nw, Nmo or Ny)" og-metric -i 99999999999999999999s
	fails 2 "og-metric: bad aggregate '' (mean min max sum count first last pNN median)" og-metric -i 1h -a mean,
	fails 2 "og-metric: bad aggregate 'bogus' (mean min max sum count first last pNN median)" og-metric -i 1h -a bogus
	fails 2 "og-metric: bad gap 'abc' (seconds)" og-metric -i 1h -g abc
	fails 2 "og-metric: bad gap '-5' (seconds)" og-metric -i 1h -g -5
	fails 2 "og-metric: bad window '25:00-06:00' (HH:MM-HH:MM)" og-metric -i 1h -w 25:00-06:00
	fails 2 "og-metric: bad window '01:00' (HH:MM-HH:MM)" og-metric -i 1h -w 01:00
	fails 2 "og-metric: bad profile interval '7min' (Ns, Nmin or Nh dividing a day)" og-metric -P 7min
	fails 2 "og-metric: -a, -d, -D, -r, -u, -x, --partial and --merge need -i or -P" og-metric --merge
	fails 2 "og-metric: -a, -d, -D, -r, -u, -x, --partial and --merge need -i or -P" og-metric -r
	fails 2 "og-metric: -M needs -x, -r, -d or -D" og-metric -i 1h -M nosuch
	fails 2 "og-metric: unknown time zone 'Mars/Olympus'" og-metric -i 1h -z Mars/Olympus
	fails 2 "og-metric: unknown time zone '../../etc/passwd'" og-metric -i 1h -z ../../etc/passwd
	usage_fails og-metric -i 1h --bogus
	run --separate-stderr og-metric -i 1h --bogus </dev/null
	assert_equal "${stderr_lines[0]}" "og-metric: unrecognized option '--bogus'"
	fails 1 "og-metric: nosuch: No such file or directory" og-metric -i 1h nosuch
	fails 1 "og-metric: /: read error: Is a directory" og-metric -i 1h /
}

@test "og-metric: bad metric expressions" {
	printf 's1\tA\tgridImport\telectricity\tWh\n' >meta
	rec s1 1 1 >in
	bad() { fails 2 "og-metric: bad metric '$1': $2" og-metric -i 1h -M meta -x "$1"; }
	bad '=gridImport' 'empty metric name'
	bad 'a b=gridImport' "expected NAME=EXPR at 'b=gridImport'"
	bad 'a/b=gridImport' "expected NAME=EXPR at '/b=gridImport'"
	bad "$LONGKEY=gridImport" 'metric name too long'
	bad 'x=' 'expected a category or a number at end'
	bad 'x=(gridImport)' "expected a category or a number at '(gridImport)'"
	bad 'x=gridImport=gridImport' "expected + or - at '=gridImport'"
	bad 'x=1.2.3*gridImport' "bad number at '1.2.3*gridImport'"
	bad 'x=1e999*gridImport' "bad factor '1e999' (not a finite number)"
	bad 'x=nan*gridImport' "bad factor 'nan' (not a finite number)"
	bad 'x=inf*gridImport' "bad factor 'inf' (not a finite number)"
	# what is valid: unary minus, factors, division by a number, long sums
	run og-metric -i 1h -M meta -x 'x=-gridImport' -x 'y=2*gridImport-0.5*gridImport' -x 'z=gridImport/2' in
	assert_success
	assert_output "$(rec A/x 0 -1.0 A/y 0 1.5 A/z 0 0.5)"
	long="x=$(printf 'gridImport+%.0s' $(seq 200))gridImport"
	run og-metric -i 1h -M meta -x "$long" in
	assert_success
	assert_output "$(rec A/x 0 201.0)"
}

@test "og-metric: bad sheet files given by -M" {
	rec s1 1 1 >in
	printf 's 1\tA\tgridImport\telectricity\tWh\n' >meta
	fails 1 "og-metric: meta:1: bad sensor 's 1'" og-metric -i 1h -M meta -x x=gridImport
	fails 1 "og-metric: /: read error: Is a directory" og-metric -i 1h -M / -x x=gridImport
	fails 1 "og-metric: nosuch: No such file or directory" og-metric -i 1h -M nosuch -x x=gridImport
	printf 'site,sensor,category\nA,s1,gridImport\n' >sheet.csv
	fails 1 "og-metric: sheet.csv:1: a sheet (CSV), not og-meta's output: run 'og-meta SHEET >META' and give META" og-metric -i 1h -M sheet.csv -x x=gridImport
}

@test "og-metric: bad partial state and data that cannot be bucketed" {
	printf 'garbage\n' >in
	fails 1 "og-metric: <stdin>:1: bad partial state line" og-metric -i 1h --merge
	rec k 1 1 >in
	fails 1 "og-metric: <stdin>:1: bad nan count in partial state" og-metric -i 1h --merge
	rec k 2 1 k 1 1 >in
	fails 1 "og-metric: <stdin>:2: time 1 of key 'k' before 2 (-d needs each key in time order)" og-metric -d -i 1h
	rec k 1 1 k 5000 1 k 1 1 >in
	run --separate-stderr og-metric -i 1h <in
	assert_failure 1
	assert_equal "$stderr" "og-metric: <stdin>:3: time 1 of key 'k' falls in a bucket already written (sort the input by time per key, or use -u)"
}

# --- og-meta ----------------------------------------------------------------

@test "og-meta: bad options and sheet operands" {
	printf 'sensor,site,category\na,x,gridNet\n' >in
	fails 2 "og-meta: unknown category '' (valid: gridImport, gridExport, gridNet, gridCons, pvProd, gridSub, gridGas, gridWater, heatProd)" og-meta -c '' -
	fails 2 "og-meta: -f: empty field name in ''" og-meta -f '' -
	fails 1 "og-meta: <stdin>: no column 'nope' (the sheet has: sensor, site, category)" og-meta -f sensor,nope -
	fails 1 "og-meta: <stdin>: no site ''" og-meta -S '' -
	usage_fails og-meta -c
	usage_fails og-meta -t x
	fails 1 "og-meta: /: read error: Is a directory" og-meta /
	# a URL of another scheme is a file name
	fails 1 "og-meta: ftp://x/y: No such file or directory" og-meta ftp://x/y
}

@test "og-meta: hostile sheets" {
	sheet() { printf "$1" >in; }
	sheet 'sensor;site,category\na;x,gridNet\n'
	fails 1 "og-meta: <stdin>:1: missing column 'sensor' (the header has 'sensor;site', 'category')" og-meta -
	sheet '\xef\xbb\xbf\xef\xbb\xbfsensor,site\n'
	fails 1 "og-meta: <stdin>:1: missing column 'sensor': the header starts with a second UTF-8 byte order mark (BOM)" og-meta -
	sheet 'sensor,site,category\n"a\001",x,gridNet\n'
	fails 1 "og-meta: <stdin>:2: bad sensor 'a\\001': it names records, so it must be printable ASCII without spaces, at most 255 bytes" og-meta -
	sheet "sensor,site,category\n$LONGKEY,x,gridNet\n"
	fails 1 "og-meta: <stdin>:2: bad sensor '$(printf 'a%.0s' $(seq 48))...': it names records, so it must be printable ASCII without spaces, at most 255 bytes" og-meta -
	# path-like sensors and sites are only names: og-pack encodes them
	sheet 'sensor,site,category\n../etc,..,gridNet\n/abs,x,gridNet\n'
	run og-meta - <in
	assert_success
	assert_output "$(printf '../etc\t..\tgridNet\t-\t-\n/abs\tx\tgridNet\t-\t-')"
	# a token with a space or tab prints with spaces; og-pull refuses it
	sheet "sensor,site,category,token\n$ID,x,gridNet,\"s3 cr\tet\"\n"
	run og-meta -f sensor,token - <in
	assert_success
	assert_output "$(printf '%s\ts3 cr et' "$ID")"
	printf '%s\n' "$output" >in
	fails 1 "og-pull: <stdin>:1: $ID: bad token" og-pull -u http://127.0.0.1:1
}

# --- og-pull ----------------------------------------------------------------

@test "og-pull: bad option values" {
	fails 2 "og-pull: bad -j '65': 1 to 64" og-pull -j 65
	fails 2 "og-pull: bad -j 'x': 1 to 64" og-pull -j x
	fails 2 "og-pull: bad -t '0': seconds, more than 0 and at most 86400" og-pull -t 0
	fails 2 "og-pull: bad -t '-1': seconds, more than 0 and at most 86400" og-pull -t -1
	fails 2 "og-pull: bad -t 'x': seconds, more than 0 and at most 86400" og-pull -t x
	fails 2 "og-pull: bad -R 'x': a recycle id, 0 or more" og-pull -R x
	fails 2 "og-pull: bad -R '-1': a recycle id, 0 or more" og-pull -R -1
	fails 2 "og-pull: bad -U 'a b'" og-pull -m api -U 'a b'
	fails 2 "og-pull: bad time 'never'" og-pull -e never
	fails 2 "og-pull: -s START must be before -e END" og-pull -s 5 -e 5
	fails 2 "og-pull: : not an http or https URL" og-pull -u ''
	usage_fails og-pull -x
	usage_fails og-pull -s
	# -U is passed on as it is: the server may know units og does not
	run --separate-stderr og-pull -m api -U stones </dev/null
	assert_success
	[ -z "$stderr" ]
}

@test "og-pull: URLs that only look local are refused for plain http" {
	for u in http://127.0.0.1.evil.example/ http://localhost@evil.example/ \
	    'http://evil.example#@127.0.0.1/' HTTP://evil.example/; do
		fails 2 "og-pull: $u: plain http only to this machine (127.0.0.1, localhost, [::1]); use https" og-pull -u "$u"
	done
}

@test "og-pull: bad token lines on stdin never show the token" {
	check() {	# LINE MESSAGE
		printf "$1\n" >in
		fails 1 "og-pull: <stdin>:1: $2" og-pull -u http://127.0.0.1:1
	}
	check "$ID\ttok en" "$ID: bad token"
	check "$ID\t" "$ID: bad token"
	check "$ID\ttok\001en" "$ID: bad token"
	check "$ID\ttok\r" "$ID: bad token"
	check "$ID\t$(printf 'x%.0s' $(seq 300))" "$ID: bad token"
	check "$ID\ttok\t1\textra" "$ID: bad time '1"$'\t'"extra'"
	check 'no-tab-here' 'expected SENSOR TAB TOKEN [TAB SINCE]'
	# a bad sensor id is named as such, neither it nor the token shown
	# (it may be a token in the wrong column)
	local bad='bad sensor id (expected 32 hex digits)'
	check 'bad/id\ts3cr3t' "$bad"
	check '../x\ts3cr3t' "$bad"
	check "$LONGKEY\ts3cr3t" "$bad"
	check "$(printf 'a%.0s' $(seq 300))\ts3cr3t" "$bad"
	check "${ID}0\ts3cr3t" "$bad"
	check "${ID%?}g\ts3cr3t" "$bad"
	check "\ts3cr3t" "$bad"
	check "s3cr3ts3cr3ts3cr3t\t$ID" "$bad"
	# an empty line is passed over
	printf '\n' >in
	run --separate-stderr og-pull -u http://127.0.0.1:1 <in
	assert_success
	[ -z "$stderr$output" ]
}

@test "og-pull: bad token files" {
	printf '%s\n' "$ID" >in
	fails 1 "og-pull: nosuch: No such file or directory" og-pull -K nosuch
	printf '%s tok\n' "$ID" >tk
	chmod 640 tk
	fails 1 "og-pull: tk: token file readable by others (mode 0640); chmod 600 it" og-pull -K tk
	chmod 604 tk
	fails 1 "og-pull: tk: token file readable by others (mode 0604); chmod 600 it" og-pull -K tk
	printf '%s\n' "$ID" >tk
	chmod 600 tk
	fails 1 "og-pull: tk:1: expected SENSOR TOKEN" og-pull -u http://127.0.0.1:1 -K tk
	printf 's3cr3t %s\n' "$ID" >tk
	fails 1 "og-pull: tk:1: bad sensor id (expected 32 hex digits)" og-pull -u http://127.0.0.1:1 -K tk
	: >tk
	fails 1 "og-pull: <stdin>:1: $ID: no token in tk" og-pull -u http://127.0.0.1:1 -K tk
	printf '../x\n' >in
	fails 1 "og-pull: <stdin>:1: bad sensor id (expected 32 hex digits)" og-pull -u http://127.0.0.1:1 -K tk
	# a directory, open to all or not, or a pipe is not a token file
	mkdir tdir
	chmod 755 tdir
	fails 1 "og-pull: tdir: not a regular file" og-pull -K tdir
	chmod 700 tdir
	fails 1 "og-pull: tdir: not a regular file" og-pull -K tdir
	fails 1 "og-pull: /dev/null: not a regular file" og-pull -K /dev/null
}
