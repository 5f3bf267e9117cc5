#!/bin/sh
# mta-compat: relayers.db is the file sendmail and Postfix read themselves
# (DESIGN.md, "relayers.db, the hash file (contract)"). Proves, with the real
# tools:
#  - a store written by `vsmtprelay add` (IPv4, IPv6 as two keys, mapped
#    IPv4, upper case and IPv6:-prefixed input) is read by sendmail's
#    `makemap -u hash` (exact key<TAB>value lines) and by Postfix's
#    `postmap -q` (values found, exit 1 for absent keys);
#  - its keys and values carry no trailing NUL (db5.3_dump -p);
#  - `vsmtprelay dump | makemap hash NEW` rebuilds an identical store;
#  - a map built by `makemap hash` from a text list works with vsmtprelay
#    dump, list, check, add, delete and expire;
#  - NUL-terminated maps (makemap -N, Postfix postmap) are refused by
#    `vsmtprelay add` with exit 65 and left byte-identical, while check and
#    delete work on them without mixing in keys without NUL;
#  - `vsmtprelay load` output is read by postmap -q and makemap -u;
#  - db5.3_verify passes after every step.
# Never skips: a missing tool is a failure that names the package.
# Needs no root. fail, need_env, need_tool, make_work_under and pass come
# from the MTA tests' library.
TEST_NAME=mta-compat
. "$(dirname "$0")/../mta/lib.sh"

need_env VSMTPRELAY POSTFIX_ROOT RELAYGATE_BUILD_ROOT
[ -x "$VSMTPRELAY" ] || fail "VSMTPRELAY=$VSMTPRELAY is not executable"
need_tool makemap:sendmail-bin db5.3_verify:db5.3-util \
	db5.3_dump:db5.3-util cmp:diffutils diff:diffutils sort:coreutils \
	date:coreutils
POSTMAP=$POSTFIX_ROOT/usr/sbin/postmap
[ -x "$POSTMAP" ] ||
	fail "$POSTMAP missing (scripts/install-deps.sh unpacks Postfix)"

# makemap refuses or warns in world-writable directories: work below the
# build directory, not /tmp.
make_work_under "$RELAYGATE_BUILD_ROOT"
printf 'relay_window = 30m\n' > "$work/relaygate.conf"
mkdir "$work/postfix" || fail "mkdir $work/postfix"
printf 'compatibility_level = 3.6\nmail_owner = daemon\nsetgid_group = mail\n' \
	> "$work/postfix/main.cf"

verifies=0

vsr() {
	"$VSMTPRELAY" -c "$work/relaygate.conf" "$@"
}

# verify FILE WHAT: db5.3_verify must pass.
verify() {
	out=$(db5.3_verify "$1" 2>&1) ||
		fail "db5.3_verify $1 failed after $2: $out"
	verifies=$((verifies + 1))
}

# run_ok WHAT COMMAND...: the command must exit 0.
run_ok() {
	what=$1
	shift
	"$@" > "$work/out" 2> "$work/err" ||
		fail "$what: exit $?: $(cat "$work/err")"
	checks=$((checks + 1))
}

# run_exit CODE WHAT COMMAND...: the command must exit CODE.
run_exit() {
	want=$1 what=$2
	shift 2
	"$@" > "$work/out" 2> "$work/err"
	got=$?
	[ "$got" = "$want" ] ||
		fail "$what: exit $got, expected $want: $(cat "$work/err")"
	checks=$((checks + 1))
}

postmap_q() {
	LD_LIBRARY_PATH=$POSTFIX_ROOT/usr/lib/postfix \
		"$POSTMAP" -c "$work/postfix" -q "$1" "hash:$2"
}

# postmap_found MAP KEY VALUE: Postfix finds KEY with exactly VALUE.
postmap_found() {
	out=$(postmap_q "$2" "$1" 2> "$work/err")
	rc=$?
	[ "$rc" = 0 ] || fail "postmap -q $2 hash:$1: exit $rc: $(cat "$work/err")"
	[ "$out" = "$3" ] || fail "postmap -q $2 hash:$1 gave '$out', expected '$3'"
	checks=$((checks + 1))
}

# postmap_absent MAP KEY: Postfix says "not found" (exit 1, no output).
postmap_absent() {
	out=$(postmap_q "$2" "$1" 2> "$work/err")
	rc=$?
	[ "$rc" = 1 ] && [ -z "$out" ] ||
		fail "postmap -q $2 hash:$1: exit $rc output '$out', expected not found (exit 1): $(cat "$work/err")"
	checks=$((checks + 1))
}

