# Loaded by every tests/*.bats: the programs under test on PATH, the bats
bats_require_minimum_version 1.5.0
# assertion libraries, and a scratch directory per test.
bats_load_library bats-support 2>/dev/null || load /usr/lib/bats/bats-support/load
bats_load_library bats-assert 2>/dev/null || load /usr/lib/bats/bats-assert/load

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
OG_BIN=${OG_BIN:-$TOP/bin}
# Debian's python3 (make deps) before any earlier on PATH: a pyenv shim takes
# a second or two to start, many times a test.
PATH=$OG_BIN:$TOP/pipelines:/usr/bin:$PATH
DATA=$TOP/tests/data
export TZ=Europe/Brussels LC_ALL=C

# Each test works in its own directory, removed by bats afterwards.
setup_scratch() {
	SCRATCH=$BATS_TEST_TMPDIR
	cd "$SCRATCH" || return 1
}

# check_same CMD1 CMD2: both commands print the same bytes.
check_same() {
	diff <(eval "$1") <(eval "$2")
}

# A sanitizer report (exit 86, see tests/run) must never pass unnoticed.
refute_sanitizer() {
	[ "$status" -ne 86 ] || { echo "$output"; return 1; }
}

# tab-separated record lines from arguments: rec KEY TIME VALUE ...
rec() {
	while [ $# -ge 3 ]; do
		printf '%s\t%s\t%s\n' "$1" "$2" "$3"
		shift 3
	done
}

# pysci ARGS...: python3 with pandas, scipy and statsmodels (Debian's
# python3-pandas, python3-scipy, python3-statsmodels, which make deps
# installs); a python3 earlier on PATH without them, such as pyenv's, is
# passed over.
pysci() {
	local p
	if [ -z "${PYSCI:-}" ]; then
		for p in python3 /usr/bin/python3; do
			if "$p" -c 'import pandas, scipy, statsmodels' 2>/dev/null; then
				PYSCI=$p
				break
			fi
		done
	fi
	if [ -z "${PYSCI:-}" ]; then
		echo "pysci: no python3 with pandas, scipy and statsmodels (make deps)" >&2
		return 1
	fi
	"$PYSCI" "$@"
}
