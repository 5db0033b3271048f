#!/usr/bin/env bats
# A fleet of real ssh hosts on this machine (tests/fleet_hosts): three
# network namespaces, each with its own sshd and its own store at one path.
# job_sync -S, parallel_daily -S and job_daily with OG_DAILY_HOSTS over them
# give what single runs over one store of every sensor give.  Without root
# or ip netns the tests that need hosts are skipped, saying why.

load helper

SHEET=$TOP/pipelines/sample/sheet.csv
HOSTS=og1,og2,og3
# the system's programs on both sides, the build under test first; not a
# user's shims (a pyenv python3 takes seconds to start)
PATH=$OG_BIN:$TOP/pipelines:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

setup_file() {
	export W=$BATS_FILE_TMPDIR F=$BATS_FILE_TMPDIR/fleet
	job_sync -n -S "$HOSTS" "$SHEET" store >"$W/plan"
	og-meta "$SHEET" >"$W/meta"
	if ! FLEET_SKIP=$("$TOP/tests/fleet_hosts" check); then
		export FLEET_SKIP="no hosts to test on: $FLEET_SKIP"
		return 0
	fi
	export FLEET_SKIP=
	"$TOP/pipelines/sample/make_blocks" "$SHEET" "$W/sample" 2016-01-04 2016-01-08
	"$TOP/tests/fleet_hosts" up "$F" 3
	# each host's own Flukso stand-in, at one address; one here for the
	# single runs
	for i in 1 2 3; do
		"$TOP/tests/fleet_hosts" spawn "$F" "$i" python3 "$TOP/tests/flukso_server.py" serve \
		    --port 8080 --port-file "$F/h$i/port" --tokens "$W/sample/tokens" "$W/sample/blocks"
	done
	python3 "$TOP/tests/flukso_server.py" serve --port-file "$W/port" \
	    --tokens "$W/sample/tokens" "$W/sample/blocks" >/dev/null 2>&1 3>&- &
	echo $! >"$W/server.pid"
	# the weather of the sheet's places, which job_daily pulls here
	python3 "$TOP/tests/openmeteo_server.py" serve --port-file "$W/weather.port" \
	    "$TOP/tests/data/weather_2016_hour.tsv.gz" >/dev/null 2>&1 3>&- &
	echo $! >"$W/weather.pid"
	for f in "$F"/h1/port "$F"/h2/port "$F"/h3/port "$W/port" "$W/weather.port"; do
		for _ in $(seq 100); do [ -s "$f" ] && break; sleep 0.1; done
	done
	OG_WEATHER_URL="http://127.0.0.1:$(cat "$W/weather.port")"
	export OG_WEATHER_URL
	OG_API_URL="http://127.0.0.1:$(cat "$W/port")" job_sync "$SHEET" "$W/store" 2>/dev/null
	og-unpack "$W/store" >"$W/store.tsv"
	job_daily "$SHEET" "$W/store" "$W/public" "$W/private" 2>/dev/null

	# the fleet: ssh as GNU parallel reaches hosts, with a log of every
	# command line and the standard input each host got
	cat >"$F/ssh" <<-EOF
		#!/bin/sh
		printf '%s\n' "\$*" >>"$F/ssh.args"
		in=\$(mktemp "$F/ssh.in.\$1.XXXXXX")
		cat >"\$in"
		exec ssh -F "$F/ssh_config" "\$@" <"\$in"
	EOF
	chmod +x "$F/ssh"
	export PARALLEL_SSH=$F/ssh
	OG_API_URL=http://127.0.0.1:8080 job_sync -S "$HOSTS" "$SHEET" "$F/disk/store" 2>"$F/sync.log"
	# the public labels' secret stays with the coordinator: this one the
	# single run's, so that both label the sites alike
	mkdir -p "$F/disk/store.q15"
	cp "$W/store.q15/.label-key" "$F/disk/store.q15/"
	OG_DAILY_HOSTS=$HOSTS job_daily "$SHEET" "$F/disk/store" "$F/public" "$F/private" 2>"$F/daily.log"
}

teardown_file() {
	[ ! -f "$BATS_FILE_TMPDIR/server.pid" ] || kill "$(cat "$BATS_FILE_TMPDIR/server.pid")" 2>/dev/null || :
	[ ! -f "$BATS_FILE_TMPDIR/weather.pid" ] || kill "$(cat "$BATS_FILE_TMPDIR/weather.pid")" 2>/dev/null || :
	"$TOP/tests/fleet_hosts" down "$BATS_FILE_TMPDIR/fleet"
}

