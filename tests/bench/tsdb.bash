# tsdb.bash: the store size of two time-series databases from Debian,
# VictoriaMetrics and InfluxDB 1.x, on a file of records; sourced by
# tests/bench/run and tests/bench.bats.  Each server listens on a free
# loopback port, keeps its data in the folder it is given and is stopped by
# its PID.  Both store doubles without NaN, so records of nan are left out
# and the points they keep are counted.  A function that fails says why on
# stderr and returns 1.
#
#   vm_measure FILE DIR        prints "BYTES POINTS"; DIR.tsv gets the
#                              records as VictoriaMetrics gives them back
#   influx_start DIR; influx_measure NAME FILE; influx_stop
#                              influx_measure prints "BYTES POINTS"

tsdb_pids=()

tsdb_stop_all() {
	local pid
	for pid in "${tsdb_pids[@]}"; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	tsdb_pids=()
}

# stop PID: stops a server and waits for it, so its files are complete.
tsdb_stop() {
	local pid=$1 i
	kill "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$pid" 2>/dev/null
	for i in "${!tsdb_pids[@]}"; do
		[ "${tsdb_pids[$i]}" = "$pid" ] && unset "tsdb_pids[$i]"
	done
}

tsdb_freeport() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# tsdb_wait URL SECONDS: until URL answers with success.
tsdb_wait() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		curl -sf -o /dev/null "$1" && return 0
		sleep 0.1
	done
	return 1
}

# Regular files, in bytes as ls shows them.
tsdb_file_bytes() {
	find "$@" -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'
}

