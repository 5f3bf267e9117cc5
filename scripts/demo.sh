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

lookupd="$build/relaygate-lookupd"
pidfile="$run/lookupd.pid"
policy_port=${DEMO_POLICY_PORT:-20040}
pop3d="$build/relaygate-pop3d"
pop3_pidfile="$run/pop3d.pid"
pop3_port=${DEMO_POP3_PORT:-21110}
pop3s_port=${DEMO_POP3S_PORT:-21995}

stop_lookupd() {
	if [ -f "$pidfile" ]; then
		kill "$(cat "$pidfile")" 2>/dev/null && echo "demo: stopped relaygate-lookupd (pid $(cat "$pidfile"))"
		rm -f "$pidfile"
	fi
}

stop_pop3d() {
	if [ -f "$pop3_pidfile" ]; then
		kill "$(cat "$pop3_pidfile")" 2>/dev/null && echo "demo: stopped relaygate-pop3d (pid $(cat "$pop3_pidfile"))"
		rm -f "$pop3_pidfile"
	fi
}

if [ "${2:-}" = stop ]; then
	stop_lookupd
	stop_pop3d
	echo "demo: state is in $run (rm -rf it to start over)"
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
lookupd_socketmap_listen = unix:$run/socketmap
lookupd_policy_listen = inet:127.0.0.1:$policy_port
# relaygate-pop3d: a demo user and Maildir, loopback ports only
passwd_file = $run/passwd
mail_location = maildir:~/Maildir
pop3_listen = 127.0.0.1:$pop3_port
pop3s_listen = 127.0.0.1:$pop3s_port
tls_cert = $run/tls-cert.pem
tls_key = $run/tls-key.pem
CONF
stop_lookupd
stop_pop3d
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
# relaygate-lookupd: what sendmail's socket map and Postfix's policy
# service would ask, answered from the same store with the window checked.
echo
echo "starting relaygate-lookupd (socketmap unix:$run/socketmap, policy 127.0.0.1:$policy_port)"
"$lookupd" -F -c "$conf" > /dev/null 2> "$run/lookupd.log" &
echo $! > "$pidfile"
n=0
until [ -S "$run/socketmap" ] || [ $n -ge 50 ]; do sleep 0.1; n=$((n + 1)); done
query() {
	python3 - "$run/socketmap" "$policy_port" "$@" <<'PY'
import socket, sys
path, port, kind, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
if kind == "socketmap":
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    req = b"relaygate " + key.encode()
    s.sendall(str(len(req)).encode() + b":" + req + b",")
    print("socketmap %-22s -> %s" % (key, s.recv(200).decode().strip()))
else:
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=%s\n\n" % key.encode())
    print("policy    %-22s -> %s" % (key, s.recv(200).decode().strip()))
PY
}
step query socketmap 127.0.0.2
step query socketmap ipv6:2001:db8:0:0:0:0:0:5
step query socketmap 127.0.0.3
step query policy 127.0.0.2
step query policy 127.0.0.3
step "$vsmtprelay" -c "$conf" delete 127.0.0.2
step query policy 127.0.0.2
step tail -n 4 "$run/lookupd.log"

# relaygate-pop3d: a POP3 login from 127.0.0.2 opens the relay for it.
# The demo user's mailbox belongs to the user running the demo, or to
# "nobody" when that is root (sessions never run as root).
if [ "$(id -u)" -eq 0 ]; then
	mail_uid=$(id -u nobody) mail_gid=$(id -g nobody)
else
	mail_uid=$(id -u) mail_gid=$(id -g)
fi
home="$run/mail/demo"
mkdir -p "$home/Maildir/new" "$home/Maildir/cur" "$home/Maildir/tmp"
if [ -z "$(ls -A "$home/Maildir/new")$(ls -A "$home/Maildir/cur")" ]; then
	cat > "$home/Maildir/new/$(date +%s).M1P$$.demo" <<MSG
From: relaygate demo <postmaster@localhost>
To: demo@localhost
Subject: Welcome to relaygate
Date: $(date -R)

Your POP3 login just recorded your address in the relay store:
sendmail and Postfix now relay mail for it for relay_window.
MSG
fi
chmod -R u+rwX,go-rwx "$run/mail"
chmod 755 "$run/mail"
[ "$(id -u)" -eq 0 ] && chown -R "$mail_uid:$mail_gid" "$home"
printf 'demo:{PLAIN}demo:%s:%s::%s::\n' "$mail_uid" "$mail_gid" "$home" > "$run/passwd"
chmod 600 "$run/passwd"
if [ ! -f "$run/tls-key.pem" ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 365 \
		-keyout "$run/tls-key.pem" -out "$run/tls-cert.pem" 2>/dev/null
	chmod 600 "$run/tls-key.pem"
fi
echo
echo "starting relaygate-pop3d (POP3 127.0.0.1:$pop3_port, POP3S 127.0.0.1:$pop3s_port, user demo, password demo)"
"$pop3d" -F -c "$conf" > /dev/null 2> "$run/pop3d.log" &
echo $! > "$pop3_pidfile"
n=0
until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $pop3_port), 1)" 2>/dev/null || [ $n -ge 50 ]; do
	sleep 0.1; n=$((n + 1))
done
step "$vsmtprelay" -c "$conf" check 127.0.0.2
step curl -sS --interface 127.0.0.2 --user demo:demo "pop3://127.0.0.1:$pop3_port/"
step curl -sS --interface 127.0.0.2 --user demo:demo "pop3://127.0.0.1:$pop3_port/1"
step "$vsmtprelay" -c "$conf" check 127.0.0.2
step "$vsmtprelay" -c "$conf" list
step grep -E 'event=(login|logout)' "$run/pop3d.log"

cat <<DONE

Everything is under $run:
  configuration      $conf
  relay store        $store   (sendmail: makemap -u hash $run/relayers)
  vsmtprelay         $vsmtprelay -c $conf COMMAND
  relaygate-lookupd  pid $(cat "$pidfile"), log $run/lookupd.log
  relaygate-pop3d    pid $(cat "$pop3_pidfile"), log $run/pop3d.log
                     POP3 127.0.0.1:$pop3_port (STLS), POP3S 127.0.0.1:$pop3s_port,
                     user demo, password demo, mailbox $home/Maildir
  try it             curl --interface 127.0.0.3 -u demo:demo pop3://127.0.0.1:$pop3_port/
Stop them with: make demo-stop. Start over with: rm -rf $run && make demo
DONE
