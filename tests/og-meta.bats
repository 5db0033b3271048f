#!/usr/bin/env bats
# og-meta: the sensor sheet read as CSV (from a file, stdin or http), checked
# whole, selected from and printed as tab-separated lines.

load helper

setup() {
	setup_scratch
	SHEET=$TOP/pipelines/sample/sheet.csv
}

teardown() {
	if [ -n "${SERVER_PID:-}" ]; then
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
	return 0
}

# spaces to tabs: expected output written readably
tabs() { tr ' ' '\t'; }

# The sample sheet in the default form, for the selection tests.
sample_default() {
	tabs <<'EOF'
3547c3bf841e38b071e205eb45f0de26 anderlecht gridImport electricity Wh
906a467721eb06c030a2b17ce357aa62 anderlecht gridExport electricity Wh
ef5a2cdca97862f59a41b9980b86d6c1 anderlecht pvProd electricity Wh
0a7f94c69bc2631b7c1dd0bc25043568 anderlecht gridGas gas l
fe27eed8fe0497d1454b77a04a8a7960 gent gridNet electricity Wh
71cefb0221d77532c690808c828c77ea gent pvProd electricity Wh
3a6742ea69410899d03cf3330be9e434 gent gridWater water l
d9096b4a3a05ad34ee5e5cca11958cfd hasselt gridCons electricity Wh
fed676021dacaaf6a12a8dda7685be34 leuven gridImport electricity Wh
527a737e3b5959d25ad4bb9ff4e32b36 leuven gridGas gas l
edc68cd1f4b81375abab25580f432354 leuven gridWater water l
2cd6bbeb745606e2693fb643be681241 leuven gridSub electricity Wh
027bccbf840c97f6ed5b1b2968e65189 namur gridImport electricity Wh
b0467df49abebbfc5993e9a8bfb2155f namur gridSub electricity Wh
d8dbf9948e7dfbbc013424e043bcb4f2 namur gridSub electricity Wh
1e438ef8a670a4d265cebba93cac9347 namur gridGas gas l
db903ef1bd0bab04012f6a2d869a1367 brugge gridNet electricity Wh
1aaab7e0051136ec709752b2fec3b77d brugge heatProd heat Wh
67f519fe005b7c19e431916c5e355db3 brugge gridWater water l
EOF
}

VALID="gridImport, gridExport, gridNet, gridCons, pvProd, gridSub, gridGas, gridWater, heatProd"

# run og-meta on a sheet given on stdin; an error must leave stdout empty
meta_err() {
	run --separate-stderr og-meta "$@"
	refute_sanitizer
	[ -z "$output" ] || { echo "partial output: $output"; return 1; }
}

# A loopback HTTP server over the current directory: /moved redirects to
# /sheet.csv, /loop redirects to itself, anything missing is a 404.
# start_server tls serves https with a self-signed certificate.
start_server() {
	if [ "${1:-}" = tls ]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		    -nodes -keyout key.pem -out cert.pem -days 1 \
		    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
		    2>/dev/null
	fi
	cat >server.py <<'PY'
import http.server, os, ssl
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path.startswith('/moved'):
            self.send_response(302); self.send_header('Location', '/sheet.csv')
            self.send_header('Content-Length', '0'); self.end_headers()
        elif self.path.startswith('/loop'):
            self.send_response(302); self.send_header('Location', '/loop')
            self.send_header('Content-Length', '0'); self.end_headers()
        else:
            super().do_GET()
s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
if os.path.exists('cert.pem'):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain('cert.pem', 'key.pem')
    s.socket = ctx.wrap_socket(s.socket, server_side=True)
open('port.tmp', 'w').write(str(s.server_address[1]))
os.rename('port.tmp', 'port')
s.serve_forever()
PY
	python3 server.py >/dev/null 2>&1 3>&- &
	SERVER_PID=$!
	for _ in $(seq 100); do
		[ -s port ] && break
		sleep 0.05
	done
	PORT=$(cat port)
	URL=http://127.0.0.1:$PORT
}

@test "the sample sheet prints SENSOR SITE CATEGORY TYPE UNIT per sensor, in sheet order" {
	run og-meta "$SHEET"
	assert_success
	assert_output "$(sample_default)"
}

