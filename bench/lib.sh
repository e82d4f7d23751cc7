# Helpers of bench/run (sourced): the local hub, nginx instances, numbers.

NGINX=${NGINX:-/usr/sbin/nginx}
MODULE_BUILT=${MODULE:-$ROOT/build/ngx_http_hf_module.so}
MODULE=$OUT/ngx_http_hf_module.so    # a private copy: "make build" rewrites
                                     # the built file in place
REPO=test-org/tiny-model
MiB=$((1024 * 1024))
# the cold cases push about 30 GiB through the caches: nginx's cache
# manager keeps each cache under this (a case never needs more at once)
CACHE_MAX=${BENCH_CACHE_MAX:-6g}

# every curl is bounded in time (a later --max-time wins)
curl() { command curl --max-time 120 "$@"; }

# pin CMD...: run a client on CPU 1 when there are two CPUs or more
pin() { if [ "$(nproc)" -ge 2 ]; then taskset -c 1 "$@"; else "$@"; fi; }

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait (bounded) until something answers on a loopback port
wait_port() {
    local i
    for i in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# --- the local hub -----------------------------------------------------------

hub_start() {
    local i
    mkdir -p "$OUT/hub"
    python3 "$ROOT/t/hub/hub.py" --port 0 --cdn-port 0 \
        > "$OUT/hub/out" 2> "$OUT/hub/err" &
    HUB_PID=$!
    for i in $(seq 100); do
        grep -q '^READY' "$OUT/hub/out" 2>/dev/null && break
        sleep 0.1
    done
    HUB_PORT=$(sed -n 's/^READY hub=\([0-9]*\) cdn=.*/\1/p' "$OUT/hub/out")
    CDN_PORT=$(sed -n 's/^READY hub=[0-9]* cdn=\([0-9]*\)/\1/p' "$OUT/hub/out")
    [ -n "$HUB_PORT" ] || die "the hub did not start: $(cat "$OUT/hub/err")"
    HUB=http://127.0.0.1:$HUB_PORT
    # a run sends the hub far more than huggingface.co's anonymous quota;
    # regular files answered 200 directly, as plain nginx's proxy_cache
    # needs for case 2 (case 7 asks for today's 307s itself)
    hub_ctl config '{"quota": {"api": 1000000000, "resolvers": 1000000000,
        "pages": 1000000000}, "resolve_mode": "direct"}' > /dev/null \
        || die "the hub refused its configuration"
}

hub_stop() {
    [ -n "${HUB_PID:-}" ] && kill "$HUB_PID" 2>/dev/null && wait "$HUB_PID" 2>/dev/null
    HUB_PID=
}

# hub_ctl NAME [JSON]: a control endpoint's answer
hub_ctl() {
    curl -sf --max-time 120 -X POST -H 'Content-Type: application/json' \
        -d "${2:-"{}"}" "$HUB/_control/$1"
}

