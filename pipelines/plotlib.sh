# plotlib.sh: gnuplot helpers shared by job_daily's report and the scripts.
# Each plot is a gnuplot script written on standard output by the caller and
# piped into plot_run, which writes the PNG beside its place and renames it.

# plot_start PNG WIDTH HEIGHT: the terminal and common looks
plot_start() {
	cat <<GP
set terminal pngcairo size $2,$3 font 'DejaVu Sans,10' linewidth 1
set output '$(gp_quote "$1").tmp'
set datafile separator ','
set datafile columnheaders
set grid
set key top left horizontal opaque
set border 3; set xtics nomirror; set ytics nomirror
set lmargin 11; set rmargin 11
set linetype 1 lc rgb '#1f77b4'
set linetype 2 lc rgb '#ff7f0e'
set linetype 3 lc rgb '#2ca02c'
set linetype 4 lc rgb '#d62728'
set linetype 5 lc rgb '#9467bd'
set linetype 6 lc rgb '#8c564b'
set linetype 7 lc rgb '#e377c2'
set linetype 8 lc rgb '#7f7f7f'
GP
}

# plot_days CSV [COLUMN]: a time axis of the local dates in that column (1)
# of the CSV file, all days shown whole; each day's value is drawn at noon
# (x = day(1)), so that a line over a year and a bar of one day both read well
plot_days() {
	set -- $(awk -F ',' -v c="${2:-1}" 'NR > 1 && $c != "" { if (!f || $c < f) f = $c; if ($c > l) l = $c }
		END { print f, l }' "$1")
	[ $# -eq 2 ] || set -- 1970-01-01 1970-01-01
	cat <<GP
set xdata time
set timefmt '%Y-%m-%d'
set format x "%d %b\\n%Y"
set xlabel 'local date'
set xrange ['$1':'$(date -u -d "$2 + 1 day" +%F)']
set offsets 0, 0, graph 0.3, 0
day(c) = timecolumn(c, '%Y-%m-%d') + 43200
GP
}

# plot_run PNG: run the script on standard input, then put the PNG in place
plot_run() {
	gnuplot || { rm -f "$1.tmp"; return 1; }
	mv -f "$1.tmp" "$1"
}

# gp_quote TEXT: TEXT for a single-quoted gnuplot string
gp_quote() {
	printf '%s' "$1" | sed "s/'/''/g"
}

# series_title CATEGORY: what people call it
series_title() {
	case $1 in
	siteCons) echo "site consumption" ;;
	gridImport) echo "grid import" ;;
	gridExport) echo "grid export" ;;
	gridNet) echo "grid, net" ;;
	gridCons) echo "consumption" ;;
	pvProd) echo "PV production" ;;
	gridSub) echo "submeters" ;;
	gridGas) echo "gas" ;;
	gridWater) echo "water" ;;
	heatProd) echo "solar heat" ;;
	*) echo "$1" ;;
	esac
}

# has FILE COLUMN: the CSV file has that column with a value somewhere
has() {
	awk -F ',' -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; if (!k) exit 1; next }
		$k != "" { found = 1; exit } END { exit !found }' "$1"
}