@test "-H prints a header line first" {
	run og-meta -H "$SHEET"
	assert_success
	assert_line --index 0 "$(printf 'sensor\tsite\tcategory\ttype\tunit')"
	[ "${#lines[@]}" -eq 20 ]
	run og-meta -H -f Site,TOKEN -S hasselt "$SHEET"
	assert_output "$(printf 'Site\tTOKEN\nhasselt\t6bbdbab51fb4aa993b125417b6de60b7')"
}

@test "-c selects a category, and repeated -c are ORed" {
	run og-meta -c pvProd "$SHEET"
	assert_success
	assert_output "$(tabs <<'EOF'
ef5a2cdca97862f59a41b9980b86d6c1 anderlecht pvProd electricity Wh
71cefb0221d77532c690808c828c77ea gent pvProd electricity Wh
EOF
)"
	run og-meta -c gridNet -c gridCons "$SHEET"
	assert_output "$(tabs <<'EOF'
fe27eed8fe0497d1454b77a04a8a7960 gent gridNet electricity Wh
d9096b4a3a05ad34ee5e5cca11958cfd hasselt gridCons electricity Wh
db903ef1bd0bab04012f6a2d869a1367 brugge gridNet electricity Wh
EOF
)"
}

@test "-S selects sites and -t types (case-insensitively), each ORed when repeated" {
	run og-meta -S hasselt -S gent "$SHEET"
	assert_success
	assert_output "$(sample_default | awk '$2 == "gent" || $2 == "hasselt"')"
	run og-meta -t GAS -t Water "$SHEET"
	assert_success
	assert_output "$(sample_default | awk '$4 == "gas" || $4 == "water"')"
	[ "${#lines[@]}" -eq 6 ]
}

@test "-c, -S and -t are ANDed across options" {
	run og-meta -S leuven -c gridGas -c gridImport "$SHEET"
	assert_output "$(tabs <<'EOF'
fed676021dacaaf6a12a8dda7685be34 leuven gridImport electricity Wh
527a737e3b5959d25ad4bb9ff4e32b36 leuven gridGas gas l
EOF
)"
	run og-meta -S leuven -S namur -t electricity -c gridSub "$SHEET"
	assert_output "$(tabs <<'EOF'
2cd6bbeb745606e2693fb643be681241 leuven gridSub electricity Wh
b0467df49abebbfc5993e9a8bfb2155f namur gridSub electricity Wh
d8dbf9948e7dfbbc013424e043bcb4f2 namur gridSub electricity Wh
EOF
)"
	run og-meta -S hasselt -c pvProd "$SHEET"
	assert_success
	assert_output ""
}

@test "every combination of -c, -S and -t selects what awk selects from the whole sheet" {
	sample_default >all
	cats=("" "-c gridImport" "-c pvProd -c gridNet" "-c gridGas -c gridWater -c heatProd")
	sites=("" "-S anderlecht" "-S gent -S brugge" "-S leuven -S namur -S hasselt")
	types=("" "-t electricity" "-t gas -t WATER" "-t heat -t electricity")
	n=0
	for c in "${cats[@]}"; do
		for s in "${sites[@]}"; do
			for t in "${types[@]}"; do
				# shellcheck disable=SC2086
				og-meta $c $s $t "$SHEET" >got
				awk -v c="$c" -v s="$s" -v t="$t" '
				function has(opts, v,  n, a, i) {
					if (opts == "") return 1
					n = split(opts, a, " ")
					for (i = 2; i <= n; i += 2)
						if (tolower(a[i]) == tolower(v)) return 1
					return 0
				}
				has(c, $3) && has(s, $2) && has(t, $4)' all >want
				diff want got || { echo "options: $c $s $t"; return 1; }
				n=$((n + 1))
			done
		done
	done
	[ "$n" -eq 64 ]
}

@test "-f chooses and orders the columns; the token prints only when named" {
	run og-meta "$SHEET"
	refute_output --partial 45b4225ae99a235fb6b4ef5177dd2190
	run og-meta -f sensor,token -S anderlecht "$SHEET"
	assert_success
	assert_output "$(tabs <<'EOF'
3547c3bf841e38b071e205eb45f0de26 45b4225ae99a235fb6b4ef5177dd2190
906a467721eb06c030a2b17ce357aa62 334e4ef91019ab6935970e76243785bf
ef5a2cdca97862f59a41b9980b86d6c1 5e0d037f750495a267dc78e1b22fa370
0a7f94c69bc2631b7c1dd0bc25043568 5db9059edfab7d0730fb17df5af4f5b3
EOF
)"
	run og-meta -f POSTCODE,site -f Inhabitants -c gridCons "$SHEET"
	assert_output "$(printf '3500\thasselt\t1')"
	run og-meta -f description,description -S hasselt "$SHEET"
	assert_output "$(printf 'main consumption, after the PV connection\tmain consumption, after the PV connection')"
}

