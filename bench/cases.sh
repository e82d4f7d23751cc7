# The cases of bench/run (sourced).  Each one adds lines to the table
# (result) and paragraphs to the details (note).

# timed_get URL [K]: "seconds bytes" of K GETs in a row (default 1) by
# bench/client.py on CPU 1
timed_get() {
    pin timeout 120 python3 "$ROOT/bench/client.py" \
        --repeat "${2:-1}" "$1" \
        | jpy '"%s %s" % (r["clients"][0]["time"], r["clients"][0]["bytes"])'
}

# curl_get URL: "seconds bytes" of one GET by curl, a client that costs
# little CPU (Python's recv loop took a core's share from the server)
curl_get() {
    timeout 120 curl -s -o /dev/null -w '%{time_total} %{size_download}\n' "$1"
}

# cpu_ticks PID [TID]: user + system time of a process (all its threads),
# or of one of its threads, in clock ticks
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1${2:+/task/$2}/stat"; }

# machine_ticks: "busy idle" clock ticks of all CPUs since boot (busy:
# user, nice, system, irq, softirq, steal; idle: idle, iowait)
machine_ticks() {
    awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat
}

# slashes ARRAY...: "a1/b1/c1, a2/b2/c2, ..." of the arrays named ARRAY...
slashes() {
    local -n _first=$1
    local _i _a _v _out=""
    for _i in "${!_first[@]}"; do
        _v=
        for _a in "$@"; do
            local -n _arr=$_a
            _v+="${_v:+/}${_arr[$_i]}"
        done
        _out+="${_out:+, }$_v"
    done
    echo "$_out"
}

# 1. Warm large file: a cached LFS file through the module, against the same
#    bytes as a static file with sendfile (the goal), and as a proxy_cache
#    hit of plain nginx.  Also the worker's CPU time per GiB sent, which
#    other load on the machine disturbs less than MiB/s.
case_1() {
    local size=$((256 * MiB)) k=4 rounds=$((2 * ROUNDS + 1)) i side u r t0 gib hz
    local -A url pid tput cpu
    log "case 1: warm large file ($((size / MiB)) MiB, $rounds rounds)"
    add_blob warm.bin "$size" warm-1
    url[mod]=$MOD/hf/$REPO/resolve/$BLOB_COMMIT/warm.bin
    url[static]=$PLAIN/static/warm.bin
    url[pcache]=$PLAIN/cdn$(cdn_path "$BLOB_COMMIT" warm.bin)
    pid[mod]=$(ngx_worker module); pid[static]=$(ngx_worker plain); pid[pcache]=${pid[static]}

    mkdir -p "$OUT/plain/static"
    curl -sfL -o "$OUT/plain/static/warm.bin" "$HUB/$REPO/resolve/$BLOB_COMMIT/warm.bin"
    for side in mod mod static pcache pcache; do        # fill the caches, check
        r=$(client --hash "${url[$side]}" | jpy 'r["clients"][0]["sha256"]')
        [ "$r" = "$BLOB_SHA" ] || die "case 1: wrong bytes from ${url[$side]}"
    done

    for i in $(seq "$rounds"); do
        for side in mod static pcache; do
            t0=$(cpu_ticks "${pid[$side]}")
            set -- $(timed_get "${url[$side]}" "$k")
            [ "$2" = $((k * size)) ] || die "case 1: short body from ${url[$side]}"
            tput[$side]+=" $(calc "$2 / $1 / $MiB" %.0f)"
            cpu[$side]=$(( ${cpu[$side]:-0} + $(cpu_ticks "${pid[$side]}") - t0 ))
        done
    done
    gib=$((rounds * k * size / 1024 / MiB)) hz=$(getconf CLK_TCK)
    local m p c cm cp cc
    m=$(medof ${tput[mod]}); p=$(medof ${tput[static]}); c=$(medof ${tput[pcache]})
    cm=$(calc "${cpu[mod]} * 1000 / $hz / $gib" %.0f)
    cp=$(calc "${cpu[static]} * 1000 / $hz / $gib" %.0f)
    cc=$(calc "${cpu[pcache]} * 1000 / $hz / $gib" %.0f)
    result 1 "warm large file: GET MiB/s (1 client, $k x $((size / MiB)) MiB in a row)" \
        "$m" "$p" "$(calc "$m / $p" %.3f)" ">= 0.98" "$(verdict "$m / $p" '>=' 0.98)"
    result 1 "warm large file: worker CPU ms per GiB sent" "$cm" "$cp" \
        "$(calc "$cm / $cp" %.2f)" "-" "-"
    result 1 "warm large file: MiB/s, against plain nginx's proxy_cache hit" \
        "$m" "$c" "$(calc "$m / $c" %.2f)" "-" "-"
    result 1 "warm large file: CPU ms per GiB, against proxy_cache hit" \
        "$cm" "$cc" "$(calc "$cm / $cc" %.2f)" "-" "-"
    note "**1. Warm large file.** MiB/s per round (each: $k GETs of the"\
         "$((size / MiB)) MiB file in a row), module:${tput[mod]}; plain"\
         "static:${tput[static]}; plain proxy_cache hit:${tput[pcache]}. Worker CPU"\
         "over all rounds ($gib GiB each), in ticks of $((1000 / hz)) ms:"\
         "module ${cpu[mod]}, static ${cpu[static]}, proxy_cache ${cpu[pcache]}."
}

