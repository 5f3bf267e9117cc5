#!/bin/sh
# demo.sh: show relaygate at work on an embedded default: a configuration
# and a relay store under ./run/, grants recorded with the real vsmtprelay.
# Usage: demo.sh BUILD_DIR [stop]
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
run="$top/run"
vsmtprelay="$build/vsmtprelay"
conf="$run/relaygate.conf"
store="$run/relayers.db"

if [ "${2:-}" = stop ]; then
	echo "demo: nothing runs in the background yet; state is in $run (rm -rf it to start over)"
	exit 0
fi

step() {
	printf '\n\033[1m$ %s\033[0m\n' "$*"
	"$@" || echo "(exit status $?)"
}

mkdir -p "$run"
chmod 755 "$run"
cat > "$conf" <<CONF
# relaygate demo configuration (made by scripts/demo.sh)
relay_db = $store
relay_window = 30m
never_relay = 0.0.0.0/8, 224.0.0.0/4, 255.255.255.255/32, ::/128, ff00::/8
CONF
rm -f "$store"

now=$(date +%s)
echo "relaygate demo: configuration $conf, store $store"
step "$vsmtprelay" -c "$conf" add 127.0.0.2
step "$vsmtprelay" -c "$conf" add 2001:db8::5
step "$vsmtprelay" -c "$conf" add 192.0.2.10 $((now - 3600))
step "$vsmtprelay" -c "$conf" add 10.11.12.13 906502527
step "$vsmtprelay" -c "$conf" add 198.51.100.7 4102444800
step "$vsmtprelay" -c "$conf" add 0.0.0.1
step "$vsmtprelay" -c "$conf" list
step "$vsmtprelay" -c "$conf" list 30
step "$vsmtprelay" -c "$conf" dump
step "$vsmtprelay" -c "$conf" check 127.0.0.2
step "$vsmtprelay" -c "$conf" check 192.0.2.10
step "$vsmtprelay" -c "$conf" check 127.0.0.3
step "$vsmtprelay" -c "$conf" expire 30
step "$vsmtprelay" -c "$conf" dump
if command -v makemap >/dev/null 2>&1; then
	step makemap -u hash "$run/relayers"
fi
if command -v db5.3_verify >/dev/null 2>&1; then
	step db5.3_verify "$store"
fi
cat <<DONE

Everything is under $run:
  configuration  $conf
  relay store    $store   (sendmail: makemap -u hash $run/relayers)
  vsmtprelay     $vsmtprelay -c $conf COMMAND
Nothing runs in the background. Start over with: rm -rf $run && make demo
DONE
