#!/usr/bin/env bash
# A real Zabbix 6.0 (Debian 12 packages) on loopback for lvs-tui's integration tests.
#
#   bash scripts/zabbix-lab.sh up      install when missing, start postgres, zabbix_server,
#                                      an active zabbix_proxy and the PHP frontend; print the API URL
#   bash scripts/zabbix-lab.sh seed    hosts, items, hours of history, problems, an API token
#   bash scripts/zabbix-lab.sh web-stop | web-start   stop/start only the PHP web server
#   bash scripts/zabbix-lab.sh down    stop everything this script started (the database stays)
#   bash scripts/zabbix-lab.sh env     print the variables the tests read
#
# Everything listens on 127.0.0.1. No item makes Zabbix send a packet anywhere: every item
# is a trapper item fed by zabbix_sender. State (configs, logs, pids, the token) lives in
# $ZBX_LAB_DIR. The Debian proxy package conflicts with the server package, so the proxy
# binary is unpacked from its .deb into the state dir instead of being installed.
set -euo pipefail

DIR=${ZBX_LAB_DIR:-/var/tmp/lvs-tui-zabbix}
WEB_PORT=${ZBX_LAB_WEB_PORT:-18080}
TRAPPER_PORT=${ZBX_LAB_TRAPPER_PORT:-10051}
PROXY_PORT=${ZBX_LAB_PROXY_PORT:-10061}
DB=${ZBX_LAB_DB:-zabbix_lvs}
DB_USER=zabbix
DB_PASSWORD=zabbix-lab   # a throwaway lab database on loopback, never a real secret
FRONTEND=/usr/share/zabbix
SCHEMA=/usr/share/zabbix-server-pgsql
PACKAGES=(postgresql zabbix-server-pgsql zabbix-frontend-php php8.2-cli php8.2-cgi php8.2-pgsql php8.2-opcache
          php8.2-bcmath php8.2-mbstring php8.2-gd php8.2-xml php8.2-ldap zabbix-agent)  # zabbix-agent ships zabbix_sender
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-$HERE/../.venv/bin/python}

log() { echo "zabbix-lab: $*" >&2; }
die() { log "$*"; exit 1; }

apt_install() {
    # Another process may hold the dpkg lock: wait for it rather than fail.
    local i
    for i in $(seq 1 60); do
        if DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" \
                >"$DIR/apt.log" 2>&1; then
            return 0
        fi
        if grep -q "Could not get lock\|Unable to lock\|Unable to acquire" "$DIR/apt.log"; then
            sleep 5; continue
        fi
        if grep -q "Unable to locate package\|has no installation candidate" "$DIR/apt.log"; then
            apt-get update >"$DIR/apt-update.log" 2>&1 || true
            continue
        fi
        tail -20 "$DIR/apt.log" >&2; die "apt-get install failed"
    done
    die "dpkg lock held for 5 minutes"
}

install_missing() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$p")
    done
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        [[ -n $(find /var/lib/apt/lists -name '*_Packages*' -newermt '-1 day' 2>/dev/null) ]] \
            || apt-get update >"$DIR/apt-update.log" 2>&1 || true
        apt_install "${missing[@]}"
    fi
    if [[ ! -x $DIR/proxy/usr/sbin/zabbix_proxy ]]; then
        log "unpacking zabbix_proxy from zabbix-proxy-sqlite3 (it conflicts with the server package)"
        local try
        for try in 1 2; do
            (cd "$DIR" && rm -f zabbix-proxy-sqlite3_*.deb \
                && apt-get download zabbix-proxy-sqlite3 >"$DIR/apt-download.log" 2>&1) && break
            [[ $try == 2 ]] && die "apt-get download zabbix-proxy-sqlite3 failed"
            apt-get update >"$DIR/apt-update.log" 2>&1 || true
        done
        dpkg-deb -x "$DIR"/zabbix-proxy-sqlite3_*.deb "$DIR/proxy"
    fi
}

psql_admin() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 "$@"; }

start_postgres() {
    local ver name
    read -r ver name _ < <(pg_lsclusters -h | head -1) || true
    [[ -n ${ver:-} ]] || die "no PostgreSQL cluster (pg_lsclusters is empty)"
    pg_lsclusters -h | head -1 | grep -q online || pg_ctlcluster "$ver" "$name" start
    local i
    for i in $(seq 1 30); do
        psql_admin -c 'select 1' >/dev/null 2>&1 && return 0
        sleep 1
    done
    die "PostgreSQL did not start"
}