# 2. Warm small file: HEAD+GET pairs on a cached config.json through the
#    module, against plain nginx's proxy_cache hits of the same file.
case_2() {
    local path=/hf/$REPO/resolve/main/config.json expect got u i side
    local mod=() plain=() mod99=() plain99=() errors=0
    log "case 2: warm small file (HEAD+GET pairs, $ROUNDS x ${LOAD_SECONDS}s each)"
    gcc -O2 -o "$OUT/hfload" "$ROOT/bench/hfload.c" || die "cannot build hfload"
    expect=$(curl -sf "$HUB/$REPO/resolve/main/config.json" | sha256sum)
    for u in "$MOD$path" "$PLAIN$path"; do          # fill the caches, check
        for i in 1 2; do
            curl -sfI -o /dev/null "$u" || die "case 2: HEAD $u failed"
            got=$(curl -sf "$u" | sha256sum)
            [ "$got" = "$expect" ] || die "case 2: wrong bytes from $u"
        done
    done

    for i in $(seq "$ROUNDS"); do
        for side in mod plain; do
            u=$MOD; [ $side = plain ] && u=$PLAIN
            set -- $(pin timeout $((LOAD_SECONDS + 30)) "$OUT/hfload" \
                -c 8 -d "$LOAD_SECONDS" "$u$path" | sed -n 's/^RESULT //p')
            [ $# = 3 ] || die "case 2: hfload failed"
            errors=$((errors + $3))
            if [ $side = mod ]; then mod+=("$1"); mod99+=("$2")
            else plain+=("$1"); plain99+=("$2"); fi
        done
    done
    [ "$errors" = 0 ] || die "case 2: $errors errors (non-200 or broken connections)"

    local m p m99 p99
    m=$(medof "${mod[@]}"); p=$(medof "${plain[@]}")
    m99=$(medof "${mod99[@]}"); p99=$(medof "${plain99[@]}")
    result 2 "warm small file: HEAD+GET requests/s (8 connections)" \
        "$(calc "$m" %.0f)" "$(calc "$p" %.0f)" "$(calc "$m / $p" %.3f)" \
        ">= 1.0" "$(verdict "$m / $p" '>=' 1.0)"
    result 2 "warm small file: p99 latency, ms" "$m99" "$p99" \
        "$(calc "$m99 / $p99" %.2f)" "-" "-"
    note "**2. Warm small file.** Requests/s per round (half HEAD, half GET),"\
         "module: ${mod[*]}; plain: ${plain[*]}. p99 ms, module: ${mod99[*]};"\
         "plain: ${plain99[*]}."

    # where the worker's CPU goes, for both (the doc shows it)
    for side in module plain; do
        u=$MOD; [ $side = plain ] && u=$PLAIN
        profile_start "$side" "profile-2-$side" 3
        pin timeout 30 "$OUT/hfload" -c 8 -d 3 "$u$path" > /dev/null
        profile_report "profile-2-$side" 25
    done
}

# 3. Cold fan-in: 32 clients ask for one uncached blob at the same instant.
case_3() {
    local size=$((256 * MiB)) n=32 i side url name r bytes
    local rounds=${BENCH_FANIN_ROUNDS:-3} up_ttfb=() up_time=()
    local wpid loop0 all0 loop1 all1 mod_loop=() mod_pool=() plain_loop=()
    local m0 m1 mod_machine=() plain_machine=() mod_idle=() plain_idle=()
    local ticks=$(getconf CLK_TCK)
    local mod_bytes=() mod_first=() mod_med=() mod_last=() mod_tput=() mod_spread=()
    local plain_bytes=() plain_first=() plain_med=() plain_last=() plain_tput=() plain_spread=()
    local spread
    log "case 3: cold fan-in ($n clients, $((size / MiB)) MiB, $rounds rounds)"
    gcc -O2 -pthread -o "$OUT/fanin" "$ROOT/bench/fanin.c" -lcrypto \
        || die "cannot build fanin"
    workers_cpus 3
    local order
    for i in $(seq "$rounds"); do
        # each side first in every other round: the later one runs with
        # the earlier one's cache files still being written back
        if [ $((i % 2)) = 1 ]; then order="mod plain"; else order="plain mod"; fi
        for side in $order; do
            name=fanin-$i-$side.bin
            add_blob "$name" "$size" "$name"
            if [ $side = mod ]; then url=$MOD/hf/$REPO/resolve/$BLOB_COMMIT/$name
            else url=$PLAIN/cdn$(cdn_path "$BLOB_COMMIT" "$name"); fi
            timeout 600 "$OUT/fanin" -c "$n" "$url" > "$OUT/fanin-$i-$side.json"
            r=$(jpy "sum(c['status'] == 200 and c['sha256'] == '$BLOB_SHA'
                         and not c['error'] for c in r['clients'])" \
                < "$OUT/fanin-$i-$side.json")
            [ "$r" = "$n" ] || die "case 3: $r of $n right answers from $url"
            # the last client's total time / the first client's (first byte)
            spread=$(jpy "'%.2f' % (max(c['time'] for c in r['clients'])
                                   / r['clients'][0]['time'])" < "$OUT/fanin-$i-$side.json")
            bytes=$(upstream_bytes "$BLOB_SHA")
            # the upstream's own (the hub's 302, then the CDN), after the count
            set -- $(client --follow "$HUB/$REPO/resolve/$BLOB_COMMIT/$name" \
                | jpy '"%s %s" % (r["clients"][0]["ttfb"], r["clients"][0]["time"])')
            up_ttfb+=("$(calc "$1 * 1000" %.1f)"); up_time+=("$(calc "$2" %.2f)")
            # ms to the first byte: first, median and last client
            set -- $(jpy "'%.1f %.0f %.0f' % (r['clients'][0]['ttfb'] * 1000,
                    st.median(c['ttfb'] for c in r['clients']) * 1000,
                    r['clients'][-1]['ttfb'] * 1000)" < "$OUT/fanin-$i-$side.json")
            # and one client alone on another uncached blob: the cold rate
            add_blob "cold-$i-$side.bin" "$size" "cold-$i-$side.bin"
            if [ $side = mod ]; then url=$MOD/hf/$REPO/resolve/$BLOB_COMMIT/cold-$i-$side.bin
            else url=$PLAIN/cdn$(cdn_path "$BLOB_COMMIT" "cold-$i-$side.bin"); fi
            sync    # the fan-in's writes are on disk, not still being written
            if [ "$i" = 1 ]; then profile_start "${side/mod/module}" "profile-3-$side" 2; fi
            # CPU of the worker's event loop (its main thread) and of the
            # rest of it (the module's hashing threads), per GiB
            wpid=$(ngx_worker "${side/mod/module}")
            loop0=$(cpu_ticks "$wpid" "$wpid"); all0=$(cpu_ticks "$wpid")
            m0=$(machine_ticks)
            set -- "$@" $(curl_get "$url" | awk -v s="$size" '{ printf "%.0f", s / $1 / 1048576 }')
            m1=$(machine_ticks)
            loop1=$(cpu_ticks "$wpid" "$wpid"); all1=$(cpu_ticks "$wpid")
            # the whole machine's CPU per GiB, and the share left idle
            set -- "$@" $(awk -v a="$m0" -v b="$m1" -v t="$ticks" -v s="$size" 'BEGIN {
                split(a, x, " "); split(b, y, " "); busy = y[1] - x[1]; idle = y[2] - x[2]
                printf "%.0f %.0f", busy * 1000 / t * 1073741824 / s,
                       busy + idle ? 100 * idle / (busy + idle) : 0 }')
            all1=$(calc "($all1 - $all0 - ($loop1 - $loop0)) * 1000 / $ticks * 1024 * $MiB / $size" %.0f)
            loop1=$(calc "($loop1 - $loop0) * 1000 / $ticks * 1024 * $MiB / $size" %.0f)
            if [ "$i" = 1 ]; then profile_report "profile-3-$side" 12; fi
            if [ $side = mod ]; then
                mod_bytes+=("$(calc "$bytes / $size" %.2f)")
                mod_first+=("$1"); mod_med+=("$2"); mod_last+=("$3"); mod_tput+=("$4")
                mod_spread+=("$spread"); mod_loop+=("$loop1"); mod_pool+=("$all1")
                mod_machine+=("$5"); mod_idle+=("$6")
            else
                plain_bytes+=("$(calc "$bytes / $size" %.2f)")
                plain_first+=("$1"); plain_med+=("$2"); plain_last+=("$3"); plain_tput+=("$4")
                plain_spread+=("$spread"); plain_loop+=("$loop1")
                plain_machine+=("$5"); plain_idle+=("$6")
            fi
        done
    done
    workers_cpus 1
    local mb pb ut
    mb=$(printf '%s\n' "${mod_bytes[@]}" | sort -g | tail -1)
    pb=$(printf '%s\n' "${plain_bytes[@]}" | sort -g | tail -1)
    ut=$(medof "${up_ttfb[@]}")
    result 3 "cold fan-in: upstream bytes / blob size ($n clients, worst of $rounds)" \
        "$mb" "$pb" "-" "= 1.00" "$(verdict "$mb" '<=' 1.0)"
    for w in first med last; do
        local mv pv label
        mv=mod_$w[@]; pv=plain_$w[@]
        mv=$(medof "${!mv}"); pv=$(medof "${!pv}")
        case $w in first) label="first client";; med) label="median client";;
                   last) label="last client";; esac
        result 3 "cold fan-in: TTFB of the $label, ms (x the upstream's $ut ms)" \
            "$mv (x$(calc "$mv / $ut" %.0f))" "$pv (x$(calc "$pv / $ut" %.0f))" \
            "$(calc "$mv / $pv" %.2f)" "<= 5 x upstream" \
            "$(verdict "$mv / $ut" '<=' 5)"
    done
    local ms ps
    ms=$(medof "${mod_spread[@]}"); ps=$(medof "${plain_spread[@]}")
    result 3 "cold fan-in: the last client's total time / the first client's" \
        "$ms" "$ps" "-" "<= 1.2" "$(verdict "$ms" '<=' 1.2)"
    result 3 "cold GET, 1 client: CPU of the worker's event loop, ms per GiB" \
        "$(medof "${mod_loop[@]}")" "$(medof "${plain_loop[@]}")" \
        "$(calc "$(medof "${mod_loop[@]}") / $(medof "${plain_loop[@]}")" %.2f)" "-" "-"
    result 3 "cold GET, 1 client: CPU of the worker's other threads (hashing), ms per GiB" \
        "$(medof "${mod_pool[@]}")" "-" "-" "-" "-"
    result 3 "cold GET, 1 client: CPU of the whole machine (hub, client, nginx), ms per GiB" \
        "$(medof "${mod_machine[@]}")" "$(medof "${plain_machine[@]}")" \
        "$(calc "$(medof "${mod_machine[@]}") / $(medof "${plain_machine[@]}")" %.2f)" "-" "-"
    result 3 "cold GET, 1 client: the machine's CPU left idle, %" \
        "$(medof "${mod_idle[@]}")" "$(medof "${plain_idle[@]}")" "-" "-" "-"
    result 3 "cold GET, 1 client: MiB/s ($((size / MiB)) MiB; upstream alone: $(calc "$size / $MiB / $(medof "${up_time[@]}")" %.0f))" \
        "$(medof "${mod_tput[@]}")" "$(medof "${plain_tput[@]}")" \
        "$(calc "$(medof "${mod_tput[@]}") / $(medof "${plain_tput[@]}")" %.2f)" ">= 0.90" \
        "$(verdict "$(medof "${mod_tput[@]}") / $(medof "${plain_tput[@]}")" '>=' 0.90)"
    note "**3. Cold fan-in.** Upstream bytes / blob size per round, module:"\
         "${mod_bytes[*]}; plain: ${plain_bytes[*]}. TTFB in ms per round"\
         "(first / median / last client), module: $(slashes mod_first mod_med mod_last);"\
         "plain: $(slashes plain_first plain_med plain_last)."\
         "Cold GET (one client, curl) in MiB/s per round, module: ${mod_tput[*]};"\
         "plain: ${plain_tput[*]}; the module's event loop, ms of CPU per GiB:"\
         "${mod_loop[*]} (plain's worker: ${plain_loop[*]}), its hashing threads:"\
         "${mod_pool[*]}; the whole machine, ms of CPU per GiB: ${mod_machine[*]}"\
         "(plain: ${plain_machine[*]}), idle: ${mod_idle[*]} % (plain: ${plain_idle[*]} %)."\
         "The upstream's own TTFB (the hub's 302, then the CDN's first byte),"\
         "per round: ${up_ttfb[*]} ms; its whole download of the blob: ${up_time[*]} s."
}

