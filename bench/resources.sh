#!/bin/bash
# bench/resources.sh — section "resources": `update` and `pause`/`resume`
# on a running container, hull-runtime side by side with crun and runc.
# Run by bench/run.
#
# Figures (bench/README.md says what each one measures), each on a container
# running `sleep 1000` (created and started once per round and runtime,
# untimed; deleted with `delete --force` at the end of the round):
#   pids       update --pids-limit 1000 / 2000, alternating
#   memory     update --memory 64 MiB / 128 MiB (in bytes), alternating
#   resources  update --resources FILE (memory + pids), two files alternating
#   pause      pause, then resume (each timed on its own)
set -uo pipefail
. "$BENCH_DIR/lib.sh"

: "${BENCH_RUNTIMES:=hull crun runc}"
: "${HULL_RUNTIME:=$BENCH_REPO/build/hull-runtime}"

section=resources
work=$BENCH_WORK/$section
raw=$BENCH_OUT/$section.tsv
mkdir -p "$work/err"
: >"$raw"
pfx=hr$$ # every container id, so every cgroup name, starts with it
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$SECONDS
FIGURES="pids memory resources pause"


# ---------------------------------------------------------------- bundle
bench_log "bundle: tests/lib/mkbundle (busybox rootfs, runtime-spec defaults), process sleep 1000"
"$BENCH_REPO/tests/lib/mkbundle" "$work/b-sleep" sleep 1000 || exit 1
# the two resource files of `update --resources`
jq -n '{memory: {limit: 67108864}, pids: {limit: 1000}}' >"$work/res-a.json"
jq -n '{memory: {limit: 134217728}, pids: {limit: 2000}}' >"$work/res-b.json"

# ---------------------------------------------------------------- runtimes
declare -A BIN VER SUM STATUS NOTE FAIL
active=()

cleanup_rt() { # delete whatever a failed measurement left behind
	local rt=$1 b=${BIN[$1]:-} st=$work/state/$1 id
	[ -n "$b" ] && [ -d "$st" ] || return 0
	for id in $({ "$b" --root "$st" list -q 2>/dev/null; ls "$st" 2>/dev/null; } | sort -u); do
		case $id in "$pfx"-*) ;; *) continue ;; esac
		"$b" --root "$st" resume "$id" >/dev/null 2>&1 || true # a paused one
		"$b" --root "$st" delete --force "$id" >/dev/null 2>&1 || true
	done
	bench_cleanup_cgroups "$pfx-$rt-"
}

# cg_dir PID CONTROLLER — PID's cgroup directory for CONTROLLER: in its v1
# hierarchy, else in the cgroup2 one
cg_dir() {
	local mp rel
	mp=$(awk -v c="$2" '{ for (i = 7; i <= NF && $i != "-"; i++) ;
	      if ($(i+1) != "cgroup") next
	      n = split($(i+3), o, ","); for (k = 1; k <= n; k++) if (o[k] == c) { print $5; exit } }' \
		/proc/self/mountinfo)
	if [ -n "$mp" ]; then
		rel=$(awk -F: -v c="$2" '{ n = split($2, o, ","); for (k = 1; k <= n; k++) if (o[k] == c) { print $3; exit } }' \
			"/proc/$1/cgroup")
	else
		mp=$(awk '{ for (i = 7; i <= NF && $i != "-"; i++) ; if ($(i+1) == "cgroup2") { print $5; exit } }' \
			/proc/self/mountinfo)
		rel=$(awk -F: '$1 == "0" { print $3; exit }' "/proc/$1/cgroup")
	fi
	[ "$rel" = / ] && rel=""
	echo "$mp$rel"
}

