#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests, benchmarks and the demo: never as root (as root, it runs the
# server as the postgres system user), listening on 127.0.0.1 only.
#   cluster.sh start [extra postgresql.conf lines...]   cluster.sh stop
# The directory and port come from OMENDB_PGDATA (default /tmp/omendb-pg) and PGPORT (default 54329);
# clients then need PGHOST=127.0.0.1 PGPORT=$PGPORT PGUSER=postgres.
set -euo pipefail
dir=${OMENDB_PGDATA:-/tmp/omendb-pg}
port=${PGPORT:-54329}
bindir=$(pg_config --bindir)

as_server_user() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
	shift
	as_server_user "$bindir/pg_ctl" -D "$dir/data" stop -m immediate >/dev/null 2>&1 || true
	rm -rf "$dir"
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres: "$dir"
	as_server_user "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C >"$dir/initdb.log"
	{
		echo "listen_addresses = '127.0.0.1'"
		echo "port = $port"
		echo "unix_socket_directories = '$dir'"
		echo "shared_buffers = 256MB"
		echo "max_wal_size = 4GB"
		for line in "$@"; do echo "$line"; done
	} | as_server_user tee -a "$dir/data/postgresql.conf" >/dev/null
	as_server_user "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
	;;
stop)
	as_server_user "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
	;;
*)
	echo "usage: $0 start [conf lines...] | stop" >&2
	exit 2
	;;
esac