# json_get KEY: a top-level field of the JSON object on stdin
json_get() {
    python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# add_blob NAME SIZE SEED: an LFS file on the ref "bench" (main stays as the
# fixtures have it); sets BLOB_COMMIT and BLOB_SHA
add_blob() {
    local r
    r=$(hub_ctl add_file "{\"kind\": \"model\", \"repo\": \"$REPO\",
        \"path\": \"$1\", \"size\": $2, \"lfs\": true, \"seed\": \"$3\",
        \"ref\": \"bench\"}") || die "add_file $1 failed"
    BLOB_COMMIT=$(json_get commit <<< "$r")
    BLOB_SHA=$(json_get sha256 <<< "$r")
}

# the signed CDN URL of a blob (the Location of the hub's 302), as a path
cdn_path() {
    curl -sI --max-time 10 "$HUB/$REPO/resolve/$1/$2" \
        | sed -n 's/^[Ll]ocation: http:\/\/[^/]*\(.*\)\r$/\1/p'
}

# upstream_bytes SHA: body bytes the CDN sent for that blob so far, and
# whether every one of those requests is complete (1 or 0)
upstream_state() {
    curl -sf --max-time 30 "$HUB/_control/log" | python3 -c '
import json, sys
log = [e for e in json.load(sys.stdin)
       if e["server"] == "cdn" and sys.argv[1] in e["path"]]
print(sum(e["bytes"] or 0 for e in log), int(all(e["complete"] for e in log)))' "$1"
}
upstream_bytes() { set -- $(upstream_state "$1"); echo "$1"; }

# upstream_idle SHA: wait (at most 2 minutes) until the CDN is done with a
# blob: no new byte for half a second and every request for it complete,
# or no new byte for 3 seconds
upstream_idle() {
    local sha=$1 i last=-1 same=0
    for i in $(seq 1200); do
        set -- $(upstream_state "$sha")
        if [ "$1" = "$last" ]; then same=$((same + 1)); else same=0; last=$1; fi
        [ $same -ge 5 ] && [ "$2" = 1 ] && return 0
        [ $same -ge 30 ] && return 0
        sleep 0.1
    done
    return 1
}

# --- nginx instances -----------------------------------------------------------
#
# ngx_start NAME HTTP_BODY [MAIN_EXTRA]: nginx -p $OUT/NAME with one worker,
# pinned to the first CPU when there are two or more (see workers_cpus);
# sets PORT_<NAME>.

ngx_conf() {
    local name=$1 body=$2 extra=${3:-} dir=$OUT/$1 affinity=""
    [ "$(nproc)" -ge 2 ] && affinity="worker_cpu_affinity 01;"
    mkdir -p "$dir/conf" "$dir/logs" "$dir/tmp"
    cat > "$dir/conf/nginx.conf" <<EOF
load_module $MODULE;
$( [ "$(id -u)" = 0 ] && echo "user root root;" )
worker_processes 1;
$affinity
error_log logs/error.log notice;
pid logs/nginx.pid;
$extra
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    client_body_temp_path $dir/tmp/client_body;
    proxy_temp_path       $dir/tmp/proxy;
    fastcgi_temp_path     $dir/tmp/fastcgi;
    uwsgi_temp_path       $dir/tmp/uwsgi;
    scgi_temp_path        $dir/tmp/scgi;
$body
}
EOF
}

ngx_start() {
    local name=$1 port
    port=$(free_port)
    ngx_conf "$name" "${2//@PORT@/$port}" "${3:-}"
    "$NGINX" -p "$OUT/$name/" -c conf/nginx.conf -e logs/error.log \
        > "$OUT/$name/logs/start.out" 2>&1 || return 1
    wait_port "$port" || return 1
    printf -v "PORT_${name//-/_}" %s "$port"
}

ngx_stop() {
    local pidfile=$OUT/$1/logs/nginx.pid pid i
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    kill -QUIT "$pid" 2>/dev/null || return 0
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
}

# the (single) worker's pid of an instance
ngx_worker() {
    pgrep -P "$(cat "$OUT/$1/logs/nginx.pid")" | head -1
}

# workers_cpus MASK: the CPUs every thread of both workers may run on
# (nginx's thread pools inherit the worker's CPU, so a pinned module's
# hashing threads would share it: the cold cases free them)
workers_cpus() {
    [ "$(nproc)" -ge 2 ] || return 0
    local name
    for name in module plain; do
        taskset -a -p "$1" "$(ngx_worker "$name")" > /dev/null
    done
}

# module_http NAME [METADATA_DIR [SIZE]]: the http block of an instance
# with the module, as conf.example has it
module_http() {
    cat <<EOF
    proxy_cache_path $OUT/$1/cache levels=1:2 keys_zone=hf_cache:16m
                     max_size=$CACHE_MAX inactive=90d use_temp_path=off;
    hf_metadata ${2:-$OUT/$1/metadata} size=${3:-1g};
    hf_remote $HUB;
    hf_cache hf_cache;
    hf_verify_threads ${BENCH_VERIFY_THREADS:-default};
    proxy_connect_timeout 10s;
    proxy_read_timeout 60s;
    server {
        listen 127.0.0.1:@PORT@;
        location /hf/ {
            hf_distribution public;
        }
    }
EOF
}

# --- numbers -----------------------------------------------------------------

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan";
    else if (NR % 2) print v[(NR + 1) / 2];
    else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

medof() { printf '%s\n' "$@" | median; }

# calc EXPR: floating point arithmetic, printed with %.3g unless FMT given
calc() { awk "BEGIN { printf \"${2:-%.3g}\", $1 }"; }

# client ARGS...: bench/client.py, bounded in time
client() { timeout 600 python3 "$ROOT/bench/client.py" "$@"; }

# jq-like access to client.py's JSON (stdin): python expression over "r"
jpy() { python3 -c "import json, sys, statistics as st; r = json.load(sys.stdin); print($1)"; }