# verify RT — do update, pause and resume change the container's cgroup?
# (a runtime that answered 0 and did nothing would time well.) Prints what
# did not; the runtime is still measured.
verify() {
	local b=${BIN[$1]} st=$work/state/$1 id=$pfx-$1-check pid d v bad=()
	"$b" --root "$st" create --bundle "$work/b-sleep" "$id" </dev/null >/dev/null 2>&1 &&
		"$b" --root "$st" start "$id" >/dev/null 2>&1 &&
		pid=$("$b" --root "$st" state "$id" 2>/dev/null | jq -r .pid) && [ -d "/proc/$pid" ] ||
		{ echo "could not start a container to check"; "$b" --root "$st" delete --force "$id" >/dev/null 2>&1; return; }
	if "$b" --root "$st" update --pids-limit 1234 "$id" >/dev/null 2>&1; then
		v=$(cat "$(cg_dir "$pid" pids)/pids.max" 2>/dev/null)
		[ "$v" = 1234 ] || bad+=("update --pids-limit 1234: pids.max is '$v'")
	else bad+=("update --pids-limit failed"); fi
	if "$b" --root "$st" update --memory 100663296 "$id" >/dev/null 2>&1; then
		d=$(cg_dir "$pid" memory)
		v=$(cat "$d/memory.limit_in_bytes" 2>/dev/null || cat "$d/memory.max" 2>/dev/null)
		[ "$v" = 100663296 ] || bad+=("update --memory 100663296: the limit is '$v'")
	else bad+=("update --memory failed"); fi
	d=$(cg_dir "$pid" freezer)
	if "$b" --root "$st" pause "$id" >/dev/null 2>&1; then
		v=$(cat "$d/freezer.state" 2>/dev/null || cat "$d/cgroup.freeze" 2>/dev/null)
		case $v in FROZEN | 1) ;; *) bad+=("pause: the freezer says '$v'") ;; esac
		v=$("$b" --root "$st" state "$id" 2>/dev/null | jq -r .status)
		[ "$v" = paused ] || bad+=("pause: state says '$v'")
	else bad+=("pause failed"); fi
	if "$b" --root "$st" resume "$id" >/dev/null 2>&1; then
		v=$(cat "$d/freezer.state" 2>/dev/null || cat "$d/cgroup.freeze" 2>/dev/null)
		case $v in THAWED | 0) ;; *) bad+=("resume: the freezer says '$v'") ;; esac
		v=$("$b" --root "$st" state "$id" 2>/dev/null | jq -r .status)
		[ "$v" = running ] || bad+=("resume: state says '$v'")
	else bad+=("resume failed"); fi
	"$b" --root "$st" resume "$id" >/dev/null 2>&1
	"$b" --root "$st" delete --force "$id" >/dev/null 2>&1
	[ ${#bad[@]} -eq 0 ] || { printf '%s; ' "${bad[@]}" | sed 's/; $//'; echo; }
}

for rt in $BENCH_RUNTIMES; do
	bench_find_runtime "$rt" || continue
	b=${BIN[$rt]}
	mkdir -p "$work/state/$rt"
	# smoke: the container every figure needs can be created, started, deleted
	if bench_time "$rt/smoke" 1 0 "$work/smoke.tsv" -- \
		@step create "$b" --root "$work/state/$rt" create --bundle "$work/b-sleep" "$pfx-$rt-smoke" \
		@step start "$b" --root "$work/state/$rt" start "$pfx-$rt-smoke" \
		@step delete "$b" --root "$work/state/$rt" delete --force "$pfx-$rt-smoke"; then
		STATUS[$rt]=ok
		active+=("$rt")
		echo "$(disp "$rt"): $b (${VER[$rt]:-no --version})"
		v=$(verify "$rt")
		if [ -n "$v" ]; then
			NOTE[$rt]="check of the effects failed: $v"
			bench_warn "$(disp "$rt"): ${NOTE[$rt]}"
		fi
	else
		STATUS[$rt]=failed
		NOTE[$rt]="skipped: create/start/delete of a sleep container failed: $(bench_errmsg "$rt/smoke")"
		echo "$(disp "$rt"): ${NOTE[$rt]}"
		bench_errlog "$rt/smoke" >&2
		cleanup_rt "$rt"
	fi
done

# ---------------------------------------------------------------- timing
# Each figure: one container per round and runtime; every iteration runs two
# timed steps (the two alternating values, or pause then resume).
measure() { # RT FIGURE ROUND ITERATIONS
	local rt=$1 fig=$2 r=$3 n=$4 b=${BIN[$1]} st=$work/state/$1
	local id=$pfx-$rt-$fig-r$r
	local u=("$b" --root "$st" update)
	local steps
	case $fig in
	pids) steps=(@step pids "${u[@]}" --pids-limit 1000 "$id" @step pids "${u[@]}" --pids-limit 2000 "$id") ;;
	memory) steps=(@step memory "${u[@]}" --memory 67108864 "$id" @step memory "${u[@]}" --memory 134217728 "$id") ;;
	resources) steps=(@step resources "${u[@]}" --resources "$work/res-a.json" "$id"
		@step resources "${u[@]}" --resources "$work/res-b.json" "$id") ;;
	pause) steps=(@step pause "$b" --root "$st" pause "$id" @step resume "$b" --root "$st" resume "$id") ;;
	esac
	bench_time "$rt/$fig" "$n" "$BENCH_WARMUP" "$raw" -- \
		@setup "$b" --root "$st" create --bundle "$work/b-sleep" "$id" \
		@setup "$b" --root "$st" start "$id" \
		"${steps[@]}" \
		@teardown "$b" --root "$st" delete --force "$id"
}