# unmake MAP: sendmail's makemap -u output, sorted, into $work/unmade.
unmake() {
	makemap -u hash "$1" > "$work/unmade.raw" 2> "$work/err" ||
		fail "makemap -u hash $1: exit $?: $(cat "$work/err")"
	LC_ALL=C sort "$work/unmade.raw" > "$work/unmade"
}

# expect_unmade MAP: makemap -u of MAP equals stdin (sorted here).
expect_unmade() {
	LC_ALL=C sort > "$work/unmade.want"
	unmake "$1"
	diff -u "$work/unmade.want" "$work/unmade" > "$work/diff" ||
		fail "makemap -u hash $1 differs from the expected entries:
$(cat "$work/diff")"
	checks=$((checks + 1))
}

# no_nul DBFILE: no key or value holds a NUL byte (db5.3_dump -p).
no_nul() {
	db5.3_dump -p "$1" > "$work/dump.p" 2> "$work/err" ||
		fail "db5.3_dump -p $1: $(cat "$work/err")"
	grep -q '^type=hash$' "$work/dump.p" || fail "$1 is not a hash database"
	if grep -F '\00' "$work/dump.p" > "$work/nul"; then
		fail "$1 holds NUL bytes in keys or values: $(head -3 "$work/nul")"
	fi
	checks=$((checks + 1))
}

# dump_entry TIME KEY: the two lines `vsmtprelay dump` prints for an entry.
dump_entry() {
	printf '# timestamp (UTC): %s\n%s %s\n' \
		"$(LC_ALL=C date -u -d "@$1" '+%a %b %e %H:%M:%S %Y')" "$2" "$1"
}

# expect_nul_map_refused DB WRITER KEY: DB, written by WRITER, holds KEY
# NUL-terminated (else the refusal would prove nothing); `vsmtprelay add`
# refuses it with exit 65 and a message that says NUL, with and without a
# time, and leaves it byte-identical and valid.
expect_nul_map_refused() {
	verify "$1" "$2"
	db5.3_dump -p "$1" | grep -qF "$3\\00" ||
		fail "$2 did not write NUL-terminated keys: the refusal test would prove nothing"
	cp "$1" "$work/nul.before"
	run_exit 65 "add to a $2 map" vsr -f "$1" add 192.0.2.50
	grep -q 'NUL' "$work/err" || fail "refusal does not mention NUL: $(cat "$work/err")"
	run_exit 65 "add with ticks to a $2 map" vsr -f "$1" add 192.0.2.50 1700000000
	cmp "$work/nul.before" "$1" > /dev/null ||
		fail "the $2 map changed although the add was refused"
	checks=$((checks + 1))
	verify "$1" "refused add to a $2 map"
}

tab=$(printf '\t')

# ---- 1. vsmtprelay add -> makemap -u, postmap -q ---------------------------
S=$work/s.db
run_ok "add IPv4" vsr -f "$S" add 192.0.2.7 1700000000
verify "$S" "add 192.0.2.7"
run_ok "add IPv6" vsr -f "$S" add 2001:db8::5 1700000001
verify "$S" "add 2001:db8::5"
run_ok "add mapped IPv4" vsr -f "$S" add ::ffff:192.0.2.9 1700000002
verify "$S" "add ::ffff:192.0.2.9"
run_ok "add upper-case full IPv6" vsr -f "$S" add 2001:DB8:0:0:0:0:A:B 1700000003
verify "$S" "add 2001:DB8:0:0:0:0:A:B"
run_ok "add IPv6:-prefixed" vsr -f "$S" add IPv6:2001:db8:1:2:3:4:5:6 1700000004
verify "$S" "add IPv6:2001:db8:1:2:3:4:5:6"

expect_unmade "$S" <<EOF
192.0.2.7${tab}1700000000
192.0.2.9${tab}1700000002
2001:db8::5${tab}1700000001
2001:db8:0:0:0:0:0:5${tab}1700000001
2001:db8::a:b${tab}1700000003
2001:db8:0:0:0:0:a:b${tab}1700000003
2001:db8:1:2:3:4:5:6${tab}1700000004
EOF
postmap_found "$work/s" 192.0.2.7 1700000000
postmap_found "$work/s" 192.0.2.9 1700000002
postmap_found "$work/s" 2001:db8::5 1700000001
postmap_found "$work/s" 2001:db8:0:0:0:0:0:5 1700000001
postmap_found "$work/s" 2001:db8::a:b 1700000003
postmap_found "$work/s" 2001:db8:0:0:0:0:a:b 1700000003
postmap_found "$work/s" 2001:db8:1:2:3:4:5:6 1700000004
postmap_absent "$work/s" 192.0.2.8
postmap_absent "$work/s" 2001:db8::6
postmap_absent "$work/s" ::ffff:192.0.2.9
postmap_absent "$work/s" IPv6:2001:db8:0:0:0:0:0:5

