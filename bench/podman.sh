#!/bin/bash
# bench/podman.sh — section "podman": the round trip of
# `podman run --rm IMAGE true` with hull-runtime, crun and runc as podman's
# OCI runtime (--runtime). Run by bench/run.
#
# podman gets storage of its own in the section's scratch directory (--root,
# --tmpdir, --volumepath, --network-config-dir; --runroot in a short /tmp
# path: podman refuses one longer than 50 characters), the cgroupfs cgroup
# manager, the file events backend, and a busybox image imported from a
# root file system made by tests/lib/mkrootfs. The runtimes alternate at
# every iteration (one `podman run` each, in turn; the order rotates from one
# round to the next). bench/README.md says more.
set -uo pipefail
. "$BENCH_DIR/lib.sh"

: "${BENCH_RUNTIMES:=hull crun runc}"
: "${HULL_RUNTIME:=$BENCH_REPO/build/hull-runtime}"
: "${BENCH_PODMAN_RUNS:=60}"   # timed `podman run`s per runtime
: "${BENCH_PODMAN_WARMUP:=1}"  # untimed iterations (every runtime) per round

section=podman
work=$BENCH_WORK/$section
raw=$BENCH_OUT/$section.tsv
mkdir -p "$work/err"
: >"$raw"
pfx=hp$$ # the cgroup parent of every container
PD=$work/podman         # podman's storage, tmp, volumes, network config
PR=/tmp/$pfx-podrun     # podman's runroot (short: podman limits its length)
IMAGE=localhost/busybox:bench
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$SECONDS


if ! command -v podman >/dev/null; then
	bench_warn "podman is not installed (scripts/setup installs it): section skipped"
	echo "podman: not installed; section skipped" >"$BENCH_OUT/$section.txt"
	cat "$BENCH_OUT/$section.txt"
	exit 0
fi

# P ARGS... — podman with the section's own storage
P_ARGV=(podman --root "$PD/root" --runroot "$PR" --tmpdir "$PD/tmp" --volumepath "$PD/volumes"
	--network-config-dir "$PD/net" --storage-driver overlay
	--cgroup-manager cgroupfs --events-backend file)
P() { "${P_ARGV[@]}" "$@"; }
# podman's default rlimits (nofile, nproc 1048576) need CAP_SYS_RESOURCE,
# which this machine withholds: ask for low ones (the same for every runtime)
RUN_OPTS=(run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024
	--cgroup-parent "/$pfx-podman")

# ---------------------------------------------------------------- clean-up
# Everything runs in bench/run's private mount namespace: the mounts made
# here (the overlay over /var/lib, podman's overlay mounts) are
# invisible outside and end with it; they are undone anyway.
declare -A BIN
cleanup() {
	local p d made
	P rm -af -t 0 >/dev/null 2>&1
	# conmon and podman's exit commands still around
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = "$$" ] && continue
		if tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF -e "$PD/" -e "$PR"; then
			kill -9 "$p" 2>/dev/null
		fi
	done
	# containers podman left in a runtime's state (its default --root)
	for rt in "${!BIN[@]}"; do
		for id in $("${BIN[$rt]}" list --format json 2>/dev/null |
			jq -r --arg d "$PD/" '.[]? | select((.bundle // "") | startswith($d)) | .id' 2>/dev/null); do
			bench_warn "podman: $(disp "$rt") still had container $id: deleting it"
			"${BIN[$rt]}" delete --force "$id" >/dev/null 2>&1
		done
	done
	for d in $(awk -v p="$PD/" -v r="$PR" 'index($5, p) == 1 || index($5, r) == 1 { print $5 }' \
		/proc/self/mountinfo | sort -r); do
		umount -l "$d" 2>/dev/null
	done
	if [ -f "$work/hidden" ]; then
		while read -r d; do
			umount -l "$d" 2>/dev/null
		done < <(tac "$work/hidden")
		rm -f "$work/hidden"
	fi
	rm -rf "$PR" "$PD"
	bench_cleanup_cgroups "$pfx-"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# What podman writes at fixed host paths despite the options above: the
