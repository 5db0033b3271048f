#!/usr/bin/env bats
# The record format, KEY<TAB>TIME<TAB>VALUE, as every tool reads and prints it.
# og-metric without an interval passes records through, checked, which makes
# it the plainest reader and printer of the format.

load helper

setup() { setup_scratch; }

@test "tricky values print back exactly as written" {
	printf 'k\t1\t%s\n' 0.1 1e-300 -0.0 0.0 155.8799999859184 \
	    157.4212893557831 208.63879598630592 450.0 5e-324 \
	    1.7976931348623157e+308 2.2250738585072014e-308 1e+16 \
	    9007199254740994.0 0.30000000000000004 123456.789 1e-05 0.0001 \
	    nan -1.5 >in
	run og-metric in
	assert_success
	assert_output "$(cat in)"
}

@test "numbers in other spellings print as the shortest exact decimal" {
	rec k 1 42 k 2 1e-3 k 3 -0.50 k 4 +7 k 5 .5 k 6 NaN k 7 1E2 \
	    k 8 0.1000000000000000055511151231257827 >in
	run og-metric in
	assert_success
	assert_output "$(rec k 1 42.0 k 2 0.001 k 3 -0.5 k 4 7.0 k 5 0.5 \
	    k 6 nan k 7 100.0 k 8 0.1)"
}