# 4. Memory: a worker's RSS while 8 clients stream 8 different uncached
#    blobs.
case_4() {
    local size=$((512 * MiB)) n=8 j side url name urls r pid
    log "case 4: memory ($n clients, $n different uncached $((size / MiB)) MiB files)"
    for side in mod plain; do
        urls=()
        for j in $(seq "$n"); do
            name=mem-$side-$j.bin
            add_blob "$name" "$size" "$name"
            if [ $side = mod ]; then urls+=("$MOD/hf/$REPO/resolve/$BLOB_COMMIT/$name")
            else urls+=("$PLAIN/cdn$(cdn_path "$BLOB_COMMIT" "$name")"); fi
        done
        pid=$(ngx_worker module)
        [ $side = plain ] && pid=$(ngx_worker plain)
        client --rss "$pid" "${urls[@]}" > "$OUT/memory-$side.json"
        r=$(jpy "sum(c['status'] == 200 and c['bytes'] == $size
                     and not c['error'] for c in r['clients'])" < "$OUT/memory-$side.json")
        [ "$r" = "$n" ] || die "case 4: $r of $n complete answers ($side)"
        set -- $(jpy '"%s %s %s %s" % (r["rss_before_kib"], r["rss_max_kib"],
                      r["rss_after_kib"], r["wall"])' < "$OUT/memory-$side.json")
        if [ $side = mod ]; then
            MEM_MOD="$1 $2 $3 $4"
        else
            MEM_PLAIN="$1 $2 $3 $4"
        fi
    done
    set -- $MEM_MOD $MEM_PLAIN
    local mg pg
    mg=$(calc "($2 - $1) / 1024" %.1f)
    pg=$(calc "($6 - $5) / 1024" %.1f)
    result 4 "memory: worker RSS growth, MiB ($n streams of $((size / MiB)) MiB)" \
        "$mg" "$pg" "-" "<= 16" "$(verdict "$mg" '<=' 16)"
    note "**4. Memory.** Worker VmRSS (KiB) before / highest while streaming /"\
         "after, module: $1 / $2 / $3 ($(calc "$n * $size / $MiB / $4" %.0f) MiB/s"\
         "in all); plain: $5 / $6 / $7 ($(calc "$n * $size / $MiB / $8" %.0f) MiB/s)."
}