create_db() {
    if ! psql_admin -tAc "select 1 from pg_roles where rolname='$DB_USER'" | grep -q 1; then
        psql_admin -c "create role $DB_USER login password '$DB_PASSWORD'"
    fi
    if psql_admin -tAc "select 1 from pg_database where datname='$DB'" | grep -q 1; then
        if PGPASSWORD=$DB_PASSWORD psql -X -h 127.0.0.1 -U "$DB_USER" -d "$DB" -tAc \
                "select count(*) from users" >/dev/null 2>&1; then
            return 0
        fi
        psql_admin -c "drop database $DB"   # a half-imported schema from an interrupted run
    fi
    log "creating database $DB (schema import takes ~15 s)"
    psql_admin -c "create database $DB owner $DB_USER encoding 'UTF8' template template0"
    zcat "$SCHEMA"/schema.sql.gz "$SCHEMA"/images.sql.gz "$SCHEMA"/data.sql.gz \
        | PGPASSWORD=$DB_PASSWORD psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U "$DB_USER" \
            -d "$DB" >"$DIR/schema.log" 2>&1 || { tail "$DIR/schema.log" >&2; die "schema import failed"; }
}

alive() { [[ -f $1 ]] && kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null; }

write_server_conf() {
    cat >"$DIR/zabbix_server.conf" <<EOF
LogFile=$DIR/zabbix_server.log
LogFileSize=0
PidFile=$DIR/zabbix_server.pid
SocketDir=$DIR/run
DBHost=127.0.0.1
DBName=$DB
DBUser=$DB_USER
DBPassword=$DB_PASSWORD
ListenIP=127.0.0.1
ListenPort=$TRAPPER_PORT
User=zabbix
StartPollers=1
StartPollersUnreachable=1
StartPingers=1
StartTrappers=3
StartDiscoverers=0
StartHTTPPollers=0
StartTimers=1
StartEscalators=1
StartAlerters=1
StartPreprocessors=2
StartDBSyncers=2
StartLLDProcessors=1
StartReportWriters=0
CacheUpdateFrequency=5
HousekeepingFrequency=0
Timeout=4
EOF
}

start_server() {
    alive "$DIR/zabbix_server.pid" && return 0
    write_server_conf
    log "starting zabbix_server"
    zabbix_server -c "$DIR/zabbix_server.conf"
    local i
    for i in $(seq 1 30); do
        grep -q "server #0 started\|HA manager started" "$DIR/zabbix_server.log" 2>/dev/null \
            && alive "$DIR/zabbix_server.pid" && return 0
        sleep 0.5
    done
    tail -20 "$DIR/zabbix_server.log" >&2; die "zabbix_server did not start"
}

start_proxy() {
    # An active proxy named proxy-telecom: its lastaccess stays fresh, so the probe host it
    # monitors is a healthy remote vantage. proxy-unicom exists only in the API: stale.
    alive "$DIR/zabbix_proxy.pid" && return 0
    cat >"$DIR/zabbix_proxy.conf" <<EOF
ProxyMode=0
Server=127.0.0.1:$TRAPPER_PORT
Hostname=proxy-telecom
ListenIP=127.0.0.1
ListenPort=$PROXY_PORT
LogFile=$DIR/zabbix_proxy.log
LogFileSize=0
PidFile=$DIR/zabbix_proxy.pid
SocketDir=$DIR/proxy-run
DBName=$DIR/proxy.db
User=zabbix
ConfigFrequency=5
DataSenderFrequency=1
HeartbeatFrequency=5
StartPollers=1
StartPollersUnreachable=1
StartPingers=0
StartTrappers=2
StartDiscoverers=0
StartHTTPPollers=0
StartPreprocessors=1
HousekeepingFrequency=0
Timeout=4
EOF
    log "starting zabbix_proxy"
    "$DIR/proxy/usr/sbin/zabbix_proxy" -c "$DIR/zabbix_proxy.conf" \
        || { tail -20 "$DIR/zabbix_proxy.log" >&2; die "zabbix_proxy did not start"; }
}