@test "-f naming a column the sheet lacks is an error naming it" {
	meta_err -f sensor,floorarea "$SHEET"
	assert_failure 1
	assert_equal "$stderr" "og-meta: $SHEET: no column 'floorarea' (the sheet has: site, device, sensor, token, type, category, unit, description, inhabitants, postcode, latitude, longitude)"
	printf 'sensor,site,category\nabc,x,gridNet\n' >s.csv
	meta_err -f sensor,unit s.csv
	assert_failure 1
	assert_equal "$stderr" "og-meta: s.csv: no column 'unit' (the sheet has: sensor, site, category)"
}

@test "a sheet without type and unit columns prints them as -" {
	printf 'site,sensor,category\nx,abc,gridNet\n' >s.csv
	run og-meta s.csv
	assert_success
	assert_output "$(printf 'abc\tx\tgridNet\t-\t-')"
}

@test "-l sites lists each site with its sensor count and categories" {
	run og-meta -H -l sites "$SHEET"
	assert_success
	assert_output "$(tabs <<'EOF'
site sensors categories
anderlecht 4 gridImport,gridExport,pvProd,gridGas
gent 3 gridNet,pvProd,gridWater
hasselt 1 gridCons
leuven 4 gridImport,gridSub,gridGas,gridWater
namur 4 gridImport,gridSub,gridGas
brugge 3 gridNet,gridWater,heatProd
EOF
)"
}

@test "-l sites lists only what the selection keeps" {
	run og-meta -l sites -c pvProd -c gridSub "$SHEET"
	assert_success
	assert_output "$(tabs <<'EOF'
anderlecht 1 pvProd
gent 1 pvProd
leuven 1 gridSub
namur 2 gridSub
EOF
)"
	printf 'sensor,site,type,category\nt1,x,temperature,\nt2,x,humidity,\n' >s.csv
	run og-meta -l sites s.csv
	assert_output "$(printf 'x\t2\t-')"
}

@test "usage errors exit 2: a bad category, list, field list, or -f with -l" {
	meta_err -c gridimport "$SHEET"
	assert_failure 2
	assert_equal "$stderr" "og-meta: unknown category 'gridimport' (valid: $VALID)"
	meta_err -l sensors "$SHEET"
	assert_failure 2
	assert_equal "$stderr" "og-meta: -l: unknown list 'sensors' (valid: sites)"
	meta_err -f sensor,,site "$SHEET"
	assert_failure 2
	assert_equal "$stderr" "og-meta: -f: empty field name in 'sensor,,site'"
	meta_err -f sensor -l sites "$SHEET"
	assert_failure 2
	assert_equal "$stderr" "og-meta: -f and -l do not combine"
	meta_err "$SHEET" "$SHEET"
	assert_failure 2
	[[ "$stderr" == "usage: og-meta "* ]]
}

@test "-S naming a site the sheet lacks is an error, not an empty answer" {
	meta_err -S hasselt -S Hasselt "$SHEET"
	assert_failure 1
	assert_equal "$stderr" "og-meta: $SHEET: no site 'Hasselt'"
}

@test "- reads the sheet from stdin" {
	run og-meta -c gridGas - <"$SHEET"
	assert_success
	assert_output "$(sample_default | awk '$3 == "gridGas"')"
}

@test "a missing file is an error naming it" {
	meta_err nowhere.csv
	assert_failure 1
	assert_equal "$stderr" "og-meta: nowhere.csv: No such file or directory"
}

@test "quoted fields keep commas, doubled quotes and line ends; tabs and line ends print as spaces" {
	printf '%s\r\n' 'sensor,site,category,description' \
	    'a1,x,gridNet,"one, two"' \
	    'a2,x,gridNet,"say ""hi"""' \
	    'a3,x,gridNet,"line one' 'line two"' \
	    "a4,x,gridNet,\"tab	inside\"" \
	    'a5,x,gridNet,""' \
	    '"a6","x","gridNet","plain"' \
	    'a7,x,gridNet,5" pipe a""b' >s.csv
	run og-meta -f sensor,description s.csv
	assert_success
	assert_output "$(printf '%s\n' 'a1	one, two' 'a2	say "hi"' \
	    'a3	line one line two' 'a4	tab inside' 'a5	-' 'a6	plain' \
	    'a7	5" pipe a""b')"
}