# community_plot CSV PNG: the community's daily means, with their range;
# the gas and water panel and the standby panel only when some household
# has such values
community_plot() {
	n=1 gas= water= standby=
	if has "$1" "mean gridGas (m3)"; then gas=1; fi
	if has "$1" "mean gridWater (m3)"; then water=1; fi
	if has "$1" "mean standby (W)"; then standby=1; fi
	[ -z "$gas$water" ] || n=$((n + 1))
	[ -z "$standby" ] || n=$((n + 1))
	{
		plot_start "$2" 1000 $((230 * n + 90))
		echo "set multiplot layout $n,1 title 'Community: daily averages over the households' font ',13'"
		plot_days "$1"
		echo "set title 'Site consumption (electricity)'; set ylabel 'kWh per day'; set yrange [*<0:0<*]"
		echo "plot '$1' using (day(1)):(column('min siteCons (kWh)')):(column('max siteCons (kWh)')) with filledcurves fs solid 1 noborder lc rgb '#c6dbef' title 'lowest to highest household', '' using (day(1)):(column('mean siteCons (kWh)')) with lines lw 2 lc rgb '#1f77b4' title 'mean of the households'"
		if [ -n "$gas" ] && [ -n "$water" ]; then
			echo "set title 'Gas and water'; set ylabel 'gas, m³ per day'; set y2label 'water, litres per day'; set y2tics; set yrange [0:*]; set y2range [0:*]"
			echo "plot '$1' using (day(1)):(column('mean gridGas (m3)')) with lines lw 1.5 lt 2 title 'mean gas (m³, left axis)', '' using (day(1)):(column('mean gridWater (m3)') * 1000) axes x1y2 with lines lw 1.5 lt 3 title 'mean water (litres, right axis)'"
			echo "unset y2tics; unset y2label"
		elif [ -n "$gas" ]; then
			echo "set title 'Gas'; set ylabel 'gas, m³ per day'; set yrange [0:*]"
			echo "plot '$1' using (day(1)):(column('mean gridGas (m3)')) with lines lw 1.5 lt 2 title 'mean gas (m³)'"
		elif [ -n "$water" ]; then
			echo "set title 'Water'; set ylabel 'water, litres per day'; set yrange [0:*]"
			echo "plot '$1' using (day(1)):(column('mean gridWater (m3)') * 1000) with lines lw 1.5 lt 3 title 'mean water (litres)'"
		fi
		if [ -n "$standby" ]; then
			echo "set title 'Standby power: the lowest quarter-hour power between 01:00 and 06:00'; set ylabel 'W'; set yrange [0:*]"
			echo "plot '$1' using (day(1)):(column('mean standby (W)')) with lines lw 1.5 lc rgb '#d62728' title 'mean standby of the households'"
		fi
		echo "unset multiplot"
	} | plot_run "$2"
}

# monthly_sites_plot CSV PNG: monthly site consumption per household, as
# bars, and its table beside the PNG as NAME-monthly.csv
monthly_sites_plot() {
	m=${2%.png}-monthly.csv
	awk -F ',' '
		NR == 1 { next }
		{ mo = substr($2, 1, 7); if (!(mo in seen)) { seen[mo] = 1; months[++nm] = mo }
		  if (!($1 in known)) { known[$1] = 1; sites[++ns] = $1 }
		  if ($3 != "") v[mo, $1] += $3 }
		END {
			printf "month"; for (j = 1; j <= ns; j++) printf ",%s (kWh)", sites[j]; printf "\n"
			for (i = 1; i <= nm; i++) { printf "%s", months[i]
				for (j = 1; j <= ns; j++) printf ",%.1f", v[months[i], sites[j]]; printf "\n" }
		}' "$1" >"$m.tmp"
	mv -f "$m.tmp" "$m"
	n=$(head -n 1 "$m" | awk -F ',' '{ print NF }')
	{
		plot_start "$2" 1000 420
		echo "set title 'Site consumption (electricity) per household and month' font ',12'"
		echo "set style data histograms; set style histogram clustered gap 1; set style fill solid 0.85 noborder"
		echo "set ylabel 'kWh per month'; set xlabel 'month'; set yrange [*<0:0<*]; set key outside right top vertical; set rmargin 24"
		echo "set xtics rotate by -45"
		echo "plot for [i=2:$n] '$m' using i:xtic(1) title columnhead(i)"
	} | plot_run "$2"
}