# drop the partial samples of a figure that failed
drop_samples() { awk -F'\t' -v l="$1" '$1 != l' "$raw" >"$raw.tmp" && mv "$raw.tmp" "$raw"; }

try() { # RT FIGURE ROUND ITERATIONS
	local rt=$1 fig=$2
	[ -z "${FAIL[$rt/$fig]:-}" ] || return 0
	if ! measure "$@"; then
		FAIL[$rt/$fig]=$(bench_errmsg "$rt/$fig")
		bench_warn "$(disp "$rt") $fig failed: ${FAIL[$rt/$fig]}"
		bench_errlog "$rt/$fig" >&2
		drop_samples "$rt/$fig"
		cleanup_rt "$rt"
	fi
}

quick_median() { # LABEL STEP — median ms so far, for the progress lines
	awk -F'\t' -v l="$1" -v s="$2" '$1 == l && $2 == s {print $4}' "$raw" |
		sort -n | awk '{v[NR]=$1} END {if (NR) printf "%.2f", (NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2) / 1e6; else printf "-"}'
}

# BENCH_RUNS samples per figure and runtime: two per iteration
per=$(((BENCH_RUNS + BENCH_ROUNDS - 1) / BENCH_ROUNDS))
iters=$(((per + 1) / 2))
bench_log "timing: $BENCH_RUNS samples per figure and runtime in $BENCH_ROUNDS rounds of $iters iterations (2 samples each, +$BENCH_WARMUP warm-up); runtimes take turns"
for r in $(seq 1 "$BENCH_ROUNDS"); do
	for fig in $FIGURES; do
		for rt in "${active[@]}"; do
			try "$rt" "$fig" "$r" "$iters"
		done
		line="round $r/$BENCH_ROUNDS $fig, median so far:"
		for step in $fig $([ "$fig" = pause ] && echo resume); do
			for rt in "${active[@]}"; do
				if [ -n "${FAIL[$rt/$fig]:-}" ]; then m=fail; else m="$(quick_median "$rt/$fig" "$step") ms"; fi
				line+=" $step $(disp "$rt") $m,"
			done
		done
		bench_log "${line%,}"
	done
done

# ---------------------------------------------------------------- results
bench_log "summarising"
bench_check_unchanged
stats=$work/stats.json
bench_stats "$raw" >"$stats"

{ # runtimes
	echo '{}'
	for rt in $BENCH_RUNTIMES; do
		jq -n --arg rt "$rt" --arg name "$(disp "$rt")" --arg path "${BIN[$rt]:-}" \
			--arg version "${VER[$rt]:-}" --arg sha256 "${SUM[$rt]:-}" --arg status "${STATUS[$rt]}" \
			--arg note "${NOTE[$rt]:-}" \
			'{($rt): {name: $name, path: $path, version: $version, sha256: $sha256, status: $status, note: $note}}'
	done
} | jq -s 'add' >"$work/runtimes.json"

{ # failures
	echo '{}'
	for k in "${!FAIL[@]}"; do jq -n --arg k "$k" --arg v "${FAIL[$k]}" '{($k): $v}'; done
} | jq -s 'add' >"$work/failures.json"