write_frontend_conf() {
    # Debian's frontend reads only /etc/zabbix/zabbix.conf.php; we own it when it carries
    # our marker and refuse to overwrite anybody else's.
    local conf=/etc/zabbix/zabbix.conf.php
    if [[ -f $conf ]] && ! grep -q "lvs-tui zabbix-lab" "$conf"; then
        die "$conf exists and is not ours: move it away to use the lab"
    fi
    mkdir -p /etc/zabbix
    cat >"$conf" <<EOF
<?php
// lvs-tui zabbix-lab: written by scripts/zabbix-lab.sh, loopback test database only.
\$DB['TYPE'] = 'POSTGRESQL';
\$DB['SERVER'] = '127.0.0.1';
\$DB['PORT'] = '0';
\$DB['DATABASE'] = '$DB';
\$DB['USER'] = '$DB_USER';
\$DB['PASSWORD'] = '$DB_PASSWORD';
\$DB['SCHEMA'] = '';
\$DB['ENCRYPTION'] = false;
\$DB['KEY_FILE'] = '';
\$DB['CERT_FILE'] = '';
\$DB['CA_FILE'] = '';
\$DB['VERIFY_HOST'] = false;
\$DB['CIPHER_LIST'] = '';
\$DB['VAULT_URL'] = '';
\$DB['VAULT_DB_PATH'] = '';
\$DB['VAULT_TOKEN'] = '';
\$DB['DOUBLE_IEEE754'] = true;
\$ZBX_SERVER = '127.0.0.1';
\$ZBX_SERVER_PORT = '$TRAPPER_PORT';
\$ZBX_SERVER_NAME = 'lvs-tui lab';
\$IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;
EOF
}

api_url() { echo "http://127.0.0.1:$WEB_PORT/api_jsonrpc.php"; }

api_ready() {
    curl -s -m 3 -H 'Content-Type: application/json-rpc' \
        -d '{"jsonrpc":"2.0","method":"apiinfo.version","params":{},"id":1}' "$(api_url)" \
        | grep -q '"result"'
}

start_web() {
    alive "$DIR/php.pid" && return 0
    write_frontend_conf
    api_ready && die "something else already answers at $(api_url)"
    log "starting php -S 127.0.0.1:$WEB_PORT"
    # PHP_CLI_SERVER_WORKERS: a chart request must not wait behind a refresh cycle. php
    # leads its own session (the pid written is its process group) so that stopping it
    # also stops the workers it forks.
    PHP_CLI_SERVER_WORKERS=4 setsid bash -c 'echo $$ >"$1/php.pid"; shift; exec "$@"' _ "$DIR" \
        php -d memory_limit=128M -d post_max_size=16M -d max_execution_time=300 -d opcache.enable_cli=1 \
        -d date.timezone=UTC -d display_errors=0 -S "127.0.0.1:$WEB_PORT" -t "$FRONTEND" \
        >"$DIR/php.log" 2>&1 </dev/null &
    local i
    for i in $(seq 1 50); do
        api_ready && return 0
        sleep 0.2
    done
    tail -20 "$DIR/php.log" >&2; die "the frontend did not answer at $(api_url)"
}

stop_pid() {
    # $3=group: the pid leads its own session (setsid), so its forked workers go with it
    local file=$1 name=$2 target i
    if alive "$file"; then
        log "stopping $name"
        target=$(cat "$file")
        [[ ${3:-} == group ]] && target="-$target"
        kill -- "$target" 2>/dev/null || true
        for i in $(seq 1 50); do
            alive "$file" || break
            sleep 0.2
        done
        alive "$file" && kill -9 -- "$target" 2>/dev/null || true
    fi
    rm -f "$file"
}

cmd_up() {
    mkdir -p "$DIR/run" "$DIR/proxy-run"
    install_missing
    chown zabbix "$DIR/run" "$DIR/proxy-run" "$DIR"
    start_postgres
    create_db
    start_server
    start_web
    start_proxy
    api_url
}

cmd_seed() {
    api_ready || die "the API does not answer: run '$0 up' first"
    "$PY" "$HERE/zabbix_seed.py" --url "$(api_url)" --state "$DIR" \
        --server-conf "$DIR/zabbix_server.conf" --trapper-port "$TRAPPER_PORT" \
        --proxy-port "$PROXY_PORT" "$@"
}

cmd_down() {
    stop_pid "$DIR/php.pid" "php" group
    stop_pid "$DIR/zabbix_proxy.pid" "zabbix_proxy"
    stop_pid "$DIR/zabbix_server.pid" "zabbix_server"
}

cmd_env() {
    echo "LVS_TUI_ZABBIX_URL=$(api_url)"
    echo "LVS_TUI_ZABBIX_TOKEN_FILE=$DIR/api.token"
    echo "LVS_TUI_ZABBIX_LAB=$HERE/zabbix-lab.sh"
}

mkdir -p "$DIR"
case ${1:-} in
    up) cmd_up ;;
    seed) shift; cmd_seed "$@" ;;
    down) cmd_down ;;
    web-stop) stop_pid "$DIR/php.pid" "php" group ;;
    web-start) start_web; api_url ;;
    env) cmd_env ;;
    *) echo "usage: $0 up | seed [--hosts N] | web-stop | web-start | down | env" >&2; exit 2 ;;
esac