# range_get URL RANGE [OPTION]: "seconds status bytes sha256" of one
# ranged GET
range_get() {
    client --hash --range "$2" ${3:-} "$1" | jpy '" ".join(str(x) for x in (
        r["clients"][0]["time"], r["clients"][0]["status"],
        r["clients"][0]["bytes"], r["clients"][0].get("sha256")))'
}

# 5. Cold range: the last MiB of an uncached 1 GiB blob against its first
#    MiB (two fresh blobs each round), then later ranges of the blob that
#    was fetched.  Plain nginx runs with "slice 1m", nginx's own answer.
case_5() {
    local size=$((1024 * MiB)) i side url name first last r which
    local rounds=${BENCH_RANGE_ROUNDS:-$((ROUNDS + 2))} mod_f=() mod_l=() plain_f=() plain_l=()
    RANGE_BYTES=()
    local lastr="bytes=$((size - MiB))-$((size - 1))" firstr="bytes=0-$((MiB - 1))"
    log "case 5: cold range ($((size / MiB)) MiB blobs, $rounds rounds)"
    for i in $(seq "$rounds"); do
        for side in mod plain; do
            for which in first last; do
                name=range-$i-$side-$which.bin
                add_blob "$name" "$size" "$name"
                if [ $side = mod ]; then url=$MOD/hf/$REPO/resolve/$BLOB_COMMIT/$name
                else url=$PLAIN/slice$(cdn_path "$BLOB_COMMIT" "$name"); fi
                r=${which}r
                if [ $side$which = modlast ]; then
                    RANGE_URL=$url RANGE_SHA=$BLOB_SHA
                    RANGE_HUB=$HUB/$REPO/resolve/$BLOB_COMMIT/$name
                fi
                set -- $(range_get "$url" "${!r}")
                [ "$2" = 206 ] && [ "$3" = "$MiB" ] \
                    || die "case 5: $2 with $3 bytes for ${!r} of $url"
                printf -v "$which" %s "$(calc "$1 * 1000" %.1f)"
                # the module may go on fetching the whole blob: let it finish
                upstream_idle "$BLOB_SHA" || die "case 5: upstream still busy"
                if [ $side$which = modlast ]; then
                    RANGE_BYTES+=("$(calc "$(upstream_bytes "$BLOB_SHA") / $size" %.3f)")
                fi
            done
            if [ $side = mod ]; then mod_f+=("$first"); mod_l+=("$last")
            else plain_f+=("$first"); plain_l+=("$last"); fi
        done
    done

    # the first MiB again with "tcp_nopush on" (Debian's nginx.conf has it)
    local cork=()
    sed -i 's/^    sendfile on;$/    sendfile on; tcp_nopush on;/' "$OUT/module/conf/nginx.conf"
    "$NGINX" -p "$OUT/module/" -c conf/nginx.conf -s reload; sleep 1
    for i in 1 2 3; do
        add_blob "cork-$i.bin" "$size" "cork-$i.bin"
        set -- $(range_get "$MOD/hf/$REPO/resolve/$BLOB_COMMIT/cork-$i.bin" "$firstr")
        [ "$2" = 206 ] || die "case 5: $2 for the first MiB with tcp_nopush on"
        cork+=("$(calc "$1 * 1000" %.1f)")
        upstream_idle "$BLOB_SHA" || die "case 5: upstream still busy"
    done
    sed -i 's/^    sendfile on; tcp_nopush on;$/    sendfile on;/' "$OUT/module/conf/nginx.conf"
    "$NGINX" -p "$OUT/module/" -c conf/nginx.conf -s reload; sleep 1

    local mf ml pf pl mc
    mf=$(medof "${mod_f[@]}"); ml=$(medof "${mod_l[@]}")
    pf=$(medof "${plain_f[@]}"); pl=$(medof "${plain_l[@]}")
    mc=$(medof "${cork[@]}")
    result 5 "cold range (1 GiB blob): time of the last MiB / the first MiB" \
        "$(calc "$ml / $mf" %.1f)" "$(calc "$pl / $pf" %.1f)" "-" "<= 2" \
        "$(verdict "$ml / $mf" '<=' 2)"
    result 5 "cold range: first MiB, ms" "$mf" "$pf" "$(calc "$mf / $pf" %.1f)" "-" "-"
    result 5 "cold range: first MiB with tcp_nopush on, ms" "$mc" "-" "-" \
        "<= 2 x row above + 5" "$(verdict "$mc" '<=' "2 * $mf + 5")"
    result 5 "cold range: last MiB, ms" "$ml" "$pl" "$(calc "$ml / $pl" %.1f)" "-" "-"
    result 5 "cold range: upstream bytes / blob size, for the last MiB (worst)" \
        "$(printf '%s\n' "${RANGE_BYTES[@]}" | sort -g | tail -1)" "-" "-" "-" "-"
    note "**5. Cold range.** First MiB / last MiB in ms per round, module:"\
         "$(slashes mod_f mod_l); plain nginx with \`slice 1m\`: $(slashes plain_f plain_l)."\
         "With \`tcp_nopush on\` the module's first MiB took ${cork[*]} ms."

    # later ranges of the module's last blob come from what was fetched
    local before after good=0 rs=("$firstr" "bytes=$((size / 2))-$((size / 2 + MiB - 1))"
                                 "$lastr" "bytes=-1000" "bytes=123456789-")
    before=$(upstream_bytes "$RANGE_SHA")
    for r in "${rs[@]}"; do
        set -- $(range_get "$RANGE_URL" "$r")
        printf '%s %s\n' "$2" "$4"
    done > "$OUT/range-later.txt"
    after=$(upstream_bytes "$RANGE_SHA")
    for r in "${rs[@]}"; do                 # the right bytes, from the hub
        set -- $(range_get "$RANGE_HUB" "$r" --follow)
        printf '%s %s\n' "$2" "$4"
    done > "$OUT/range-hub.txt"
    good=$(paste -d' ' "$OUT/range-later.txt" "$OUT/range-hub.txt" \
           | awk '$1 == 206 && $2 == $4 { n++ } END { print n + 0 }')
    result 5 "cold range: later ranges, new upstream bytes (${#rs[@]} ranges)" \
        "$((after - before))" "-" "-" "= 0" \
        "$( [ $((after - before)) = 0 ] && [ "$good" = ${#rs[@]} ] && echo met || echo MISSED)"
    note "Later ranges of a blob fetched for its last MiB (${rs[*]}):"\
         "$good of ${#rs[@]} answered 206 with the hub's bytes,"\
         "$((after - before)) new bytes from upstream."
}