@test "a BOM, CRLF, LF or CR line ends read the same" {
	og-meta "$SHEET" >want
	printf '\357\273\277' >bom.csv
	sed 's/$/\r/' "$SHEET" >>bom.csv
	run og-meta bom.csv
	assert_output "$(cat want)"
	tr '\n' '\r' <"$SHEET" >cr.csv
	run og-meta cr.csv
	assert_output "$(cat want)"
	head -c -1 "$SHEET" >nolf.csv
	run og-meta nolf.csv
	assert_output "$(cat want)"
}

@test "columns are found by name in any order and case; values are trimmed" {
	printf '%s\n' ' Unit ,CATEGORY,extra,Site,TYPE,Sensor' \
	    'Wh,gridImport,1, x ,electricity, s1' \
	    '" l ",gridGas,2,y,gas,s2	' >s.csv
	run og-meta -H s.csv
	assert_success
	assert_output "$(tabs <<'EOF'
sensor site category type unit
s1 x gridImport electricity Wh
s2 y gridGas gas l
EOF
)"
}

@test "blank rows are skipped and short rows read as empty fields" {
	printf '%s\n' 'sensor,site,type,category,unit' '' 'a,x,temperature' ',,,,' \
	    'b,y,gas,gridGas,l' >s.csv
	run og-meta s.csv
	assert_success
	assert_output "$(printf 'a\tx\t-\ttemperature\t-\nb\ty\tgridGas\tgas\tl')"
}

@test "category is optional for sensors that are not electricity, gas, water or heat" {
	printf '%s\n' 'sensor,site,type,category' 't1,x,temperature,' 'e1,x,Electricity,gridNet' >s.csv
	run og-meta -f sensor,category s.csv
	assert_success
	assert_output "$(printf 't1\t-\ne1\tgridNet')"
	printf '%s\n' 'sensor,site,type' 't1,x,temperature' >s.csv
	run og-meta -l sites s.csv
	assert_output "$(printf 'x\t1\t-')"
}

@test "an unknown category names the row and value and lists the valid ones" {
	printf '%s\n' 'sensor,site,category' 'a,x,gridNet' 'b,x,gridimport' 'c,x,bogus' >s.csv
	meta_err s.csv
	assert_failure 1
	assert_equal "$stderr" "og-meta: s.csv:3: unknown category 'gridimport' (valid: $VALID)"
}

@test "an energy sensor without a category is an error" {
	printf '%s\n' 'sensor,site,type,category' 'a,x,temperature,' 'b,x,electricity,' >s.csv
	meta_err s.csv
	assert_failure 1
	assert_equal "$stderr" "og-meta: s.csv:3: empty category for electricity sensor 'b' (valid: $VALID)"
	printf '%s\n' 'sensor,site,category' 'a,x, ' >s.csv
	meta_err s.csv
	assert_equal "$stderr" "og-meta: s.csv:2: empty category for sensor 'a' (valid: $VALID)"
	printf '%s\n' 'sensor,site,type' 'a,x,humidity' 'b,x,Gas' >s.csv
	meta_err s.csv
	assert_failure 1
	assert_equal "$stderr" "og-meta: s.csv:3: no category column, but the Gas sensor 'b' needs one"
}

@test "a sheet saved with ';' by Excel in a Belgian locale reads as with ','" {
	printf '%s\r\n' 'site;sensor;category;type;description' \
	    'gent;aaaa;gridNet;electricity;"net meter; reversible"' \
	    '"b;1";bbbb;gridGas;gas;"gas, 10 l"' >semi.csv
	printf '%s\n' 'site,sensor,category,type,description' \
	    'gent,aaaa,gridNet,electricity,net meter; reversible' \
	    'b;1,bbbb,gridGas,gas,"gas, 10 l"' >comma.csv
	run og-meta -f sensor,site,description semi.csv
	assert_success
	assert_output "$(printf 'aaaa\tgent\tnet meter; reversible\nbbbb\tb;1\tgas, 10 l')"
	check_same "og-meta semi.csv" "og-meta comma.csv"
	# a header of more commas than semicolons keeps ','
	printf '%s\n' 'site,sensor,category,note' 'x,cccc,gridCons,a;b;c;d' >mixed.csv
	run og-meta -f note mixed.csv
	assert_output "a;b;c;d"
}