jq -n \
	--slurpfile stats "$stats" --slurpfile rtinfo "$work/runtimes.json" \
	--slurpfile fail "$work/failures.json" \
	--arg kernel "$(uname -r)" --arg cpus "$(nproc)" --arg load0 "$load_start" \
	--arg load1 "$(cut -d' ' -f1-3 /proc/loadavg)" --arg cgroups "$BENCH_CGROUP_NOTE" \
	--arg date "$(date -Iseconds)" --arg secs "$((SECONDS - t_start))" \
	--arg runs "$BENCH_RUNS" --arg rounds "$BENCH_ROUNDS" --arg warmup "$BENCH_WARMUP" \
	--arg iters "$iters" --arg runtimes "$BENCH_RUNTIMES" '
	$stats[0] as $s | $fail[0] as $f | ($runtimes | split(" ") | map(select(length > 0))) as $rts
	| def med($rt; $k):
	    if $f[$rt + "/" + ($k | split("/")[0])] then "fail" else $s[$rt + "/" + $k].median_ms end;
	  def per($k): reduce $rts[] as $rt ({}; .[$rt] = med($rt; $k));
	{
	  section: "resources", date: $date, duration_s: ($secs | tonumber),
	  host: {kernel: $kernel, cpus: ($cpus | tonumber), loadavg_start: $load0, loadavg_end: $load1, cgroups: $cgroups},
	  settings: {samples: ($runs | tonumber), rounds: ($rounds | tonumber),
	             iterations_per_round: ($iters | tonumber), warmup_per_round: ($warmup | tonumber), runtimes: $rts},
	  runtimes: $rtinfo[0],
	  commands: {
	    update_pids: "RUNTIME --root S update --pids-limit 1000|2000 ID",
	    update_memory: "RUNTIME --root S update --memory 67108864|134217728 ID",
	    update_resources: "RUNTIME --root S update --resources A.json|B.json ID (memory.limit + pids.limit)",
	    pause: "RUNTIME --root S pause ID", resume: "RUNTIME --root S resume ID"
	  },
	  failures: $f,
	  medians_ms: {
	    update_pids: per("pids/pids"), update_memory: per("memory/memory"),
	    update_resources: per("resources/resources"),
	    pause: per("pause/pause"), resume: per("pause/resume"), pause_resume: per("pause/@iter")
	  },
	  stats: $s
	}
	| def num: if type == "number" then . else null end;
	  def ratio($a; $b): if ($a | num) != null and ($b | num) != null and $b > 0 then ($a / $b * 1000 | round / 1000) else null end;
	  def check($what; $value; $max): {target: $what, value: $value, max: $max,
	    met: (if $value == null then null else $value <= $max end)};
	  .targets = [
	    check("update --pids-limit: hull-runtime / crun, medians"; ratio(.medians_ms.update_pids.hull; .medians_ms.update_pids.crun); 0.5),
	    check("update --memory: hull-runtime / crun, medians"; ratio(.medians_ms.update_memory.hull; .medians_ms.update_memory.crun); 0.5),
	    check("update --resources: hull-runtime / crun, medians"; ratio(.medians_ms.update_resources.hull; .medians_ms.update_resources.crun); 0.5),
	    check("pause: hull-runtime / crun, medians"; ratio(.medians_ms.pause.hull; .medians_ms.pause.crun); 0.5),
	    check("resume: hull-runtime / crun, medians"; ratio(.medians_ms.resume.hull; .medians_ms.resume.crun); 0.5)
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
  def row($name; $vals; $crun_max; $target):
    [$name, cell($vals.hull; 2), cell($vals.crun; 2), cell($vals.runc; 2),
     ratio($vals.hull; $vals.crun; $crun_max), ratio($vals.hull; $vals.runc; null), $target] | @tsv;
  (["figure (median ms)", "hull", "crun", "runc", "hull/crun", "hull/runc", "target (hull)"] | @tsv),
  (.medians_ms
   | row("update --pids-limit"; .update_pids; 0.5; "<= 0.5x crun"),
     row("update --memory"; .update_memory; 0.5; "<= 0.5x crun"),
     row("update --resources FILE"; .update_resources; 0.5; "<= 0.5x crun"),
     row("pause"; .pause; 0.5; "<= 0.5x crun"),
     row("resume"; .resume; 0.5; "<= 0.5x crun"),
     row("  pause+resume"; .pause_resume; null; ""))
' "$BENCH_OUT/$section.json" >"$work/table.tsv"

{
	echo "resources: medians of $BENCH_RUNS samples per figure (runtimes interleaved in $BENCH_ROUNDS rounds; a running sleep container); load ${load_start} -> $(cut -d' ' -f1-3 /proc/loadavg)"
	bench_table "$work/table.tsv"
	notes=()
	for rt in $BENCH_RUNTIMES; do
		[ "${STATUS[$rt]}" = ok ] && [ -z "${NOTE[$rt]:-}" ] || notes+=("$(disp "$rt"): ${NOTE[$rt]}")
	done
	for k in $(printf '%s\n' "${!FAIL[@]}" | sort); do
		notes+=("$(disp "${k%%/*}") ${k#*/}: failed: ${FAIL[$k]}")
	done
	for n in "${notes[@]}"; do echo "  * $n"; done
} >"$BENCH_OUT/$section.txt"
echo
cat "$BENCH_OUT/$section.txt"