{
	dump_entry 1700000000 192.0.2.7
	dump_entry 1700000001 2001:db8:0:0:0:0:0:5
	dump_entry 1700000001 2001:db8::5
	dump_entry 1700000002 192.0.2.9
	dump_entry 1700000003 2001:db8:0:0:0:0:a:b
	dump_entry 1700000003 2001:db8::a:b
	dump_entry 1700000004 2001:db8:1:2:3:4:5:6
} > "$work/dump.want"
run_ok "dump" vsr -f "$S" dump
diff -u "$work/dump.want" "$work/out" > "$work/diff" ||
	fail "vsmtprelay dump output:
$(cat "$work/diff")"

# ---- 2. keys and values without trailing NUL -----------------------------
no_nul "$S"
for key in 192.0.2.7 192.0.2.9 2001:db8::5 2001:db8:0:0:0:0:0:5; do
	grep -qx " $key" "$work/dump.p" || fail "db5.3_dump -p $S: no key ' $key'"
done
grep -qx ' 1700000000' "$work/dump.p" || fail "db5.3_dump -p $S: no value ' 1700000000'"

# ---- 3. vsmtprelay dump | makemap hash rebuilds the same store -----------
vsr -f "$S" dump > "$work/d1" || fail "dump $S"
makemap hash "$work/new" < "$work/d1" 2> "$work/err" ||
	fail "makemap hash $work/new < dump: $(cat "$work/err")"
verify "$work/new.db" "makemap rebuild from dump"
no_nul "$work/new.db"
vsr -f "$work/new.db" dump > "$work/d2" || fail "dump $work/new.db"
cmp "$work/d1" "$work/d2" > "$work/err" 2>&1 ||
	fail "dump of the makemap rebuild differs: $(diff "$work/d1" "$work/d2")"
checks=$((checks + 1))
unmake "$S"
cp "$work/unmade" "$work/unmade.s"
unmake "$work/new"
cmp "$work/unmade.s" "$work/unmade" > /dev/null ||
	fail "makemap -u of the original and of the rebuild differ"
checks=$((checks + 1))

# ---- 4. a makemap-built map used by vsmtprelay ---------------------------
now=$(date +%s)
future=$((now + 3600))
fresh=$((now - 60))
{
	printf '198.51.100.1\t1700000100\n'
	printf '198.51.100.2 1700000200\n'
	printf '2001:db8::77\t1700000300\n'
	printf '2001:db8:0:0:0:0:0:77\t1700000300\n'
	printf '# a comment line\n'
	printf '198.51.100.3\t%s\n' "$future"
	printf '198.51.100.4\t%s\n' "$now"
	printf '203.0.113.5\t%s\n' "$fresh"
} > "$work/list"
M=$work/m.db
makemap hash "$work/m" < "$work/list" 2> "$work/err" ||
	fail "makemap hash $work/m: $(cat "$work/err")"
verify "$M" "makemap hash from a list"
no_nul "$M"
{
	dump_entry 1700000100 198.51.100.1
	dump_entry 1700000200 198.51.100.2
	dump_entry 1700000300 2001:db8:0:0:0:0:0:77
	dump_entry 1700000300 2001:db8::77
	dump_entry "$fresh" 203.0.113.5
	dump_entry "$now" 198.51.100.4
} > "$work/list.want"
run_ok "list on a makemap map" vsr -f "$M" list
diff -u "$work/list.want" "$work/out" > "$work/diff" ||
	fail "vsmtprelay list of a makemap map:
$(cat "$work/diff")"
dump_entry "$future" 198.51.100.3 >> "$work/list.want"
run_ok "dump on a makemap map" vsr -f "$M" dump
diff -u "$work/list.want" "$work/out" > "$work/diff" ||
	fail "vsmtprelay dump of a makemap map:
$(cat "$work/diff")"
run_exit 0 "check fresh grant" vsr -f "$M" check 198.51.100.4
run_exit 0 "check grant one minute old" vsr -f "$M" check 203.0.113.5
run_exit 0 "check future grant" vsr -f "$M" check 198.51.100.3
run_exit 1 "check old grant" vsr -f "$M" check 198.51.100.1
run_exit 1 "check old IPv6 grant" vsr -f "$M" check 2001:db8:0:0:0:0:0:77
run_exit 1 "check absent address" vsr -f "$M" check 192.0.2.99
verify "$M" "check"

run_ok "add to a makemap map" vsr -f "$M" add 192.0.2.77 1700000500
verify "$M" "add to a makemap map"
postmap_found "$work/m" 192.0.2.77 1700000500
postmap_found "$work/m" 198.51.100.4 "$now"