# callgrind_run NAME HTTP_BODY URL N: N GETs of URL (after 3 to warm up)
# under callgrind, nginx in one process; sets CG_TOTAL (instructions per
# GET) and CG_STORE (of those, in the module's LMDB functions)
callgrind_run() {
    local name=$1 dir=$OUT/$1 port vg i
    port=$(free_port)
    ngx_conf "$name" "${2//@PORT@/$port}" "master_process off; daemon off;"
    valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
        "$NGINX" -p "$dir/" -c conf/nginx.conf -e logs/error.log \
        > "$dir/valgrind.log" 2>&1 &
    vg=$!
    for i in $(seq 300); do
        curl -sf -o /dev/null --max-time 5 "http://127.0.0.1:$port$3" && break
        sleep 0.2
    done
    for i in 1 2 3; do curl -sf -o /dev/null --max-time 30 "http://127.0.0.1:$port$3"; done
    for i in $(seq "$4"); do echo "url = \"http://127.0.0.1:$port$3\""; echo "output = /dev/null"; done \
        > "$dir/curl.cfg"
    callgrind_control -z "$vg" > /dev/null
    curl -sf --max-time 300 -K "$dir/curl.cfg" || die "case 6: GETs under callgrind failed"
    callgrind_control -d "$vg" > /dev/null
    kill -QUIT "$vg"; wait "$vg" 2>/dev/null || true
    callgrind_annotate --inclusive=yes --tree=calling --threshold=100 \
        "$dir/callgrind.out.1" > "$dir/callgrind.txt" 2> /dev/null
    set -- $(awk -v n="$4" '
        /Auto-annotated source/ { exit }
        { v = $1; gsub(",", "", v); v += 0 }
        /PROGRAM TOTALS/ && !total { total = v }
        # LMDB calls made by the module (inclusive; they do not nest)
        /\* +\?\?\?:mdb_(get|txn_renew|txn_reset|txn_begin|put|txn_commit|txn_abort) \[/ {
            lmdb += v }
        # the module'"'"'s store functions, inclusive (a function may show
        # up under two source paths: count it once)
        match($0, /\* .*:ngx_http_hf_store_(get_revision|get_file|get_blob|hit|put_[a-z]+|flush)( |$)/) {
            f = substr($0, RSTART, RLENGTH); sub(/.*:/, "", f); sub(/ $/, "", f)
            if (v > store[f]) store[f] = v }
        /%\) +> +\?\?\?:mdb_txn_renew \([0-9]+x\)/ && !seen[$0]++ {
            c = $0; sub(/.*\(/, "", c); sub(/x\).*/, "", c); lookups += c }
        END { for (f in store) st += store[f]
              printf "%d %d %d %.1f\n", total / n, lmdb / n, st / n, lookups / n }
        ' "$dir/callgrind.txt")
    CG_TOTAL=$1 CG_LMDB=$2 CG_STORE=$3 CG_LOOKUPS=$4
}

# ro_on DIR / ro_undo: make a directory read-only (a read-only bind mount
# when root can mount, else file modes), and back
RO_DIR=
ro_on() {
    RO_DIR=$1
    if [ "$(id -u)" = 0 ]; then
        mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && RO_HOW="a read-only bind mount" && return 0
        umount "$1" 2> /dev/null
        RO_DIR=; return 1     # root ignores file modes: no way here
    fi
    chmod -R a-w "$1" && RO_HOW="chmod a-w"
}
ro_undo() {
    [ -n "${RO_DIR:-}" ] || return 0
    if [ "$(id -u)" = 0 ]; then umount "$RO_DIR"; else chmod -R u+w "$RO_DIR"; fi
    RO_DIR=
}

# degraded NAME: GET and HEAD answers of an instance against the hub's
# bytes, each twice; "<right> <asked>"
degraded() {
    local base=http://127.0.0.1:$2 ok=0 n=0 f want got
    for f in config.json README.md model.safetensors; do
        want=$(curl -sf "$HUB/_control/content?kind=model&repo=$REPO&path=$f" | sha256sum)
        for i in 1 2; do
            n=$((n + 2))
            got=$(curl -sf --max-time 30 "$base/hf/$REPO/resolve/main/$f" | sha256sum) \
                && [ "$got" = "$want" ] && ok=$((ok + 1))
            [ "$(curl -s -o /dev/null -w '%{http_code}' -I --max-time 30 \
                 "$base/hf/$REPO/resolve/main/$f")" = 200 ] && ok=$((ok + 1))
        done
    done
    echo "$ok $n"
}

# 6. Metadata: what the LMDB lookups cost on the hit path, and how the
#    module degrades when LMDB cannot be written.
case_6() {
    local n=${BENCH_CALLGRIND_GETS:-200} path=/hf/$REPO/resolve/main/config.json
    log "case 6: metadata (callgrind, $n cached GETs each; full map; read-only)"
    callgrind_run cg-module "$(module_http cg-module)" "$path" "$n"
    local mt=$CG_TOTAL ml=$CG_LMDB ms=$CG_STORE mk=$CG_LOOKUPS
    callgrind_run cg-plain "$(cat <<CONF
    proxy_cache_path $OUT/cg-plain/cache levels=1:2 keys_zone=plain:16m;
    server {
        listen 127.0.0.1:@PORT@;
        location /hf/ {
            proxy_pass $HUB/;
            proxy_http_version 1.1;
            proxy_cache plain;
            proxy_cache_key \$uri;
            proxy_cache_valid 200 1h;
        }
    }
CONF
)" "$path" "$n"
    local pt=$CG_TOTAL
    result 6 "metadata: instructions per cached GET (callgrind)" \
        "$(calc "$mt" %.0f)" "$(calc "$pt" %.0f)" "$(calc "$mt / $pt" %.2f)" "<= 1.2" \
        "$(verdict "$mt / $pt" '<=' 1.2)"
    result 6 "metadata: of which LMDB ($mk read transactions per GET), instructions" \
        "$ms" "-" "$(calc "$ms / $mt * 100" %.1f)%" "-" "-"
    note "**6. Metadata cost.** Per cached GET of config.json at \`main\` (callgrind,"\
         "$n GETs on one keep-alive connection, counters zeroed after 3 warm-up"\
         "GETs): module $mt instructions, plain nginx proxy_cache hit $pt."\
         "The module's store functions (ngx_http_hf_store_get_revision, _get_file,"\
         "_get_blob, _hit) take $ms of them inclusive, $ml inside liblmdb"\
         "(mdb_get, mdb_txn_renew, mdb_txn_reset), in $mk read transactions:"\
         "$(calc "$ms / $mk" %.0f) instructions per transaction. Without them"\
         "the module would run $(calc "$mt - $ms" %.0f) instructions per GET."

    # a full map: size=1m, filled with other records before the requests
    ngx_start module-full "$(module_http module-full "" 1m)" \
        || die "case 6: nginx with size=1m did not start"
    local i v full=0
    for v in 1500 300 40 4; do      # batches of 100 records until one fails
        for i in $(seq 60); do
            seq -f "fill-$v-$i-%03g" 100 \
                | awk -v v="$(printf "%${v}s" | tr ' ' x)" '{ print; print v }' \
                > "$OUT/fill.txt"
            if ! mdb_load -T -s files -f "$OUT/fill.txt" "$OUT/module-full/metadata" \
                 2>> "$OUT/fill.err"; then break; fi
        done
    done
    grep -q MDB_MAP_FULL "$OUT/fill.err" && full=1
    [ "$full" = 1 ] || die "case 6: could not fill the 1m map"
    set -- $(degraded module-full "$PORT_module_full")
    sleep 1.5                       # hit counts are written once a second
    local logged=no
    grep -q MDB_MAP_FULL "$OUT/module-full/logs/error.log" && logged=yes
    result 6 "full LMDB map (size=1m, filled): right 200s" "$1/$2" "-" "-" \
        "all" "$( [ "$1" = "$2" ] && echo met || echo MISSED)"
    note "**6. Full map.** After filling the map, $1 of $2 GET/HEAD answers"\
         "(config.json, README.md, model.safetensors, each twice) were 200"\
         "with the hub's bytes; MDB_MAP_FULL logged: $logged."
    ngx_stop module-full

    # a read-only metadata directory, with records from an earlier start
    local ro="$OUT/module-ro/metadata"
    ngx_start module-ro "$(module_http module-ro)" || die "case 6: module-ro did not start"
    set -- $(degraded module-ro "$PORT_module_ro")
    ngx_stop module-ro
    if ro_on "$ro"; then
        if ngx_start module-ro "$(module_http module-ro)"; then
            set -- $(degraded module-ro "$PORT_module_ro")
            result 6 "read-only metadata directory: right 200s" "$1/$2" "-" "-" \
                "all" "$( [ "$1" = "$2" ] && echo met || echo MISSED)"
            note "**6. Read-only metadata** ($RO_HOW, records of an earlier start"\
                 "inside): $1 of $2 answers right."
        else
            result 6 "read-only metadata directory: right 200s" "nginx fails to start" \
                "-" "-" "all" MISSED
            note "**6. Read-only metadata** ($RO_HOW, records of an earlier start"\
                 "inside): nginx does not start: \`$(grep -h emerg \
                 "$OUT/module-ro/logs/start.out" "$OUT/module-ro/logs/error.log" \
                 2>/dev/null | tail -1 | sed 's/^.*\[emerg\] [0-9#]*: //')\`."
        fi
        ngx_stop module-ro
        ro_undo
    else
        result 6 "read-only metadata directory" "not run" "-" "-" "all" "-"
        note "**6. Read-only metadata**: not run (root without mount: file modes do not stop root)."
    fi
}

