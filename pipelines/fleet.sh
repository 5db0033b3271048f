# shellcheck shell=sh
# fleet.sh: the jobs over a fleet of hosts, each holding a shard of the
# sheet's sites in a store at the same path (pipelines/README.md, "Many
# hosts").  Sourced by job_sync -S, job_daily (OG_DAILY_HOSTS) and
# parallel_daily -S.
#
# The shard rule: the hosts are numbered 1 to N in the order given, and a
# site goes to the host I with the largest FNV-1a 32-bit hash of the line
# "I<TAB>SITE<LF>" (the lowest such I on a tie).  All of a site's sensors
# live on one host, so its site metrics need no other host; appending a host
# to the list moves only the sites that now go to it, about 1/(N+1) of them.
#
# The hosts are ssh destinations (a name from ~/.ssh/config, [user@]host),
# reached the way GNU parallel reaches them: with $PARALLEL_SSH (default
# ssh), so keys and options go where they usually go.  Each host needs the og
# programs and these pipelines on the PATH of its login shell, a POSIX shell.

fleet_who=${0##*/} fleet_opt=-S

# fleet_hosts HOSTS DIR: the comma-separated HOSTS into DIR/hosts, one a line
fleet_hosts() {
	printf '%s\n' "$1" | tr ',' '\n' >"$2/hosts"
	awk -v who="$fleet_who" -v opt="$fleet_opt" '
		$0 == "" || /^-/ || /[[:space:]'\''"\\]/ {
			printf "%s: %s: bad host '\''%s'\''\n", who, opt, $0 > "/dev/stderr"; bad = 1
		}
		$0 in seen { printf "%s: %s: host '\''%s'\'' given twice\n", who, opt, $0 > "/dev/stderr"; bad = 1 }
		{ seen[$0] = 1 }
		END { exit bad }' "$2/hosts" || exit 2
}

# fleet_place N: og-meta lines (SENSOR SITE ...) on stdin, each prefixed with
# the number of the host that holds its site, out of N
fleet_place() {
	awk -F '\t' -v n="$1" '
		BEGIN { for (i = 1; i < 256; i++) ord[sprintf("%c", i)] = i }
		function xor8(a, b,   k, r, bit) {
			k = a " " b
			if (k in xor) return xor[k]
			for (bit = 1; bit < 256; bit *= 2)
				if ((a % (2 * bit) >= bit) != (b % (2 * bit) >= bit)) r += bit
			return xor[k] = r
		}
		# h = (h ^ byte) * 16777619 mod 2^32, exact in doubles: only the low
		# byte takes the xor, and 16777619 = 2^24 + 403
		function fnv(s,   h, k, lo) {
			h = 2166136261
			for (k = 1; k <= length(s); k++) {
				lo = h % 256
				h += xor8(lo, ord[substr(s, k, 1)]) - lo
				h = ((h % 256) * 16777216 + h * 403) % 4294967296
			}
			return h
		}
		!($2 in host) {
			best = -1
			for (i = 1; i <= n; i++)
				if ((w = fnv(i "\t" $2 "\n")) > best) { best = w; host[$2] = i }
		}
		{ print host[$2] "\t" $0 }'
}

# fleet_split HOSTS SHEET DIR: DIR/hosts, DIR/meta (og-meta SHEET) and
# DIR/placed: the lines of DIR/meta, each after the number of its host
fleet_split() {
	fleet_hosts "$1" "$3"
	og-meta "$2" >"$3/meta"
	fleet_place "$(wc -l <"$3/hosts")" <"$3/meta" >"$3/placed"
}

# fleet_sheets DIR [SHEET]: for each host I of fleet_split's DIR, DIR/in.I: a
# sheet (CSV) of the sensors of its sites in sheet order, with their tokens
# from SHEET when it is given
fleet_sheets() {
	if [ $# -eq 2 ]; then
		og-meta -f sensor,token "$2" >"$1/tokens"
	else
		: >"$1/tokens"
	fi
	awk -F '\t' -v dir="$1" -v n="$(wc -l <"$1/hosts")" -v token="$(($# - 1))" '
		BEGIN {
			for (i = 1; i <= n; i++)
				print "sensor,site,category,type,unit" (token ? ",token" : "") >(dir "/in." i)
		}
		FILENAME ~ /tokens$/ { tok[$1] = $2; next }
		{
			line = csv($2) "," csv($3)
			for (k = 4; k <= 6; k++) line = line "," csv($k == "-" ? "" : $k)
			if (token) line = line "," csv($2 in tok && tok[$2] != "-" ? tok[$2] : "")
			print line >(dir "/in." $1)
		}
		function csv(v) { gsub(/"/, "\"\"", v); return "\"" v "\"" }
	' "$1/tokens" "$1/placed"
	rm -f "$1/tokens"
}

# fleet_quote WORD: WORD as one word for the remote shell
fleet_quote() {
	printf '%s' "$1" | sed "s/'/'\\\\''/g; 1s/^/'/; \$s/\$/'/"
}

# fleet_env: the settings a host runs with, as a command to put first: the C
# locale, this TZ and every OG_ variable set here but OG_DAILY_HOSTS, which
# is unset there so that a host never goes on to the fleet itself
fleet_env() {
	awk -v q="'" 'BEGIN {
		printf "export LC_ALL=C"
		for (k in ENVIRON)
			if (k == "TZ" || (k ~ /^OG_[A-Z0-9_]+$/ && k != "OG_DAILY_HOSTS")) {
				v = ENVIRON[k]
				gsub(q, q "\\" q q, v)
				printf " %s=%s%s%s", k, q, v, q
			}
		printf "; unset OG_DAILY_HOSTS; "
	}'
}

# fleet_mark STORE: a command for a host to check that its STORE is the shard
# the host list makes it, by the mark STORE/.fleet ("I of N") that job_sync -S
# writes: so a list that misses a host or has them in another order is an
# error, not a result without some sites
fleet_mark() {
	q=$(fleet_quote "$1")
	echo "fleet_mark=\$(cat $q/.fleet 2>/dev/null) ||
		{ echo $q': no shard mark (job_sync -S makes it)' >&2; exit 1; }
	[ \"\$fleet_mark\" = \"\$fleet_shard\" ] ||
		{ echo $q\": marked shard \$fleet_mark, but the host list makes it shard \$fleet_shard\" >&2; exit 1; }
	"
}

# fleet_mark_new STORE: a command for a host to make its STORE and mark it as
# the shard the host list makes it, if it has no mark yet; or to check it
fleet_mark_new() {
	q=$(fleet_quote "$1")
	echo "mkdir -p $q || exit 1
	[ -e $q/.fleet ] || echo \"\$fleet_shard\" >$q/.fleet || exit 1
	$(fleet_mark "$1")"
}

# fleet_run DIR COMMAND: the shell command line COMMAND on every host of
# DIR/hosts at once, with fleet_shard set to "I of N" for host I of N; host I
# reads DIR/in.I (nothing if there is none) and writes DIR/out.I, and its
# messages come prefixed with its name (without the CR that ssh ends its
# own with).  Each host that fails is named, and the status is then 1.
fleet_run() {
	n=$(wc -l <"$1/hosts")
	i=1
	while [ "$i" -le "$n" ]; do
		[ -e "$1/in.$i" ] || : >"$1/in.$i"
		rm -f "$1/status.$i"
		i=$((i + 1))
	done
	# shellcheck disable=SC2016
	FLEET_DIR=$1 FLEET_COMMAND=$2 FLEET_N=$n parallel --will-cite -j 0 --tag '{
		${PARALLEL_SSH:-ssh} {} "fleet_shard='\''{#} of $FLEET_N'\''; $FLEET_COMMAND" \
			<"$FLEET_DIR/in.{#}" 2>&1 >"$FLEET_DIR/out.{#}"
		echo $? >"$FLEET_DIR/status.{#}"
	} | tr -d "\r" >&2' <"$1/hosts" || :
	awk -v who="$fleet_who" -v dir="$1" '
		{ host[++n] = $0 }
		END {
			for (i = 1; i <= n; i++) {
				f = dir "/status." i
				why = (getline status < f) > 0 ? (status == 0 ? "" : "exit " status) : "did not finish"
				if (why != "") {
					printf "%s: %s: failed (%s)\n", who, host[i], why >"/dev/stderr"
					bad = 1
				}
			}
			exit bad
		}' "$1/hosts"
}

# fleet_days HOSTS SHEET STORE DIR: job_daily's steps 1 and 2 on every host
# over the sites it holds, into DIR/sensor.day, site.day, sensor.standby and
# site.standby: what they would be, run here over all the sensors
fleet_days() {
	mkdir "$4/fleet"
	fleet_opt=OG_DAILY_HOSTS
	fleet_split "$1" "$2" "$4/fleet"
	fleet_sheets "$4/fleet"
	# shellcheck disable=SC2016
	fleet_run "$4/fleet" "$(fleet_mark "$3")"'fleet_tmp=$(mktemp -d) || exit 1
		trap '\''rm -rf "$fleet_tmp"'\'' EXIT
		'"$(fleet_env)"'OG_DAILY_DAYS=1 job_daily - '"$(fleet_quote "$3")"' "$fleet_tmp" "$fleet_tmp"' ||
		exit 1
	fleet_gather "$4/fleet" '($1 ~ /^sensor/ ? "sensor " $2 : "site " substr($2, 1, index($2, "/") - 1))' \
		>"$4/fleet/days" || exit 1
	for f in sensor.day site.day sensor.standby site.standby; do
		awk -F '\t' -v f="$f" '$1 == f { print substr($0, length(f) + 2) }' "$4/fleet/days" >"$4/$f"
	done
}

# fleet_send_days DIR: what a host of fleet_days sends: the four files of
# job_daily's step 2 in DIR, each line after its file name, then '#end'
fleet_send_days() {
	for f in sensor.day site.day sensor.standby site.standby; do
		awk -v f="$f" '{ print f "\t" $0 }' "$1/$f"
	done
	echo '#end'
}

# fleet_gather DIR OWNER: the outputs DIR/out.I of the hosts in order, each
# without its '#end' line, which must be there (a host that skipped sends
# nothing).  The awk expression OWNER names what a line belongs to ("sensor
# ID", "site NAME", or "" for nothing): no two hosts may send one, and a
# sensor or site of the sheet must come from the host the shard rule gives
# it, or the host list is not the one the data was placed by.
fleet_gather() {
	awk -F '\t' -v who="$fleet_who" -v dir="$1" '
		FILENAME ~ /hosts$/ { host[++n] = $0; next }
		{ place["sensor " $2] = place["site " $3] = $1 }
		END {
			for (i = 1; i <= n; i++) {
				f = dir "/out." i
				ended = 0
				while ((getline < f) > 0) {
					if ($0 == "#end") { ended = 1; continue }
					o = '"$2"'
					if (o == "" || ((o in from) && from[o] == i)) { print; continue }
					if (o in from) {
						printf "%s: %s comes from %s and from %s; it belongs on one host\n",
						    who, o, host[from[o]], host[i] >"/dev/stderr"
						exit 1
					}
					if ((o in place) && place[o] != i) {
						printf "%s: %s is on %s, but the shard rule puts it on %s: is this the host list its data was placed by?\n",
						    who, o, host[i], host[place[o]] >"/dev/stderr"
						exit 1
					}
					from[o] = i
					print
				}
				close(f)
				if (!ended) {
					printf "%s: %s: no end mark: cut short, or another run was busy there\n",
					    who, host[i] >"/dev/stderr"
					exit 1
				}
			}
		}' "$1/hosts" "$1/placed"
}