run_ok "delete IPv4 from a makemap map" vsr -f "$M" delete 198.51.100.1
verify "$M" "delete 198.51.100.1"
postmap_absent "$work/m" 198.51.100.1
run_ok "delete IPv6 (full form)" vsr -f "$M" delete 2001:db8:0:0:0:0:0:77
verify "$M" "delete 2001:db8:0:0:0:0:0:77"
postmap_absent "$work/m" 2001:db8::77
postmap_absent "$work/m" 2001:db8:0:0:0:0:0:77
run_exit 1 "delete an absent address" vsr -f "$M" delete 198.51.100.1
verify "$M" "delete of an absent address"
expect_unmade "$M" <<EOF
192.0.2.77${tab}1700000500
198.51.100.2${tab}1700000200
198.51.100.3${tab}${future}
198.51.100.4${tab}${now}
203.0.113.5${tab}${fresh}
EOF

run_ok "expire 1440" vsr -f "$M" expire 1440
verify "$M" "expire 1440"
expect_unmade "$M" <<EOF
198.51.100.3${tab}${future}
198.51.100.4${tab}${now}
203.0.113.5${tab}${fresh}
EOF
run_ok "expire" vsr -f "$M" expire
verify "$M" "expire"
expect_unmade "$M" <<EOF
198.51.100.3${tab}${future}
EOF
postmap_absent "$work/m" 198.51.100.4
postmap_found "$work/m" 198.51.100.3 "$future"

# ---- 5. NUL-terminated maps are refused and left alone -------------------
printf '198.51.100.1\t1700000100\n198.51.100.2 1700000200\n198.51.100.9\t%s\n' "$now" |
	makemap -N hash "$work/n" 2> "$work/err" ||
	fail "makemap -N hash $work/n: $(cat "$work/err")"
expect_nul_map_refused "$work/n.db" "makemap -N" 198.51.100.1
# reading and deleting a NUL-terminated map works, without mixing styles
run_exit 0 "check a fresh grant in a makemap -N map" vsr -f "$work/n.db" check 198.51.100.9
run_exit 1 "check an old grant in a makemap -N map" vsr -f "$work/n.db" check 198.51.100.1
run_ok "delete from a makemap -N map" vsr -f "$work/n.db" delete 198.51.100.1
verify "$work/n.db" "delete from a makemap -N map"
db5.3_dump -p "$work/n.db" | sed -n '/^HEADER=END$/,/^DATA=END$/p' |
	grep '^ ' > "$work/n.lines"
grep -q '198\.51\.100\.1\\00' "$work/n.lines" &&
	fail "delete left 198.51.100.1 in the makemap -N map"
grep -v '\\00$' "$work/n.lines" > "$work/n.mixed" &&
	fail "the makemap -N map now mixes in keys or values without NUL: $(cat "$work/n.mixed")"
checks=$((checks + 1))
postmap_found "$work/n" 198.51.100.9 "$now"
postmap_absent "$work/n" 198.51.100.1

printf '192.0.2.60 1700000000\n' > "$work/pf"
LD_LIBRARY_PATH=$POSTFIX_ROOT/usr/lib/postfix \
	"$POSTMAP" -c "$work/postfix" "hash:$work/pf" 2> "$work/err" ||
	fail "postmap hash:$work/pf: $(cat "$work/err")"
expect_nul_map_refused "$work/pf.db" "Postfix postmap" 192.0.2.60

# ---- 6. vsmtprelay load, then the MTAs read it ---------------------------
cat > "$work/load" <<EOF
# timestamp (UTC): whatever
192.0.2.20 1700000600
2001:db8::20 1700000601
::ffff:192.0.2.21 1700000602
2001:db8:0:0:0:0:0:21 1700000603
EOF
run_ok "load" vsr -f "$S" load "$work/load"
verify "$S" "load"
no_nul "$S"
postmap_found "$work/s" 192.0.2.20 1700000600
postmap_found "$work/s" 2001:db8::20 1700000601
postmap_found "$work/s" 2001:db8:0:0:0:0:0:20 1700000601
postmap_found "$work/s" 192.0.2.21 1700000602
postmap_found "$work/s" 2001:db8::21 1700000603
postmap_found "$work/s" 2001:db8:0:0:0:0:0:21 1700000603
postmap_absent "$work/s" 192.0.2.7
postmap_absent "$work/s" ::ffff:192.0.2.21
expect_unmade "$S" <<EOF
192.0.2.20${tab}1700000600
2001:db8::20${tab}1700000601
2001:db8:0:0:0:0:0:20${tab}1700000601
192.0.2.21${tab}1700000602
2001:db8::21${tab}1700000603
2001:db8:0:0:0:0:0:21${tab}1700000603
EOF

pass "db5.3_verify passed $verifies times"