@test "a missing required column is an error on row 1" {
	printf '%s\n' 'sensors,site,category' 'a,x,gridNet' >s.csv
	meta_err s.csv
	assert_failure 1
	assert_equal "$stderr" "og-meta: s.csv:1: missing column 'sensor' (the header has 'sensors', 'site', 'category')"
	printf '%s\n' 'sensor,category' 'a,gridNet' >s.csv
	meta_err s.csv
	assert_equal "$stderr" "og-meta: s.csv:1: missing column 'site' (the header has 'sensor', 'category')"
	printf '%s\n' 'sensor,site,Sensor' >s.csv
	meta_err s.csv
	assert_equal "$stderr" "og-meta: s.csv:1: duplicate column 'Sensor' (columns 1 and 3)"
}

@test "a duplicate sensor names both rows, counting rows as records, not lines" {
	printf '%s\n' 'sensor,site,category,description' 'a,x,gridNet,"two' 'lines"' \
	    'b,x,gridNet,' 'a,y,pvProd,' >s.csv
	meta_err s.csv
	assert_failure 1
	assert_equal "$stderr" "og-meta: s.csv:4: duplicate sensor 'a' (first on row 2)"
}

@test "a duplicate among many sensors is found" {
	{
		echo sensor,site,category
		seq -f 's%g,x,gridNet' 5000
		echo s1234,y,gridNet
	} >s.csv
	meta_err s.csv
	assert_failure 1
	assert_equal "$stderr" "og-meta: s.csv:5002: duplicate sensor 's1234' (first on row 1235)"
}

@test "an empty sensor or site is an error naming the row" {
	printf '%s\n' 'sensor,site,category' 'a,x,gridNet' ' ,x,gridNet' >s.csv
	meta_err s.csv
	assert_failure 1
	assert_equal "$stderr" "og-meta: s.csv:3: empty sensor"
	printf '%s\n' 'sensor,site,category' 'a,"",gridNet' >s.csv
	meta_err s.csv
	assert_failure 1
	assert_equal "$stderr" "og-meta: s.csv:2: empty site for sensor 'a'"
}

@test "sensor and site must be usable as record keys" {
	printf '%s\n' 'sensor,site,category' 'a b,x,gridNet' >s.csv
	meta_err s.csv
	assert_failure 1
	assert_equal "$stderr" "og-meta: s.csv:2: bad sensor 'a b': it names records, so it must be printable ASCII without spaces, at most 255 bytes"
	printf '%s\n' 'sensor,site,category' 'a,north/south,gridNet' >s.csv
	meta_err s.csv
	assert_equal "$stderr" "og-meta: s.csv:2: bad site 'north/south': it names records, so it must be printable ASCII without spaces or '/', at most 255 bytes"
	printf 'sensor,site,category\na,"x\ny",gridNet\n' >s.csv
	meta_err s.csv
	assert_equal "$stderr" "og-meta: s.csv:2: bad site 'x\\012y': it names records, so it must be printable ASCII without spaces or '/', at most 255 bytes"
}

@test "malformed CSV is an error naming the row, the column and the line" {
	printf '%s\n' 'sensor,site,category,description' 'a,x,gridNet,"fine' 'still fine"' \
	    'b,x,gridNet,"never closed' 'c,x,gridNet,' >s.csv
	meta_err s.csv
	assert_failure 1
	assert_equal "$stderr" "og-meta: s.csv:3: unterminated quoted field in column 'description' (line 4)"
	printf '%s\n' 'sensor,site,category' 'a,"x"y,gridNet' >s.csv
	meta_err s.csv
	assert_equal "$stderr" "og-meta: s.csv:2: text after a closing quote in column 'site'"
	printf '%s\n' 'sensor,"site' >s.csv
	meta_err s.csv
	assert_equal "$stderr" "og-meta: s.csv:1: unterminated quoted field in field 2"
	printf 'sensor,site,category\na,x\0,gridNet\n' >s.csv
	meta_err s.csv
	assert_failure 1
	assert_equal "$stderr" "og-meta: s.csv:2: NUL byte in column 'site'"
}

@test "a row with more fields than the header is an error" {
	printf '%s\n' 'sensor,site,category' 'a,x,gridNet,,' 'b,x,gridNet,oops' >s.csv
	meta_err s.csv
	assert_failure 1
	assert_equal "$stderr" "og-meta: s.csv:3: 4 fields, but the header names 3 columns"
}

