# bench/lib.sh — helpers shared by the benchmark sections (sourced).
#
# A section is bench/NAME.sh, run by bench/run as its own bash process with
# these variables exported:
#   BENCH_DIR   this directory           BENCH_REPO  the repository
#   BENCH_OUT   results of this run      BENCH_WORK  scratch, removed at exit
#   BENCH_TOOL  the timing helper (bench/benchtool.c)
# It writes BENCH_OUT/NAME.json (raw and summarised results) and
# BENCH_OUT/NAME.txt (its table, printed again by bench/run at the end).

: "${BENCH_RUNS:=200}"     # timed iterations per runtime and figure
: "${BENCH_ROUNDS:=5}"     # split into rounds; runtimes take turns each round
: "${BENCH_WARMUP:=2}"     # untimed iterations before each round
: "${BENCH_SEQ:=100}"      # the "N sequential runs" figure
: "${BENCH_CALLGRIND:=1}"  # 0: skip the callgrind figures
: "${BENCH_TIMEOUT:=60}"   # seconds before one step is declared hung

bench_log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
bench_warn() { printf '[%s] warning: %s\n' "$(date +%T)" "$*" >&2; }

# bench_time LABEL RUNS WARMUP RAW -- PHASE...
# Times PHASEs with benchtool (see bench/benchtool.c for the phases) and
# appends the samples to RAW. On failure, returns 1 and leaves the error in
# $BENCH_WORK/err/LABEL.msg (one line) and .log (details).
bench_time() {
	local label=$1 runs=$2 warmup=$3 raw=$4
	shift 5
	local e=$BENCH_WORK/err/${label//\//_}
	mkdir -p "$BENCH_WORK/err"
	if "$BENCH_TOOL" time -n "$runs" -w "$warmup" -l "$label" -o "$raw" \
		-e "$e.step" -T "$BENCH_TIMEOUT" -- "$@" 2>"$e.log"; then
		return 0
	fi
	# the first line from the runtime itself, else benchtool's own line
	{ grep -m1 '^  | ' "$e.log" | sed 's/^  | //' || head -n1 "$e.log"; } >"$e.msg"
	[ -s "$e.msg" ] || head -n1 "$e.log" >"$e.msg"
	return 1
}

bench_errmsg() { local e=$BENCH_WORK/err/${1//\//_}; cut -c1-160 "$e.msg" 2>/dev/null; }
bench_errlog() { local e=$BENCH_WORK/err/${1//\//_}; sed 's/^/    /' "$e.log" 2>/dev/null | head -n 25; }

# bench_stats RAW — JSON: {"LABEL/STEP": {n, median_ms, p25_ms, p75_ms,
# min_ms, max_ms, mean_ms, samples_ms}} over the TSV lines benchtool wrote.
bench_stats() {
	jq -R -s '
	  def median: sort | length as $n
	    | if $n == 0 then null elif $n % 2 == 1 then .[($n - 1) / 2]
	      else (.[$n / 2 - 1] + .[$n / 2]) / 2 end;
	  def q($p): sort | length as $n
	    | if $n == 0 then null else
	        (($n - 1) * $p) as $x | ($x | floor) as $lo
	        | .[$lo] + (.[[$lo + 1, $n - 1] | min] - .[$lo]) * ($x - $lo) end;
	  def r3: . * 1000 | round / 1000;
	  split("\n") | map(select(length > 0) | split("\t")
	    | {key: (.[0] + "/" + .[1]), ms: ((.[3] | tonumber) / 1e6)})
	  | group_by(.key)
	  | map({key: .[0].key, value: (map(.ms) as $v | {
	      n: ($v | length), median_ms: ($v | median | r3),
	      p25_ms: ($v | q(0.25) | r3), p75_ms: ($v | q(0.75) | r3),
	      min_ms: ($v | min | r3), max_ms: ($v | max | r3),
	      mean_ms: (($v | add) / ($v | length) | r3),
	      samples_ms: ($v | map(r3))})})
	  | from_entries' "$1"
}

# bench_cleanup_cgroups PREFIX — remove cgroups left by failed runs whose
# name starts with PREFIX (ours only), deepest first.
bench_cleanup_cgroups() {
	local pfx=$1
	[ -n "$pfx" ] || return 0
	find /sys/fs/cgroup -maxdepth 6 -depth -type d -name "$pfx*" 2>/dev/null |
		while read -r d; do
			# children first (created inside the container's cgroup)
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
		done
}

# bench_table TSV — aligns the rows of a tab-separated table; the first row
# is the header and is underlined.
bench_table() {
	awk -F'\t' '
	  { for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
	    if (NF > nf) nf = NF; nr = NR }
	  END {
	    for (r = 1; r <= nr; r++) {
	      line = ""
	      for (i = 1; i <= nf; i++) {
	        v = c[r, i]
	        if (i == 1 || i == nf) s = sprintf("%-" w[i] "s", v)
	        else s = sprintf("%" w[i] "s", v)
	        line = line (i > 1 ? "  " : "") s
	      }
	      sub(/ +$/, "", line); print line
	      if (r == 1) { u = line; gsub(/./, "-", u); print u }
	    }
	  }' "$1"
}

# bench_find_runtime RT — locate runtime RT (hull: $HULL_RUNTIME; others on
# PATH) and record BIN, VER and SUM for it, or mark it absent in STATUS and
# NOTE (returns 1). The caller declares these associative arrays.
bench_find_runtime() {
	local rt=$1 b
	case $rt in
	hull) b=$HULL_RUNTIME ;;
	*) b=$(command -v "$rt" || true) ;;
	esac
	if [ -z "$b" ] || [ ! -x "$b" ]; then
		STATUS[$rt]=absent
		if [ "$rt" = hull ]; then NOTE[$rt]="not built"; else NOTE[$rt]="not installed"; fi
		echo "$(disp "$rt"): ${NOTE[$rt]}"
		return 1
	fi
	b=$(readlink -f "$b")
	BIN[$rt]=$b
	VER[$rt]=$("$b" --version 2>/dev/null | head -n1 || true)
	SUM[$rt]=$(sha256sum "$b" | cut -d' ' -f1)
}

# bench_check_unchanged — a binary rebuilt during the run mixes two builds
# in its figures: say so in NOTE and as a warning.
bench_check_unchanged() {
	local rt
	for rt in "${!SUM[@]}"; do
		if [ "$(sha256sum "${BIN[$rt]}" 2>/dev/null | cut -d' ' -f1)" != "${SUM[$rt]}" ]; then
			NOTE[$rt]="WARNING: ${BIN[$rt]} changed during the benchmark: figures mix two builds"
			bench_warn "$(disp "$rt"): ${NOTE[$rt]}"
		fi
	done
}

# disp RT — the name a runtime is shown under.
disp() { if [ "$1" = hull ]; then echo hull-runtime; else echo "$1"; fi; }