@test "every real opengrid record survives a read and print unchanged" {
	for f in "$DATA"/*.tsv.gz; do
		gzip -dc "$f" >in
		og-metric in >out
		cmp in out
	done
}

@test "a million random doubles print as Python's repr prints them" {
	python3 - <<'PY' >in
import random, struct
random.seed(11)
for i in range(300000):
    v = struct.unpack('d', struct.pack('Q', random.getrandbits(64)))[0]
    if v == v and abs(v) != float('inf'):
        print('k\t%d\t%r' % (i, v))
    print('k\t%d\t%r' % (i, random.uniform(-1e6, 1e6) * 10 ** random.randint(-9, 9)))
    print('k\t%d\t%r' % (i, round(random.uniform(0, 1e5), random.randint(0, 5))))
PY
	og-metric in >out
	cmp in out
}

@test "ISO 8601 times with offsets read as Unix seconds" {
	rec k 2016-03-27T03:00:00+02:00 1 k 2016-03-27T01:00:00Z 2 \
	    k 2016-03-27T02:00:00+0100 3 k 2016-10-30T02:30:00+01:00 4 \
	    k 2016-10-30T02:30:00+02:00 5 k 1970-01-01T00:00:00-00:30 6 >in
	run og-metric in
	assert_success
	assert_output "$(rec k 1459040400 1.0 k 1459040400 2.0 k 1459040400 3.0 \
	    k 1477791000 4.0 k 1477787400 5.0 k 1800 6.0)"
}

@test "-T prints local ISO 8601 across both DST changes, and reads back" {
	rec k 1459040399 1 k 1459040400 2 k 1477789199 3 k 1477789200 4 \
	    k 1477792800 5 >in
	run og-metric -T in
	assert_success
	assert_output "$(rec k 2016-03-27T01:59:59+01:00 1.0 \
	    k 2016-03-27T03:00:00+02:00 2.0 k 2016-10-30T02:59:59+02:00 3.0 \
	    k 2016-10-30T02:00:00+01:00 4.0 k 2016-10-30T03:00:00+01:00 5.0)"
	og-metric -T in | og-metric >back
	run og-metric in
	assert_output "$(cat back)"
}

@test "-z chooses the zone for -T and an unknown zone is an error" {
	rec k 0 1 >in
	run og-metric -T -z America/New_York in
	assert_output "$(rec k 1969-12-31T19:00:00-05:00 1.0)"
	run og-metric -T -z Mars/Olympus in
	assert_failure 2
	assert_output "og-metric: unknown time zone 'Mars/Olympus'"
}

@test "TZ: a misspelt zone is an error, unset is UTC, rules and :NAME are zones" {
	rec k 0 1 >in
	TZ=Europe/Brusels run og-metric -T in
	assert_failure 2
	assert_output "og-metric: unknown time zone 'Europe/Brusels' in TZ"
	run env -u TZ og-metric -T in
	assert_success
	assert_output "$(rec k 1970-01-01T00:00:00+00:00 1.0)"
	TZ=CET-1CEST,M3.5.0,M10.5.0/3 run og-metric -T in
	assert_output "$(rec k 1970-01-01T01:00:00+01:00 1.0)"
	TZ=:America/New_York run og-metric -T in
	assert_output "$(rec k 1969-12-31T19:00:00-05:00 1.0)"
	TZ='<+03>-3' run og-metric -T in
	assert_output "$(rec k 1970-01-01T03:00:00+03:00 1.0)"
}

@test "negative and large times are signed 64-bit seconds" {
	rec k -86400 1 k 9223372036854775807 2 k -9223372036854775808 3 >in
	run og-metric in
	assert_success
	assert_output "$(cat in | sed 's/\t1$/\t1.0/; s/\t2$/\t2.0/; s/\t3$/\t3.0/')"
	rec k 9223372036854775808 1 >in
	run og-metric in
	assert_failure 1
	assert_output "og-metric: in:1: bad time '9223372036854775808'"
}

bad_input() {	# bad_input LINE MESSAGE: the line is refused on line 2
	printf 'ok\t1\t1\n%b\nok\t3\t3\n' "$1" >in
	run og-metric in
	assert_failure 1
	assert_output "og-metric: in:2: $2"
	run og-metric <in
	assert_failure 1
	assert_output "og-metric: <stdin>:2: $2"
}

@test "an empty line is refused with input and line" {
	bad_input '' 'empty line'
}

@test "a missing field is refused" {
	bad_input 'k\t5' 'missing VALUE field'
	bad_input 'k' 'missing TIME and VALUE fields'
	bad_input '\t5\t1' 'empty key'
}

@test "a fourth field is refused" {
	bad_input 'k\t5\t1\t2' 'more than three fields'
}

@test "a bad time is refused" {
	bad_input 'k\tabc\t1' "bad time 'abc'"
	bad_input 'k\t12.5\t1' "bad time '12.5'"
	bad_input 'k\t2016-03-27T03:00:00\t1' "bad time '2016-03-27T03:00:00'"
	bad_input 'k\t2016-02-30T03:00:00Z\t1' "bad time '2016-02-30T03:00:00Z'"
	bad_input 'k\t\t1' "bad time ''"
}

@test "a bad number is refused" {
	bad_input 'k\t5\tabc' "bad value 'abc'"
	bad_input 'k\t5\t1,5' "bad value '1,5'"
	bad_input 'k\t5\t' "bad value ''"
	bad_input 'k\t5\t 1' "bad value ' 1'"
	bad_input 'k\t5\tinf' "bad value 'inf'"
	bad_input 'k\t5\t1e999' "bad value '1e999'"
	bad_input 'k\t5\t0x10' "bad value '0x10'"
}

@test "an over-long or unprintable key is refused" {
	long=$(printf 'a%.0s' $(seq 256))
	bad_input "$long\t5\t1" "key longer than 255 bytes: '$(printf 'a%.0s' $(seq 40))...'"
	key255=$(printf 'a%.0s' $(seq 255))
	rec "$key255" 1 1 >in
	run og-metric in
	assert_success
	bad_input 'a b\t5\t1' "bad key (space or control byte) 'a b'"
	bad_input 'a\001b\t5\t1' "bad key (space or control byte) 'a\001b'"
}

@test "a UTF-8 BOM is named as one; a line over the limit says the limit" {
	printf '\357\273\277k\t1\t1\n' >in
	run og-metric in
	assert_failure 1
	assert_output "og-metric: in:1: a UTF-8 byte order mark (BOM) before the key: save the file without it"
	run og-pack st in
	assert_failure 1
	assert_output "og-pack: in:1: a UTF-8 byte order mark (BOM) before the key: save the file without it"
	{ rec k 1 1; printf 'k\t2\t'; head -c 1048576 /dev/zero | tr '\0' 1; echo; } >in
	run og-metric in
	assert_failure 1
	assert_output "og-metric: in:2: line too long (over 1048575 bytes)"
	run og-pack -c 1 st <in
	assert_failure 1
	assert_output "og-pack: <stdin>:2: line too long (over 1048575 bytes)"
	# the longest line taken
	{ printf 'k\t2\t'; head -c 1048570 /dev/zero | tr '\0' 1; echo; } >in
	run og-metric in
	assert_failure 1
	assert_output "og-metric: in:1: bad value '1111111111111111111111111111111111111111...'"
}

@test "a CR at line end is refused" {
	bad_input 'k\t5\t1\r' 'CR at end of line (DOS line ends?)'
}

bad_after_key() {	# bad_after_key LINE MESSAGE: refused after a line of its key
	printf 'k\t1\t1\n%b\nk\t3\t3\n' "$1" >in
	run og-metric in
	assert_failure 1
	assert_output "og-metric: in:2: $2"
}

@test "a line of the key before is read quickly, but checked as any other" {
	bad_after_key 'k\t5\t1\r' 'CR at end of line (DOS line ends?)'
	bad_after_key 'k\t5\t1\t2' 'more than three fields'
	bad_after_key 'k\t5' 'missing VALUE field'
	bad_after_key 'k\t\t1' "bad time ''"
	bad_after_key 'k\t12345678901234567890\t1' "bad time '12345678901234567890'"
	bad_after_key 'k\t5\t' "bad value ''"
	bad_after_key 'k\t5\t1.5.' "bad value '1.5.'"
	bad_after_key 'k\t5\t--1' "bad value '--1'"
	bad_after_key 'k\t5\t1e999' "bad value '1e999'"
	printf 'k\t1\t1\nk\t0012\t-0\nk\t-3\t.5\nk\t4\t5.\nk\t5\t+7\nk\t6\t1e3\nk\t7\t12345678901234567.5\nk\t8\tnan\nkk\t9\t1\n' >in
	run og-metric in
	assert_success
	assert_output "$(rec k 1 1.0 k 12 -0.0 k -3 0.5 k 4 5.0 k 5 7.0 \
	    k 6 1000.0 k 7 1.2345678901234568e+16 k 8 nan kk 9 1.0)"
}

@test "times that share their first eight digits with the time before read whole" {
	# the reader keeps the value of the last time's first eight digits
	printf 'k\t1451606414\t1\nk\t14516064\t2\nk\t145160641\t3\nk\t1451606499\t4\nk\t14516064123456\t5\n' >in
	run og-metric in
	assert_success
	assert_output "$(rec k 1451606414 1.0 k 14516064 2.0 k 145160641 3.0 \
	    k 1451606499 4.0 k 14516064123456 5.0)"
	printf 'k\t1451606414\t1\nk\t1451606x\t6\n' >in
	run og-metric in
	assert_failure 1
	assert_output "og-metric: in:2: bad time '1451606x'"
}

@test "a last line without newline is still a record" {
	printf 'k\t1\t1\nk\t2\t2' >in
	run og-metric in
	assert_success
	assert_output "$(rec k 1 1.0 k 2 2.0)"
}

@test "a failed write to stdout is an error, not silent success" {
	[ -w /dev/full ] || skip "no /dev/full"
	rec k 1 1 >in
	run og-metric in >/dev/full
	run sh -c 'og-metric in >/dev/full'
	assert_failure 1
	assert_output --partial "og-metric: <stdout>: write error: No space left on device"
}

@test "a missing input file is named" {
	run og-metric nosuchfile
	assert_failure 1
	assert_output "og-metric: nosuchfile: No such file or directory"
}