# image import writes its blob-info cache to /var/lib/containers/cache
# (nothing else in /var/lib, /run, /etc, /var/tmp: checked with overlays).
# /var/lib gets an overlay, in this private mount namespace only, whose upper
# layer is here. Not a tmpfs over /var/lib/containers: that directory may be
# made and removed on the host at any time (the integration tests do), and a
# directory removed on the host takes the mounts on it away in every
# namespace; /var/lib stays.
mkdir -p "$work/varlib/upper" "$work/varlib/work"
if awk '$5 ~ "^/var/lib/" {f = 1} END {exit !f}' /proc/self/mountinfo; then
	# an overlay would hide those mounts
	bench_warn "mounts below /var/lib: podman's blob-info cache goes to the host's /var/lib/containers"
elif mount -t overlay -o "lowerdir=/var/lib,upperdir=$work/varlib/upper,workdir=$work/varlib/work" \
	hull-bench /var/lib; then
	echo /var/lib >>"$work/hidden"
else
	bench_warn "no overlay over /var/lib: podman's blob-info cache goes to the host's /var/lib/containers"
fi
mkdir -p "$PD/tmp" "$PR"
# podman also writes images' temporary files to TMPDIR
export TMPDIR=$PD/tmp

# ---------------------------------------------------------------- image
bench_log "image: tests/lib/mkrootfs (busybox) imported as $IMAGE; podman $(podman --version | awk '{print $NF}')"
if ! "$BENCH_REPO/tests/lib/mkrootfs" "$work/rootfs" >"$work/err/mkrootfs.log" 2>&1; then
	bench_warn "mkrootfs failed: $(tail -n1 "$work/err/mkrootfs.log")"
	exit 1
fi
if ! tar -C "$work/rootfs" -c . | P import -q - "$IMAGE" >"$work/import.out" 2>"$work/err/import.log"; then
	bench_warn "podman import failed: $(grep -m1 . "$work/err/import.log")"
	sed 's/^/    /' "$work/err/import.log" | head -n 20 >&2
	exit 1
fi
cgmode=$(P info --format '{{.Host.CgroupsVersion}} {{.Host.CgroupManager}}' 2>/dev/null)

# ---------------------------------------------------------------- runtimes
declare -A VER SUM STATUS NOTE FAIL RTARG
active=()

