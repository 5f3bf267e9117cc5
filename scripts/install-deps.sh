#!/bin/sh
# install-deps.sh: install the Debian packages listed in
# deps/debian-packages.txt that are missing, and unpack the "unpack" ones
# into .cache/. As root it runs apt-get; otherwise it prints the exact
# apt-get line and exits 1. Usage: install-deps.sh [build|test|demo|bench|all]
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
list="$top/deps/debian-packages.txt"
want=${1:-all}
cache="$top/.cache"

missing=""
unpack=""
while read -r pkg role; do
	case "$pkg" in ''|'#'*) continue ;; esac
	case "$want:$role" in
	all:*|build:build|demo:build|demo:demo|test:build|test:test|test:unpack|bench:build|bench:bench) ;;
	*) continue ;;
	esac
	if [ "$role" = unpack ]; then
		unpack="$unpack $pkg"
		continue
	fi
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $pkg" ;;
	esac
done < "$list"

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "relaygate needs these Debian packages; run as root:" >&2
		echo "  apt-get install -y --no-install-recommends$missing" >&2
		exit 1
	fi
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# Never start mail services from package scripts.
	policy=/usr/sbin/policy-rc.d
	made_policy=no
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' > "$policy"
		chmod 755 "$policy"
		made_policy=yes
	fi
	apt-get install -y --no-install-recommends $missing ||
		{ apt-get update && apt-get install -y --no-install-recommends $missing; }
	[ "$made_policy" = yes ] && rm -f "$policy"
	# sendmail-bin's postinst may have started a daemon despite policy-rc.d.
	if [ -x /etc/init.d/sendmail ]; then
		/etc/init.d/sendmail stop >/dev/null 2>&1 || true
	fi
fi

for pkg in $unpack; do
	dest="$cache/$pkg"
	if [ -x "$dest/root/usr/sbin/postmap" ] || [ -f "$dest/.unpacked" ]; then
		continue
	fi
	mkdir -p "$dest"
	(cd "$dest" && rm -f ./*.deb && apt-get download "$pkg" >/dev/null 2>&1) ||
	(cd "$dest" && apt-get update >/dev/null 2>&1 && apt-get download "$pkg") || {
		echo "cannot download $pkg (apt-get download $pkg)" >&2
		exit 1
	}
	rm -rf "$dest/root"
	dpkg -x "$dest"/"$pkg"_*.deb "$dest/root"
	touch "$dest/.unpacked"
	echo "unpacked $pkg into $dest/root"
done
exit 0