vm_measure() {
	local file=$1 dir=$2 port pid url i busy points bytes
	rm -rf "$dir" && mkdir -p "$dir" || return 1
	port=$(tsdb_freeport) || return 1
	url=http://127.0.0.1:$port
	# data from 2016 must be inside the retention period
	victoria-metrics -storageDataPath="$dir/data" -httpListenAddr=127.0.0.1:$port \
	    -retentionPeriod=100y -loggerLevel=ERROR >"$dir/log" 2>&1 &
	pid=$!
	tsdb_pids+=("$pid")
	if ! tsdb_wait "$url/health" 30; then
		echo "victoria-metrics did not start: $(head -n 2 "$dir/log")" >&2
		tsdb_stop $pid
		return 1
	fi
	# /api/v1/import takes a JSON line of values and timestamps (ms) per
	# series; lines of at most 10000 points
	mawk -F'\t' '
	function flush(   i) {
		if (!n)
			return
		printf "{\"metric\":{\"__name__\":\"og\",\"key\":\"%s\"},\"values\":[%s", k, v[1]
		for (i = 2; i <= n; i++)
			printf ",%s", v[i]
		printf "],\"timestamps\":[%s000", t[1]
		for (i = 2; i <= n; i++)
			printf ",%s000", t[i]
		printf "]}\n"
		n = 0
	}
	$3 == "nan" || $3 == "NaN" { next }
	$1 != k || n == 10000 { flush(); k = $1 }
	{ n++; v[n] = $3; t[n] = $2 }
	END { flush() }' "$file" >"$dir/import.json"
	if ! curl -sf --data-binary @"$dir/import.json" "$url/api/v1/import" ||
	    ! curl -sf -o /dev/null "$url/internal/force_flush" ||
	    ! curl -sf -o /dev/null "$url/internal/force_merge"; then
		echo "victoria-metrics: import failed: $(tail -n 2 "$dir/log")" >&2
		tsdb_stop $pid
		return 1
	fi
	rm -f "$dir/import.json"
	# the forced merge runs in the background: wait until no merge runs
	for ((i = 0; i < 600; i++)); do
		sleep 0.5
		busy=$(curl -sf "$url/metrics" | awk '
		    /^vm_active_(force_)?merges/ { s += $2; seen = 1 }
		    END { print seen ? s : -1 }')
		[ "$busy" = 0 ] && break
	done
	points=$(curl -sf "$url/metrics" | awk '/^vm_rows\{type="storage/ { s += $2 } END { print s + 0 }')
	curl -sf "$url/api/v1/export" --data-urlencode 'match[]={__name__="og"}' |
	    python3 -c '
import json, sys
for line in sys.stdin:
    s = json.loads(line)
    k = s["metric"]["key"]
    for t, v in zip(s["timestamps"], s["values"]):
        print("%s\t%d\t%s" % (k, t // 1000, v))' | sort -t "$(printf '\t')" -k1,1 -k2,2n >"$dir.tsv"
	tsdb_stop $pid
	# all it keeps on disk, less the caches it writes on the way out
	bytes=$(tsdb_file_bytes "$dir/data" ! -path "$dir/data/cache/*")
	echo "$bytes $points"
}

influx_dir=
influx_url=
influx_pid=

influx_start() {
	local dir=$1 http rpc
	rm -rf "$dir" && mkdir -p "$dir" || return 1
	http=$(tsdb_freeport) && rpc=$(tsdb_freeport) || return 1
	# a shard goes cold and is fully compacted 1 s after its last write
	cat >"$dir/influxdb.conf" <<-EOF
	reporting-enabled = false
	bind-address = "127.0.0.1:$rpc"
	[meta]
	  dir = "$dir/meta"
	  logging-enabled = false
	[data]
	  dir = "$dir/data"
	  wal-dir = "$dir/wal"
	  query-log-enabled = false
	  cache-snapshot-write-cold-duration = "1s"
	  compact-full-write-cold-duration = "1s"
	[monitor]
	  store-enabled = false
	[continuous_queries]
	  enabled = false
	[http]
	  bind-address = "127.0.0.1:$http"
	  log-enabled = false
	[logging]
	  level = "error"
	  suppress-logo = true
	EOF
	influxd run -config "$dir/influxdb.conf" >"$dir/log" 2>&1 &
	influx_pid=$!
	tsdb_pids+=("$influx_pid")
	influx_dir=$dir
	influx_url=http://127.0.0.1:$http
	if ! tsdb_wait "$influx_url/ping" 30; then
		echo "influxd did not start: $(head -n 2 "$dir/log")" >&2
		influx_stop
		return 1
	fi
}

influx_stop() {
	[ -n "$influx_pid" ] && tsdb_stop "$influx_pid"
	influx_pid=
}

# influx_measure NAME FILE: a database NAME of one shard per 104 weeks
# (the default, one a week, costs more), the values as integers when all
# are, else as floats, one series per key.
influx_measure() {
	local db=$1 file=$2 i type last="" now stable=0 points bytes shards
	[ -n "$influx_pid" ] || { echo "influxd is not running" >&2; return 1; }
	curl -sf -o /dev/null -XPOST "$influx_url/query" \
	    --data-urlencode "q=CREATE DATABASE $db WITH DURATION INF SHARD DURATION 104w" ||
	    { echo "influxd: cannot create database $db" >&2; return 1; }
	type=$(mawk -F'\t' '$3 !~ /^-?[0-9]+$/ { print "float"; exit }' "$file")
	points=$(mawk -F'\t' -v i="${type:-integer}" '
	    $3 == "nan" || $3 == "NaN" { next }
	    { n++; print "og,key=" $1 " v=" $3 (i == "integer" ? "i " : " ") $2 }
	    END { print n + 0 >"/dev/stderr" }' "$file" 2>"$influx_dir/$db.count" |
	    split -l 50000 --filter="curl -sf -XPOST '$influx_url/write?db=$db&precision=s' --data-binary @- || echo failed" |
	    grep -c failed)
	if [ "$points" != 0 ]; then
		echo "influxd: $points writes failed: $(tail -n 2 "$influx_dir/log")" >&2
		return 1
	fi
	points=$(cat "$influx_dir/$db.count")
	# compacted: the WAL empty, one generation of TSM files a shard, no
	# file changing for 3 s
	for ((i = 0; i < 600; i++)); do
		sleep 0.5
		now=$(find "$influx_dir/data/$db" "$influx_dir/wal/$db" -type f \
		    ! -path '*/_series/*' -printf '%s %P\n' | sort)
		if [ "$now" = "$last" ] &&
		    ! echo "$now" | awk '/\.wal$/ && $1 > 0 { bad = 1 } /\.tmp$/ { bad = 1 }
			/\.tsm$/ { n = split($2, p, "/"); g = p[n]; sub(/-.*/, "", g)
			    d = $2; sub(/\/[^\/]*$/, "", d); if ((d in gen) && gen[d] != g) bad = 1; gen[d] = g }
			END { exit !bad }'; then
			stable=$((stable + 1))
			[ $stable -ge 6 ] && break
		else
			stable=0
		fi
		last=$now
	done
	shards=$(echo "$now" | grep -c '\.tsm$')
	[ "$shards" -gt 0 ] || { echo "influxd: no TSM file for $db" >&2; return 1; }
	# the series file is preallocated and sparse: it counts by the blocks
	# it takes; every other file by its bytes
	bytes=$(( $(tsdb_file_bytes "$influx_dir/data/$db" "$influx_dir/wal/$db" ! -path '*/_series/*') +
	    $(du -s --block-size=1 "$influx_dir/data/$db/_series" 2>/dev/null | cut -f1) ))
	echo "$bytes $points"
}