# gas_months CSV MODEL: per month of job_daily's gas-SITE.csv (the days
# og-fit modelled) with og-fit's model file: month, days, measured m3,
# predicted m3 and the 95% interval of the month's sum, days above and below
# their own interval.  The month's interval is that of a sum of new days,
# sum(x)'b +- t sqrt(s2 (n + sum(x)' (X'X)^-1 sum(x))), s2 the residual
# variance of the fit and X its rows (1, HDD), as statsmodels' prediction
# of a sum would give it; t, the quantile og-fit used, is read back from
# the days' intervals.  Negative predictions and bounds print as 0.
gas_months() {
	awk -F ',' '
		FILENAME ~ /\.tsv$/ { if ($1 !~ /^#/) { split($0, t, "\t"); b[p++] = t[2] } next }
		FNR == 1 { next }
		{
			n++; d[n] = $1; y[n] = $2; h[n] = $3; lo[n] = $5; hi[n] = $6; out[n] = $7
			sh += $3; shh += $3 * $3
		}
		END {
			if (!n || !p) exit
			for (i = 1; i <= n; i++) { m[i] = b[0] + (p > 1 ? b[1] * h[i] : 0); ssr += (y[i] - m[i]) ^ 2 }
			s2 = ssr / (n - p)
			if (p > 1) { det = n * shh - sh * sh; i00 = shh / det; i01 = -sh / det; i11 = n / det }
			else i00 = 1 / n
			for (i = 1; i <= n; i++) {	# t from each day: its half-width over its sd
				q = i00 + (p > 1 ? 2 * h[i] * i01 + h[i] * h[i] * i11 : 0)
				if (s2 > 0) { tq += (hi[i] - lo[i]) / 2 / sqrt(s2 * (1 + q)); nt++ }
			}
			tq = nt ? tq / nt : 0
			print "month,days,measured (m3),predicted (m3),lower (m3),upper (m3),days above,days below"
			for (i = 1; i <= n; i++) {
				mo = substr(d[i], 1, 7)
				if (!(mo in k)) { k[mo] = 1; months[++nm] = mo }
				c[mo]++; Y[mo] += y[i]; M[mo] += m[i]; H[mo] += h[i]
				if (out[i] == "above") up[mo]++
				if (out[i] == "below") down[mo]++
			}
			for (j = 1; j <= nm; j++) {
				mo = months[j]
				q = c[mo] * c[mo] * i00 + (p > 1 ? 2 * c[mo] * H[mo] * i01 + H[mo] * H[mo] * i11 : 0)
				w = tq * sqrt(s2 * (c[mo] + q))
				printf "%s,%d,%.1f,%.1f,%.1f,%.1f,%d,%d\n", mo, c[mo], Y[mo], pos(M[mo]), pos(M[mo] - w), pos(M[mo] + w), up[mo], down[mo]
			}
		}
		function pos(x) { return x > 0 ? x : 0 }' "$2" "$1"
}

# gas_plot CSV MONTHS PNG TITLE: daily gas against heating degree days,
# with og-fit's line, its 95% interval and the days outside it marked; and
# per month the gas measured beside the predicted, with its interval
gas_plot() {
	base=$(head -n 1 "$1" | cut -d , -f 3 | sed 's/^HDD \([0-9.]*\) .*/\1/')
	{
		plot_start "$3" 1000 820
		echo "set multiplot layout 2,1 title '$(gp_quote "$4")' font ',13'"
		echo "set title 'Each day: gas against heating degree days below $base °C'"
		echo "set xlabel 'heating degree days (°C·day)'; set ylabel 'gas (m³ per day)'"
		echo "set yrange [0:*]; set xrange [0:*]"
		echo "set key top left vertical opaque box"
		echo "plot '$1' using 3:(strcol(7) eq 'within' ? column(2) : 1/0) with points pt 7 ps 0.6 lc rgb '#1f77b4' title 'a day within the interval', \\"
		echo "  '' using 3:(strcol(7) eq 'above' ? column(2) : 1/0) with points pt 9 ps 1.3 lc rgb '#d62728' title 'more gas than the weather explains', \\"
		echo "  '' using 3:(strcol(7) eq 'below' ? column(2) : 1/0) with points pt 11 ps 1.3 lc rgb '#2ca02c' title 'less gas than the weather explains', \\"
		echo "  '' using 3:4 smooth unique with lines lw 2 lc rgb '#333333' title 'the model (og-fit)', \\"
		echo "  '' using 3:5 smooth unique with lines dt 2 lw 1.5 lc rgb '#7f7f7f' title '95% prediction interval', \\"
		echo "  '' using 3:6 smooth unique with lines dt 2 lw 1.5 lc rgb '#7f7f7f' notitle"
		echo "set title 'Each month: gas measured and predicted, with the 95% interval of the month'"
		echo "set xlabel 'month'; set ylabel 'gas (m³ per month)'; set xrange [-0.6:$(($(wc -l <"$2") - 2)).6]"
		echo "set style fill solid 0.6 noborder; set boxwidth 0.4; set xtics rotate by -45"
		echo "set key above horizontal"
		echo "plot '$2' using (\$0 - 0.2):(column('measured (m3)')):xtic(1) with boxes lc rgb '#1f77b4' title 'measured', \\"
		echo "  '' using (\$0 + 0.2):(column('predicted (m3)')) with boxes lc rgb '#bbbbbb' title 'predicted', \\"
		echo "  '' using (\$0 + 0.2):(column('predicted (m3)')):(column('lower (m3)')):(column('upper (m3)')) with yerrorbars pt 7 ps 0.4 lw 1.5 lc rgb '#333333' title '95% interval of the month'"
		echo "unset multiplot"
	} | plot_run "$3"
}

# ---- for the scripts: SCRIPT [-s START] [-e END] SHEET STORE WHAT OUT ------

siteCons=gridNet+gridImport+pvProd-gridExport+gridCons

# script_init USAGE "$@": options and arguments into start, end, sheet, store,
# what, out; a scratch directory in tmp; the sheet as og-metric reads it in
# $tmp/meta; kind=sensor or site
script_init() {
	usage=$1; shift
	export LC_ALL=C TZ="${TZ:-Europe/Brussels}"
	start= end=
	OPTIND=1
	while getopts s:e: opt; do
		case $opt in
		s) start=$OPTARG ;;
		e) end=$OPTARG ;;
		*) echo "usage: $usage" >&2; exit 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	[ $# -eq 4 ] || { echo "usage: $usage" >&2; exit 2; }
	sheet=$1 store=$2 what=$3 out=$4
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/og-script.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	trap 'exit 1' HUP INT TERM
	og-meta "$sheet" >"$tmp/meta"
	if awk -F '\t' -v w="$what" '$1 == w { f = 1 } END { exit !f }' "$tmp/meta"; then
		kind=sensor
	elif [ "$what" = all ] || awk -F '\t' -v w="$what" '$2 == w { f = 1 } END { exit !f }' "$tmp/meta"; then
		kind=site
	else
		echo "${0##*/}: $what: neither a sensor nor a site of $sheet" >&2
		exit 1
	fi
}