setup() {
	setup_scratch
}

need_hosts() {
	[ -z "$FLEET_SKIP" ] || skip "$FLEET_SKIP"
}

# host_of SITE: the host the sample's SITE is on, by job_sync -n
host_of() {
	awk -F '\t' -v s="$1" '$1 == s { print $2 }' "$W/plan"
}

# the shard rule worked out independently: FNV-1a 32 in Python
python_plan() {	# python_plan N <SITES
	python3 -c '
import sys
def fnv(s):
    h = 2166136261
    for c in s.encode():
        h = ((h ^ c) * 16777619) % 2**32
    return h
n = int(sys.argv[1])
for site in sys.stdin.read().split():
    w = [fnv("%d\t%s\n" % (i, site)) for i in range(1, n + 1)]
    print("%s\tog%d" % (site, w.index(max(w)) + 1))
' "$1"
}

@test "the shard rule gives each site the host an independent FNV-1a computation gives" {
	{
		echo sensor,site,type
		awk 'BEGIN { for (i = 0; i < 3000; i++) printf "s%d,site-%d,other\n", i, i * 7919 % 100003 }'
	} >many.csv
	cut -d , -f 2 many.csv | sed 1d >sites
	for n in 1 2 3 4; do
		run job_sync -n -S "$(seq -s , -f 'og%g' "$n")" many.csv store
		assert_success
		echo "$output" >"plan.$n"
		diff "plan.$n" <(python_plan "$n" <sites)
	done
	diff "$W/plan" <(og-meta "$SHEET" | cut -f 2 | awk '!seen[$0]++' | python_plan 3)
	# about a third on each of three hosts
	run awk -F '\t' '{ n[$2]++ } END { for (h in n) if (n[h] < 900 || n[h] > 1100) print h, n[h] }' plan.3
	assert_output ''
	# a fourth host takes about a quarter of the sites, and only from the others
	run awk -F '\t' 'FILENAME ~ /3$/ { h[$1] = $2; next }
		h[$1] != $2 { moved++; if ($2 != "og4") bad++ } END { print moved + 0, bad + 0 }' plan.3 plan.4
	assert_output --regexp '^(6[6-9][0-9]|7[0-9][0-9]|8[0-3][0-9]) 0$'
}

@test "bad host lists are usage errors" {
	run job_sync -n -S og1,,og2 "$SHEET" store
	assert_failure 2
	assert_output "job_sync: -S: bad host ''"
	run parallel_daily -S -oProxyCommand=x "$SHEET" store out
	assert_failure 2
	assert_output "parallel_daily: -S: bad host '-oProxyCommand=x'"
	run parallel_daily -S og1,og1 "$SHEET" store out
	assert_failure 2
	assert_output "parallel_daily: -S: host 'og1' given twice"
	run parallel_daily -S og1 -n 3 "$SHEET" store out
	assert_failure 2
	run job_sync -n "$SHEET" store
	assert_failure 2
	run env OG_DAILY_HOSTS=og1,-x job_daily "$SHEET" store public private
	assert_failure 2
	assert_output "job_daily: OG_DAILY_HOSTS: bad host '-x'"
	[ ! -e out.tsv ]
}

@test "the hosts run the build under test and none of the user's start-up files" {
	need_hosts
	for i in 1 2 3; do
		run ssh -F "$F/ssh_config" "og$i" 'command -v og-metric job_daily; echo "$HOME"'
		assert_success
		assert_output "$OG_BIN/og-metric
$TOP/pipelines/job_daily
$F/h$i"
	done
}

@test "job_sync -S pulls each site's sensors into its own host's store and nowhere else" {
	need_hosts
	for i in 1 2 3; do
		diff <(og-unpack -l "$F/h$i/disk/store" | cut -f 1) \
		    <(og-meta "$SHEET" | while IFS=$'\t' read -r sensor site _; do
			[ "$(host_of "$site")" = "og$i" ] && echo "$sensor"; done | sort)
	done
	# together, the single store's records, byte for byte
	diff <(for i in 1 2 3; do og-unpack "$F/h$i/disk/store"; done | sort -s -t $'\t' -k 1,1) "$W/store.tsv"
	[ "$(grep -c 'job_sync: [0-9]* sensors, [1-9][0-9]* new records' "$F/sync.log")" -eq 3 ]
}