@test "an empty sheet is an error; a header alone is an empty sheet of sensors" {
	: >s.csv
	meta_err s.csv
	assert_failure 1
	assert_equal "$stderr" "og-meta: s.csv: empty sheet (no header row)"
	printf 'sensor,site\n' >s.csv
	run og-meta -H s.csv
	assert_success
	assert_output "$(printf 'sensor\tsite\tcategory\ttype\tunit')"
}

@test "an error on the last row leaves no partial output" {
	{ cat "$SHEET"; echo 'elsewhere,,fed676021dacaaf6a12a8dda7685be34,,electricity,gridNet,Wh,,,'; } >s.csv
	meta_err s.csv
	assert_failure 1
	assert_equal "$stderr" "og-meta: s.csv:21: duplicate sensor 'fed676021dacaaf6a12a8dda7685be34' (first on row 10)"
}

@test "a sheet larger than 64 MiB is refused" {
	head -c 67108865 /dev/zero | tr '\0' 'a' >big.csv
	meta_err big.csv
	assert_failure 1
	assert_equal "$stderr" "og-meta: big.csv: larger than 67108864 bytes"
}

@test "the sheet is fetched over http, following redirects" {
	cp "$SHEET" sheet.csv
	start_server
	run og-meta "$URL/sheet.csv"
	assert_success
	assert_output "$(sample_default)"
	run og-meta -l sites -c gridGas "$URL/moved?gid=0&format=csv"
	assert_success
	assert_output "$(printf 'anderlecht\t1\tgridGas\nleuven\t1\tgridGas\nnamur\t1\tgridGas')"
}

@test "http errors are clear and never show the URL's path, query or credentials" {
	start_server
	meta_err "http://reader:s3cret@127.0.0.1:$PORT/d/KEY123/export?token=abc"
	assert_failure 1
	assert_equal "$stderr" "og-meta: http://127.0.0.1:$PORT/...: HTTP 404"
	meta_err "$URL/loop?token=abc"
	assert_failure 1
	assert_equal "$stderr" "og-meta: http://127.0.0.1:$PORT/...: Maximum (5) redirects followed"
	printf 'sensor,site,category\na,x,bad\n' >bad.csv
	meta_err "$URL/bad.csv?key=s3cret"
	assert_failure 1
	assert_equal "$stderr" "og-meta: http://127.0.0.1:$PORT/...:2: unknown category 'bad' (valid: $VALID)"
}

@test "an HTML page where the sheet should be is named as such" {
	printf '<!DOCTYPE html>\n<html><body>Sign in</body></html>\n' >login.html
	start_server
	meta_err "$URL/login.html"
	assert_failure 1
	assert_equal "$stderr" "og-meta: http://127.0.0.1:$PORT/...: an HTML page, not CSV (is the sheet shared, and the link its CSV export?)"
}

@test "an unreachable server is an error" {
	start_server
	kill "$SERVER_PID"
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=
	meta_err "$URL/sheet.csv"
	assert_failure 1
	[[ "$stderr" == "og-meta: http://127.0.0.1:$PORT/...: "*"onnect"* ]]
	[[ "$stderr" != *sheet.csv* ]]
}

@test "https verifies the server's certificate" {
	cp "$SHEET" sheet.csv
	start_server tls
	meta_err "https://127.0.0.1:$PORT/sheet.csv"
	assert_failure 1
	[[ "$stderr" == "og-meta: https://127.0.0.1:$PORT/...: SSL certificate problem: self"*"signed certificate" ]]
}

@test "an http body larger than 64 MiB or an empty one is refused" {
	head -c 67108865 /dev/zero | tr '\0' 'a' >big.csv
	: >empty.csv
	start_server
	meta_err "$URL/big.csv"
	assert_failure 1
	assert_equal "$stderr" "og-meta: http://127.0.0.1:$PORT/...: body larger than 67108864 bytes"
	meta_err "$URL/empty.csv"
	assert_failure 1
	assert_equal "$stderr" "og-meta: http://127.0.0.1:$PORT/...: empty sheet (no header row)"
}

@test "a failed write is an error, not silence" {
	[ -w /dev/full ] || skip "no /dev/full"
	run --separate-stderr sh -c 'og-meta -l sites "$1" >/dev/full' sh "$SHEET"
	refute_sanitizer
	assert_failure 1
	assert_equal "$stderr" "og-meta: <stdout>: write error: No space left on device"
}