# 7. The Hub's quota: every request the cache answers alone is quota its
#    users keep.  huggingface_hub's snapshot_download (the pinned client of
#    t/clients, in build/pyenv) of a cached repository by branch, through
#    an instance with hf_revision_ttl 3s: Hub requests within the TTL, and
#    after it; then hf_hub_download of each file by branch after the TTL.
#    The Hub answers as huggingface.co does today (resolve-cache 307s).
case_7() {
    local py=$ROOT/build/pyenv/bin/python ttl=3 n0 cold warm late files
    log "case 7: the Hub's quota (warm snapshot_download by branch)"
    [ -x "$py" ] || die "case 7: $py is missing (make test-deps)"
    hub_ctl config '{"resolve_mode": "cache307"}' > /dev/null
    ngx_start quota "$(module_http quota | sed "s|hf_cache hf_cache;|&\n    hf_revision_ttl ${ttl}s;|")" \
        || die "case 7: nginx did not start"

    # snapshot [by_branch]: one run of the client with an empty cache of
    # its own, so that every file goes through the cache
    snapshot() {
        rm -rf "$OUT/quota/hf-home"
        HF_ENDPOINT=http://127.0.0.1:$PORT_quota/hf HF_HOME=$OUT/quota/hf-home \
        HF_HUB_DISABLE_TELEMETRY=1 HF_HUB_DISABLE_PROGRESS_BARS=1 timeout 120 "$py" - "$REPO" "${1:-}" <<'PY' \
            || die "case 7: the client failed"
import sys
from huggingface_hub import snapshot_download, hf_hub_download, list_repo_files
repo, by_branch = sys.argv[1], sys.argv[2]
if by_branch:
    for f in list_repo_files(repo):
        hf_hub_download(repo, f)
else:
    snapshot_download(repo)
PY
    }
    hub_requests() {
        curl -sf "$HUB/_control/log" | python3 -c \
            'import json, sys; print(sum(e["server"] == "hub" for e in json.load(sys.stdin)))'
    }

    snapshot
    n0=$(hub_requests)
    snapshot
    warm=$(( $(hub_requests) - n0 ))
    sleep $((ttl + 1))
    n0=$(hub_requests)
    snapshot
    late=$(( $(hub_requests) - n0 ))
    sleep $((ttl + 1))
    n0=$(hub_requests)
    snapshot by_branch
    files=$(( $(hub_requests) - n0 ))
    hub_ctl config '{"resolve_mode": "direct"}' > /dev/null
    ngx_stop quota

    result 7 "Hub requests: warm snapshot_download by branch, within hf_revision_ttl" \
        "$warm" "-" "-" "0" "$(verdict "$warm" '==' 0)"
    result 7 "Hub requests: warm snapshot_download by branch, after hf_revision_ttl" \
        "$late" "-" "-" "<= 1" "$(verdict "$late" '<=' 1)"
    result 7 "Hub requests: hf_hub_download of every file by branch, after hf_revision_ttl" \
        "$files" "-" "-" "<= 1" "$(verdict "$files" '<=' 1)"
    note "**7. The Hub's quota.** huggingface_hub's snapshot_download of $REPO"\
         "through the cache (hf_revision_ttl ${ttl}s), each run with an empty"\
         "client cache: $warm Hub requests when warm within the TTL, $late after"\
         "it (the revision, asked once); hf_hub_download of every file by branch"\
         "after the TTL (the listing, then each file): $files."
}