@test "job_sync -S gives each host only its own tokens, on standard input" {
	need_hosts
	og-meta -f sensor,site,token "$SHEET" >tokens
	[ "$(wc -l <tokens)" -eq 19 ]
	while IFS=$'\t' read -r sensor site token; do
		! grep -q "$token" "$F/ssh.args"
		for i in 1 2 3; do
			if [ "$(host_of "$site")" = "og$i" ]; then
				grep -q "^\"$sensor\",\"$site\",.*,\"$token\"$" "$F"/ssh.in.og$i.*
			else
				! grep -q "$token" "$F"/ssh.in.og$i.*
			fi
		done
	done <tokens
}

@test "job_sync -S a second time adds nothing, on every host" {
	need_hosts
	run env OG_API_URL=http://127.0.0.1:8080 job_sync -S "$HOSTS" "$SHEET" "$F/disk/store"
	assert_success
	[ "$(grep -c "^og[123]	job_sync: [0-9]* sensors, 0 new records$" <<<"$output")" -eq 3 ]
	diff <(for i in 1 2 3; do og-unpack "$F/h$i/disk/store"; done | sort -s -t $'\t' -k 1,1) "$W/store.tsv"
}

@test "parallel_daily -S over the hosts equals the single run byte for byte" {
	need_hosts
	run parallel_daily -S "$HOSTS" "$SHEET" "$F/disk/store" pd
	assert_success
	assert_output ''
	og-metric -d -M "$W/meta" -i 1d "$W/store.tsv" >single.tsv
	cmp pd.tsv single.tsv
	[ "$(wc -l <pd.tsv)" -gt 50 ]
	parallel_daily "$SHEET" "$W/store" local
	cmp pd.csv local.csv
}

@test "parallel_daily -S takes the caller's zone and gap to the hosts" {
	need_hosts
	TZ=America/New_York OG_GAP=3600 parallel_daily -S "$HOSTS" "$SHEET" "$F/disk/store" ny
	TZ=America/New_York og-metric -d -g 3600 -M "$W/meta" -i 1d "$W/store.tsv" >single.tsv
	cmp ny.tsv single.tsv
	! cmp -s ny.tsv <(og-metric -d -g 3600 -M "$W/meta" -i 1d "$W/store.tsv")
	! cmp -s ny.tsv <(TZ=America/New_York og-metric -d -M "$W/meta" -i 1d "$W/store.tsv")
	# local days of New York
	run bash -c "TZ=America/New_York og-metric -T ny.tsv | cut -f 2 | sort -u | grep -v 'T00:00:00-05:00$'"
	assert_output ''
}

@test "parallel_daily -S brings back partial state, a fraction of the readings" {
	need_hosts
	received() {	# bytes this side of the hosts' links has received
		awk '$1 == "link" { print "/sys/class/net/" $2 "/statistics/rx_bytes" }' "$F/state" |
			xargs cat | awk '{ n += $1 } END { print n }'
	}
	before=$(received)
	parallel_daily -S "$HOSTS" "$SHEET" "$F/disk/store" pd
	after=$(received)
	readings=$(wc -c <"$W/store.tsv")
	echo "received $((after - before)) bytes; the readings are $readings bytes"
	[ "$readings" -gt 2000000 ]
	[ $((after - before)) -lt $((readings / 20)) ]
}

@test "a host that cannot be reached fails parallel_daily, named, and leaves OUT as it was" {
	need_hosts
	cp "$F/ssh_config" ssh_config
	printf 'Host og4\n  HostName 127.0.0.1\n  Port 1\n  BatchMode yes\n' >>ssh_config
	echo old >pd.tsv
	echo old >pd.csv
	run env PARALLEL_SSH="ssh -F $SCRATCH/ssh_config" parallel_daily -S "$HOSTS,og4" "$SHEET" "$F/disk/store" pd
	assert_failure 1
	assert_line --regexp '^og4	ssh: connect to host 127.0.0.1 port 1: Connection refused$'
	assert_line 'parallel_daily: og4: failed (exit 255)'
	[ "$(cat pd.tsv pd.csv)" = "$(printf 'old\nold')" ]
}

