# The table on the terminal and docs/benchmarks.md (sourced by bench/run).

HEADER="case	measure	module	plain nginx	module / plain	goal	verdict"

machine() {
    local cpu
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
    echo "| | |"
    echo "|---|---|"
    echo "| date | $(date -u '+%Y-%m-%d %H:%M UTC') |"
    echo "| CPU | ${cpu:-unknown}, $(nproc) cores ($(lscpu 2>/dev/null | sed -n 's/^Hypervisor vendor: *//p' | sed 's/^\(.\)/virtualized: \1/')) |"
    echo "| memory | $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) |"
    echo "| kernel | $(uname -sr) |"
    echo "| nginx | $("$NGINX" -v 2>&1 | sed 's/^nginx version: //') (Debian) |"
    echo "| module | $MODULE_REV |"
    echo "| OS | $(. /etc/os-release && echo "$PRETTY_NAME") |"
    echo "| Python (hub, clients) | $(python3 -V 2>&1) |"
    echo "| load average (1, 5, 15 min) | at the start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg) |"
    echo "| run time | $(( $(date +%s) - START )) s |"
}

md_table() {
    { echo "$HEADER"; cat "$OUT/results.tsv"; } | awk -F'\t' '
        { line = "|"; for (i = 1; i <= NF; i++) line = line " " $i " |"; print line }
        NR == 1 { line = "|"; for (i = 1; i <= NF; i++) line = line "---|"; print line }'
}

# top of a perf profile, as a code block
profile_block() {
    [ -s "$OUT/$1.top" ] || return 0
    echo '```'
    cat "$OUT/$1.top"
    echo '```'
}

# the table, aligned, for the terminal
text_table() {
    { echo "$HEADER"; cat "$OUT/results.tsv"; } > "$OUT/table.tsv"
    awk -F'\t' 'NR == FNR { for (i = 1; i <= NF; i++)
                               if (length($i) > w[i]) w[i] = length($i); next }
                 { line = ""; for (i = 1; i <= NF; i++)
                       line = line sprintf("%-" w[i] + 2 "s", $i); sub(/ +$/, "", line); print line }' \
        "$OUT/table.tsv" "$OUT/table.tsv"
}

report() {
    echo
    text_table
    echo
    [ "$CASES" = "$ALL_CASES" ] || { log "some cases only: $DOC not written"; return 0; }
    {
        sed -n '1,/^<!-- results -->$/p' "$ROOT/bench/doc.md" | sed '$d'
        machine
        echo
        md_table
        echo
        echo "### Details"
        echo
        cat "$OUT/notes.md"
        local show=1
        sed -n '/^<!-- results -->$/,$p' "$ROOT/bench/doc.md" | sed 1d \
            | while IFS= read -r line; do
                case $line in
                    "<!-- if-missed "*)     # only when that row missed its goal
                        key=${line#<!-- if-missed }; key=${key% -->}
                        awk -F'\t' -v k="$key" 'index($2, k) && $7 == "MISSED" { f = 1 }
                            END { exit !f }' "$OUT/results.tsv" && show=1 || show=0 ;;
                    "<!-- end -->") show=1 ;;
                    "<!-- profile "*)
                        [ $show = 1 ] && profile_block "$(echo "$line" | awk '{ print $3 }')" ;;
                    *) [ $show = 1 ] && printf '%s\n' "$line" ;;
                esac
            done
    } > "$DOC"
    log "wrote $DOC"
}
