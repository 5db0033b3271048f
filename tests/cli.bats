#!/usr/bin/env bats
# Conventions shared by all the programs: -h, -V, usage errors, exit codes.

load helper

setup() { setup_scratch; }

TOOLS="og-fit og-meta og-metric og-pack og-pull og-unpack"

@test "-h prints usage on stdout and exits 0, for every tool" {
	for t in $TOOLS; do
		run "$t" -h
		assert_success
		assert_line --index 0 --partial "usage: $t "
		[ "${#lines[@]}" -gt 3 ]
	done
}

@test "-V prints the version, for every tool" {
	for t in $TOOLS; do
		run "$t" -V
		assert_success
		assert_output "$t (og) 0.1"
	done
}

@test "--help and --version are -h and -V, for every tool" {
	for t in $TOOLS; do
		run "$t" --help
		assert_success
		assert_output "$("$t" -h)"
		run "$t" --version
		assert_success
		assert_output "$t (og) 0.1"
	done
}

@test "an unknown option is a usage error: synopsis on stderr, exit 2" {
	for t in $TOOLS; do
		run --separate-stderr "$t" -Q
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		[[ "$stderr" == *"usage: $t "* ]]
	done
}

@test "a misspelt zone in TZ is a usage error naming it, for every tool" {
	for t in $TOOLS; do
		TZ=Europe/Brusels run "$t" -V
		assert_failure 2
		assert_output "$t: unknown time zone 'Europe/Brusels' in TZ"
	done
}

@test "missing operands are a usage error" {
	for t in og-fit og-meta og-pack og-unpack; do
		run "$t"
		assert_failure 2
	done
	run og-pull extra-operand </dev/null
	assert_failure 2
}

@test "a bad time argument names the argument" {
	run og-unpack -s yesterday store
	assert_failure 1
	assert_output "og-unpack: bad time 'yesterday'"
}

@test "every man page is clean under mandoc -T lint, and its quotes close where they open" {
	command -v mandoc >/dev/null || skip "mandoc is not installed (make deps installs it)"
	for page in "$TOP"/src/*.1 "$TOP"/src/og.7; do
		run mandoc -T lint -W warning "$page"
		assert_output ""
		# a quote that opens inside another, as in (‘42, ‘-0.5’’), or
		# closes twice, is a macro nested the wrong way
		run python3 - "$page" <<'PY'
import re, subprocess, sys
text = subprocess.run(["mandoc", "-T", "utf8", sys.argv[1]],
                      capture_output=True, text=True).stdout
depth = 0
for line in re.sub(".\b", "", text).splitlines():
    for ch in line:
        depth += {"\u2018": 1, "\u2019": -1}.get(ch, 0)
        if not 0 <= depth <= 1:
            sys.exit("%s: %s" % (sys.argv[1], line.strip()))
PY
		assert_success
	done
}

@test "every tool has a man page with its synopsis" {
	for t in $TOOLS; do
		[ -f "$TOP/src/$t.1" ]
		grep -q "^\.Nm $t" "$TOP/src/$t.1"
		man -l "$TOP/src/$t.1" >/dev/null 2>&1 || groff -man -Tutf8 "$TOP/src/$t.1" >/dev/null
	done
}