@test "a host whose store cannot be read fails parallel_daily with its own message" {
	need_hosts
	for i in 1 2 3; do cp -r "$F/h$i/disk/store" "$F/h$i/disk/part"; done
	key=$(og-unpack -l "$F/h3/disk/part" | head -n 1 | cut -f 1)
	head -c 100 "$F/h3/disk/part/$key.dat" >cut
	cp cut "$F/h3/disk/part/$key.dat"
	run parallel_daily -S "$HOSTS" "$SHEET" "$F/disk/part" pd
	for i in 1 2 3; do rm -rf "$F/h$i/disk/part"; done
	assert_failure 1
	assert_line --regexp "^og3	og-unpack: $F/disk/part/$key.dat: offset [0-9]+: truncated data file$"
	assert_line 'parallel_daily: og3: failed (exit 1)'
	refute_line --partial 'og1'
	refute_line --partial 'og2'
	[ ! -e pd.tsv ]
}

@test "a store that is no shard, or another shard, fails parallel_daily, naming the host" {
	need_hosts
	run parallel_daily -S "$HOSTS" "$SHEET" "$F/disk/nowhere" pd
	assert_failure 1
	for i in 1 2 3; do
		assert_line "og$i	$F/disk/nowhere: no shard mark (job_sync -S makes it)"
		assert_line "parallel_daily: og$i: failed (exit 1)"
	done
	# hosts in another order, or one left out
	run parallel_daily -S og1,og3,og2 "$SHEET" "$F/disk/store" pd
	assert_failure 1
	assert_line "og3	$F/disk/store: marked shard 3 of 3, but the host list makes it shard 2 of 3"
	assert_line "og2	$F/disk/store: marked shard 2 of 3, but the host list makes it shard 3 of 3"
	refute_line --partial 'og1'
	run parallel_daily -S og1,og2 "$SHEET" "$F/disk/store" pd
	assert_failure 1
	assert_line "og1	$F/disk/store: marked shard 1 of 3, but the host list makes it shard 1 of 2"
	[ ! -e pd.tsv ]
	run env OG_API_URL=http://127.0.0.1:8080 job_sync -S og1,og2 "$SHEET" "$F/disk/store"
	assert_failure 1
	assert_line "og2	$F/disk/store: marked shard 2 of 3, but the host list makes it shard 2 of 2"
	diff <(for i in 1 2 3; do og-unpack "$F/h$i/disk/store"; done | sort -s -t $'\t' -k 1,1) "$W/store.tsv"
}

@test "a sensor with data on two hosts is refused, naming both" {
	need_hosts
	for i in 1 2 3; do cp -r "$F/h$i/disk/store" "$F/h$i/disk/dup"; done
	on=$(host_of hasselt)	# its only sensor: d9096b4a3a05ad34ee5e5cca11958cfd
	other=$(( ${on#og} % 3 + 1 ))
	og-unpack "$F/h${on#og}/disk/store" d9096b4a3a05ad34ee5e5cca11958cfd | og-pack -q "$F/h$other/disk/dup"
	run parallel_daily -S "$HOSTS" "$SHEET" "$F/disk/dup" pd
	for i in 1 2 3; do rm -rf "$F/h$i/disk/dup"; done
	assert_failure 1
	if [ "$other" -gt "${on#og}" ]; then
		assert_output "parallel_daily: sensor d9096b4a3a05ad34ee5e5cca11958cfd comes from $on and from og$other; it belongs on one host"
	else
		assert_output "parallel_daily: sensor d9096b4a3a05ad34ee5e5cca11958cfd is on og$other, but the shard rule puts it on $on: is this the host list its data was placed by?"
	fi
}

@test "job_daily on the fleet publishes what a single job_daily publishes" {
	need_hosts
	[ ! -s "$F/daily.log" ] || { cat "$F/daily.log"; false; }
	diff -r "$W/private" "$F/private"
	diff -r "$W/public" "$F/public"
	[ "$(ls "$F/private/sites" | wc -l)" -eq 12 ]
	# each host keeps the quarter-hour cache of its own sensors
	for i in 1 2 3; do
		cmp <(og-unpack -l "$F/h$i/disk/store" | cut -f 1) <(og-unpack -l "$F/h$i/disk/store.q15" | cut -f 1)
	done
}

@test "job_daily on the fleet fails, naming the host, when one is busy" {
	need_hosts
	cp -r "$F/private" before
	exec 8>>"$F/h2/disk/store.q15/.job_daily.lock"
	flock 8
	run env OG_DAILY_HOSTS=$HOSTS job_daily "$SHEET" "$F/disk/store" "$F/public" "$F/private"
	exec 8>&-
	assert_failure 1
	assert_line "og2	job_daily: $F/disk/store.q15: another job_daily is running; skipped"
	assert_line 'job_daily: og2: no end mark: cut short, or another run was busy there'
	diff -r before "$F/private"
}