# podman's first "Error: ..." line, else the runtime's own first line
errmsg() { # LABEL
	local e=$BENCH_WORK/err/${1//\//_}
	{ grep -m1 -h 'Error' "$e.log" || bench_errmsg "$1"; } 2>/dev/null | sed 's/^  | //' | cut -c1-200
}

for rt in $BENCH_RUNTIMES; do
	bench_find_runtime "$rt" || continue
	b=${BIN[$rt]}
	# hull-runtime by absolute path, crun and runc by name (podman finds them
	# through containers.conf, as users call them)
	if [ "$rt" = hull ]; then RTARG[$rt]=$b; else RTARG[$rt]=$rt; fi
	if bench_time "$rt/smoke" 1 0 "$work/smoke.tsv" -- \
		@step run "${P_ARGV[@]}" --runtime "${RTARG[$rt]}" "${RUN_OPTS[@]}" "$IMAGE" true; then
		STATUS[$rt]=ok
		active+=("$rt")
		echo "$(disp "$rt"): podman --runtime ${RTARG[$rt]} ($b, ${VER[$rt]:-no --version})"
	else
		STATUS[$rt]=failed
		NOTE[$rt]="skipped: podman --runtime ${RTARG[$rt]} run --rm $IMAGE true failed: $(errmsg "$rt/smoke")"
		echo "$(disp "$rt"): ${NOTE[$rt]}"
		bench_errlog "$rt/smoke" >&2
		P rm -af -t 0 >/dev/null 2>&1
	fi
done

# ---------------------------------------------------------------- timing
# One benchtool run per round: every iteration runs `podman run` once with
# each runtime still in the race, in an order that rotates each round.
quick_median() { # STEP — median ms so far, for the progress lines
	awk -F'\t' -v s="$1" '$1 == "podman" && $2 == s {print $4}' "$raw" |
		sort -n | awk '{v[NR]=$1} END {if (NR) printf "%.1f", (NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2) / 1e6; else printf "-"}'
}
drop_samples() { awk -F'\t' -v s="$1" '!($1 == "podman" && $2 == s)' "$raw" >"$raw.tmp" && mv "$raw.tmp" "$raw"; }

per=$(((BENCH_PODMAN_RUNS + BENCH_ROUNDS - 1) / BENCH_ROUNDS))
bench_log "timing: $BENCH_PODMAN_RUNS podman runs per runtime in $BENCH_ROUNDS rounds of $per (+$BENCH_PODMAN_WARMUP warm-up each); runtimes alternate at every iteration"
for r in $(seq 1 "$BENCH_ROUNDS"); do
	left=()
	for rt in "${active[@]}"; do [ -n "${FAIL[$rt]:-}" ] || left+=("$rt"); done
	[ ${#left[@]} -gt 0 ] || break
	n=${#left[@]}
	steps=()
	for k in $(seq 0 $((n - 1))); do
		rt=${left[$(((k + r - 1) % n))]}
		steps+=(@step "$rt" "${P_ARGV[@]}" --runtime "${RTARG[$rt]}" "${RUN_OPTS[@]}" "$IMAGE" true)
	done
	if ! bench_time podman "$per" "$BENCH_PODMAN_WARMUP" "$raw" -- "${steps[@]}"; then
		# benchtool: "[podman] STEP failed (...)": that runtime is out
		rt=$(sed -n 's/^benchtool: \[podman\] \([a-z]*\) failed.*/\1/p' "$BENCH_WORK/err/podman.log" | head -n1)
		if [ -n "$rt" ] && [ -n "${BIN[$rt]:-}" ]; then
			FAIL[$rt]=$(errmsg podman)
			bench_warn "$(disp "$rt"): podman run failed in round $r: ${FAIL[$rt]}"
			drop_samples "$rt"
		else
			bench_warn "round $r failed: $(errmsg podman)"
		fi
		bench_errlog podman >&2
		P rm -af -t 0 >/dev/null 2>&1
	fi
	line="round $r/$BENCH_ROUNDS, median so far:"
	for rt in "${active[@]}"; do
		if [ -n "${FAIL[$rt]:-}" ]; then m=fail; else m="$(quick_median "$rt") ms"; fi
		line+=" $(disp "$rt") $m,"
	done
	bench_log "${line%,}"
done
left=$(P ps -aq 2>/dev/null | wc -l)
[ "$left" = 0 ] || bench_warn "podman still lists $left container(s) after the runs"

# ---------------------------------------------------------------- results
bench_log "summarising"
bench_check_unchanged
stats=$work/stats.json
bench_stats "$raw" >"$stats"

{
	echo '{}'
	for rt in $BENCH_RUNTIMES; do
		jq -n --arg rt "$rt" --arg name "$(disp "$rt")" --arg path "${BIN[$rt]:-}" \
			--arg arg "${RTARG[$rt]:-}" --arg version "${VER[$rt]:-}" --arg sha256 "${SUM[$rt]:-}" \
			--arg status "${STATUS[$rt]}" --arg note "${NOTE[$rt]:-}" \
			'{($rt): {name: $name, path: $path, podman_runtime_arg: $arg, version: $version,
			          sha256: $sha256, status: $status, note: $note}}'
	done
} | jq -s 'add' >"$work/runtimes.json"
{
	echo '{}'
	for k in "${!FAIL[@]}"; do jq -n --arg k "$k" --arg v "${FAIL[$k]}" '{($k): $v}'; done
} | jq -s 'add' >"$work/failures.json"

jq -n \
	--slurpfile stats "$stats" --slurpfile rtinfo "$work/runtimes.json" \
	--slurpfile fail "$work/failures.json" \
	--arg kernel "$(uname -r)" --arg cpus "$(nproc)" --arg load0 "$load_start" \
	--arg load1 "$(cut -d' ' -f1-3 /proc/loadavg)" --arg cgroups "$BENCH_CGROUP_NOTE" \
	--arg date "$(date -Iseconds)" --arg secs "$((SECONDS - t_start))" \
	--arg runs "$BENCH_PODMAN_RUNS" --arg rounds "$BENCH_ROUNDS" --arg warmup "$BENCH_PODMAN_WARMUP" \
	--arg runtimes "$BENCH_RUNTIMES" --arg podman "$(podman --version)" --arg cgmode "$cgmode" \
	--arg cmd "podman --root D/root --runroot R --tmpdir D/tmp --volumepath D/volumes --network-config-dir D/net --storage-driver overlay --cgroup-manager cgroupfs --events-backend file --runtime RUNTIME ${RUN_OPTS[*]} $IMAGE true" '
	$stats[0] as $s | $fail[0] as $f | ($runtimes | split(" ") | map(select(length > 0))) as $rts
	| def pick($rt; $k): if $f[$rt] then "fail" else $s["podman/" + $rt][$k] end;
	  def per($k): reduce $rts[] as $rt ({}; .[$rt] = pick($rt; $k));
	{
	  section: "podman", date: $date, duration_s: ($secs | tonumber),
	  host: {kernel: $kernel, cpus: ($cpus | tonumber), loadavg_start: $load0, loadavg_end: $load1, cgroups: $cgroups,
	         podman: $podman, podman_cgroups: $cgmode},
	  settings: {runs: ($runs | tonumber), rounds: ($rounds | tonumber), warmup_per_round: ($warmup | tonumber), runtimes: $rts},
	  command: $cmd,
	  runtimes: $rtinfo[0],
	  failures: $f,
	  medians_ms: {podman_run: per("median_ms")},
	  p25_ms: {podman_run: per("p25_ms")},
	  p75_ms: {podman_run: per("p75_ms")},
	  stats: $s
	}
	| def num: if type == "number" then . else null end;
	  def ratio($a; $b): if ($a | num) != null and ($b | num) != null and $b > 0 then ($a / $b * 1000 | round / 1000) else null end;
	  def check($what; $value; $max): {target: $what, value: $value, max: $max,
	    met: (if $value == null then null else $value <= $max end)};
	  .targets = [
	    check("podman run --rm: hull-runtime / crun, medians"; ratio(.medians_ms.podman_run.hull; .medians_ms.podman_run.crun); 0.9)
	  ]' >"$BENCH_OUT/$section.json"

# ---------------------------------------------------------------- table
jq -r '
  def fix($d): if type != "number" then . else
      (. * pow(10; $d) | round) as $i | ($i | tostring) as $t
      | if $d == 0 then $t else
          ($t | if length <= $d then ("0" * ($d - length + 1)) + . else . end) as $p
          | $p[0:($p | length) - $d] + "." + $p[($p | length) - $d:] end end;
  def cell($v; $d): if $v == null then "-" elif ($v | type) == "number" then ($v | fix($d)) else $v end;
  def ratio($a; $b; $max):
    if ($a | type) == "number" and ($b | type) == "number" and $b > 0 then
      ($a / $b) as $r | ($r | fix(2)) + "x" + (if $max then (if $r <= $max then " ok" else " MISS" end) else "" end)
    else "-" end;
  def diff($a; $b): if ($a | type) == "number" and ($b | type) == "number" then ($a - $b | fix(1)) else "-" end;
  def row($name; $vals; $crun_max; $target):
    [$name, cell($vals.hull; 1), cell($vals.crun; 1), cell($vals.runc; 1),
     ratio($vals.hull; $vals.crun; $crun_max), ratio($vals.hull; $vals.runc; null),
     diff($vals.hull; $vals.crun), $target] | @tsv;
  (["figure", "hull", "crun", "runc", "hull/crun", "hull/runc", "hull-crun ms", "target (hull)"] | @tsv),
  row("podman run --rm true, median ms"; .medians_ms.podman_run; 0.9; "<= 0.9x crun"),
  row("  p25 ms"; .p25_ms.podman_run; null; ""),
  row("  p75 ms"; .p75_ms.podman_run; null; "")
' "$BENCH_OUT/$section.json" >"$work/table.tsv"

{
	echo "podman: medians of $BENCH_PODMAN_RUNS \`podman run --rm $IMAGE true\` per runtime (alternating every run, $BENCH_ROUNDS rounds; podman cgroups: ${cgmode:-?}); load ${load_start} -> $(cut -d' ' -f1-3 /proc/loadavg)"
	bench_table "$work/table.tsv"
	notes=()
	for rt in $BENCH_RUNTIMES; do
		[ "${STATUS[$rt]}" = ok ] && [ -z "${NOTE[$rt]:-}" ] || notes+=("$(disp "$rt"): ${NOTE[$rt]}")
	done
	for k in $(printf '%s\n' "${!FAIL[@]}" | sort); do
		notes+=("$(disp "$k") podman run: failed: ${FAIL[$k]}")
	done
	for n in "${notes[@]}"; do echo "  * $n"; done
} >"$BENCH_OUT/$section.txt"
echo
cat "$BENCH_OUT/$section.txt"