# sensors_of: the sensors WHAT stands for: itself, a site's or all
sensors_of() {
	awk -F '\t' -v w="$what" -v k="$kind" '(k == "sensor" && $1 == w) || (k == "site" && (w == "all" || $2 == w)) { print $1 }' "$tmp/meta"
}

# counters: the raw records of WHAT's sensors within -s and -e
counters() {
	# shellcheck disable=SC2046
	og-unpack ${start:+-s "$start"} ${end:+-e "$end"} "$store" $(sensors_of)
}

# power INTERVAL: WHAT's power per bucket, one key: a sensor's own (W, or
# l/min for liters), a site's consumption as siteCons (W); the unit in $tmp/unit
power() {
	if [ "$kind" = sensor ]; then
		awk -F '\t' -v w="$what" '$1 == w { print ($5 == "l") ? "l/min" : "W" }' "$tmp/meta" >"$tmp/unit"
		counters | og-metric -d ${OG_GAP:+-g "$OG_GAP"} -r -i "$1" -M "$tmp/meta"
	else
		echo W >"$tmp/unit"
		counters | og-metric -d ${OG_GAP:+-g "$OG_GAP"} -r -i "$1" -M "$tmp/meta" -x "power=$siteCons" |
			if [ "$what" = all ]; then
				awk -F '\t' -v OFS='\t' '{ $1 = "all" } 1' | og-metric -u -i "$1" -a sum
			else
				cat
			fi
	fi
}

# what_title: WHAT for people
what_title() {
	if [ "$kind" = sensor ]; then
		awk -F '\t' -v w="$what" '$1 == w { print $2 ", " $3 " (sensor " substr($1, 1, 8) "...)" }' "$tmp/meta"
	elif [ "$what" = all ]; then
		echo "all sites, site consumption"
	else
		echo "$what, site consumption"
	fi
}

# put FILE DEST: FILE into place by a rename (FILE must be beside DEST)
put() {
	mv -f "$1" "$2"
}

# gp_title TITLE [SUBTITLE]: a plot title, the subtitle on a second line
gp_title() {
	t=$(printf '%s' "$1" | sed 's/[\\"]/\\&/g')
	if [ $# -gt 1 ]; then
		printf 'set title "%s\\n%s" noenhanced font ",12"\n' "$t" "$(printf '%s' "$2" | sed 's/[\\"]/\\&/g')"
	else
		printf 'set title "%s" noenhanced font ",12"\n' "$t"
	fi
}

# period DAYS: the days a plot covers, for a subtitle
period() {
	if [ -n "$start$end" ]; then
		echo "$1 days, ${start:-the start} to ${end:-the end}"
	else
		echo "$1 days"
	fi
}
