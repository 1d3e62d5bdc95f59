#!/bin/bash
# bench/runtime.sh — section "runtime": hull-runtime side by side with crun,
# runc and the floor (unshare + chroot, no runtime at all). Run by bench/run.
#
# Figures (bench/README.md says what each one measures):
#   run        RUNTIME --root S run --bundle B ID   of /bin/true, and the floor
#   lifecycle  create / start / delete of a container whose process is true
#   exec       RUNTIME exec ID /bin/true into a container running sleep 1000
#   seq        BENCH_SEQ sequential runs, total wall time
#   callgrind  user-space instructions of one run, all processes summed
set -uo pipefail
. "$BENCH_DIR/lib.sh"

: "${BENCH_RUNTIMES:=hull crun runc}"
: "${BENCH_CALLGRIND_RUNTIMES:=hull crun floor}"
: "${HULL_RUNTIME:=$BENCH_REPO/build/hull-runtime}"
: "${BENCH_CALLGRIND_TIMEOUT:=120}" # one run under valgrind takes seconds

section=runtime
work=$BENCH_WORK/$section
raw=$BENCH_OUT/$section.tsv
mkdir -p "$work/err"
: >"$raw"
pfx=hb$$ # every container id, so every cgroup name, starts with it
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$SECONDS


# ---------------------------------------------------------------- bundles
bench_log "bundles: tests/lib/mkbundle (busybox rootfs, runtime-spec defaults)"
mkb=$BENCH_REPO/tests/lib/mkbundle
"$mkb" "$work/b-true" /bin/true || exit 1
"$mkb" "$work/b-sleep" sleep 1000 || exit 1
rootfs=$work/b-true/rootfs

# ---------------------------------------------------------------- runtimes
declare -A BIN VER SUM STATUS NOTE FAIL
active=()

cleanup_rt() { # delete whatever a failed measurement left behind
	local rt=$1 b=${BIN[$1]:-} st=$work/state/$1 id
	[ -n "$b" ] && [ -d "$st" ] || return 0
	for id in $({ "$b" --root "$st" list -q 2>/dev/null; ls "$st" 2>/dev/null; } | sort -u); do
		case $id in "$pfx"-*) ;; *) continue ;; esac
		"$b" --root "$st" delete --force "$id" >/dev/null 2>&1 || true
	done
	bench_cleanup_cgroups "$pfx-$rt-"
}

for rt in $BENCH_RUNTIMES; do
	bench_find_runtime "$rt" || continue
	b=${BIN[$rt]}
	mkdir -p "$work/state/$rt"
	if bench_time "$rt/smoke" 1 0 "$work/smoke.tsv" -- \
		@step run "$b" --root "$work/state/$rt" run --bundle "$work/b-true" "$pfx-$rt-smoke"; then
		STATUS[$rt]=ok
		active+=("$rt")
		echo "$(disp "$rt"): $b (${VER[$rt]:-no --version})"
	else
		STATUS[$rt]=failed
		NOTE[$rt]="skipped: 'run' of /bin/true failed: $(bench_errmsg "$rt/smoke")"
		echo "$(disp "$rt"): ${NOTE[$rt]}"
		bench_errlog "$rt/smoke" >&2
		cleanup_rt "$rt"
	fi
done
echo "floor: unshare --pid --fork --mount --uts --ipc --net chroot ROOTFS /bin/true"
# interrupted or not: leave no container, process or cgroup of ours behind
trap 'for rt in "${!BIN[@]}"; do cleanup_rt "$rt"; done' EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- timing
# measure RT FIGURE ROUND RUNS — one benchtool call; floor only has run/seq.
measure() {
	local rt=$1 fig=$2 r=$3 n=$4 b st id
	if [ "$rt" = floor ]; then
		local floor=(unshare --pid --fork --mount --uts --ipc --net chroot "$rootfs" /bin/true)
		case $fig in
		run) bench_time floor/run "$n" "$BENCH_WARMUP" "$raw" -- @step run "${floor[@]}" ;;
		seq) bench_time floor/seq "$n" 1 "$raw" -- @step run "${floor[@]}" ;;
		esac
		return
	fi
	b=${BIN[$rt]} st=$work/state/$rt
	case $fig in
	run)
		bench_time "$rt/run" "$n" "$BENCH_WARMUP" "$raw" -- \
			@step run "$b" --root "$st" run --bundle "$work/b-true" "$pfx-$rt-r$r-{i}" ;;
	lifecycle)
		# process true: after start, wait (untimed) until `state` says
		# stopped — benchtool reaps the exited process as an engine's
		# monitor would — then delete the stopped container.
		id=$pfx-$rt-l$r-{i}
		bench_time "$rt/lifecycle" "$n" "$BENCH_WARMUP" "$raw" -- \
			@step create "$b" --root "$st" create --bundle "$work/b-true" "$id" \
			@step start "$b" --root "$st" start "$id" \
			@wait-stopped "$b" --root "$st" state "$id" \
			@step delete "$b" --root "$st" delete "$id" ;;
	exec)
		id=$pfx-$rt-e$r
		bench_time "$rt/exec" "$n" "$BENCH_WARMUP" "$raw" -- \
			@setup "$b" --root "$st" create --bundle "$work/b-sleep" "$id" \
			@setup "$b" --root "$st" start "$id" \
			@step exec "$b" --root "$st" exec "$id" /bin/true \
			@teardown "$b" --root "$st" delete --force "$id" ;;
	seq)
		bench_time "$rt/seq" "$n" 1 "$raw" -- \
			@step run "$b" --root "$st" run --bundle "$work/b-true" "$pfx-$rt-s-{i}" ;;
	esac
}

# drop the partial samples of a figure that failed
drop_samples() { awk -F'\t' -v l="$1" '$1 != l' "$raw" >"$raw.tmp" && mv "$raw.tmp" "$raw"; }

try() { # RT FIGURE ROUND RUNS
	local rt=$1 fig=$2
	[ -z "${FAIL[$rt/$fig]:-}" ] || return 0
	if ! measure "$@"; then
		FAIL[$rt/$fig]=$(bench_errmsg "$rt/$fig")
		bench_warn "$(disp "$rt") $fig failed: ${FAIL[$rt/$fig]}"
		bench_errlog "$rt/$fig" >&2
		drop_samples "$rt/$fig"
		[ "$rt" = floor ] || cleanup_rt "$rt"
	fi
}

quick_median() { # LABEL STEP — median ms so far, for the progress lines
	awk -F'\t' -v l="$1" -v s="$2" '$1 == l && $2 == s {print $4}' "$raw" |
		sort -n | awk '{v[NR]=$1} END {if (NR) printf "%.2f", (NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2) / 1e6; else printf "-"}'
}

per=$(((BENCH_RUNS + BENCH_ROUNDS - 1) / BENCH_ROUNDS))
bench_log "timing: $BENCH_RUNS runs per figure and runtime in $BENCH_ROUNDS rounds of $per (+$BENCH_WARMUP warm-up each); runtimes take turns"
for r in $(seq 1 "$BENCH_ROUNDS"); do
	for fig in run lifecycle exec; do
		for rt in "${active[@]}" floor; do
			[ "$rt" = floor ] && [ "$fig" != run ] && continue
			try "$rt" "$fig" "$r" "$per"
		done
		line="round $r/$BENCH_ROUNDS $fig, median so far:"
		for rt in "${active[@]}" floor; do
			[ "$rt" = floor ] && [ "$fig" != run ] && continue
			step=$fig; [ "$fig" = lifecycle ] && step=@iter
			if [ -n "${FAIL[$rt/$fig]:-}" ]; then m=fail; else m="$(quick_median "$rt/$fig" "$step") ms"; fi
			line+=" $(disp "$rt") $m,"
		done
		bench_log "${line%,}"
	done
done

for rt in "${active[@]}" floor; do
	bench_log "$BENCH_SEQ sequential runs: $(disp "$rt")"
	try "$rt" seq 0 "$BENCH_SEQ"
done

# ---------------------------------------------------------------- callgrind
# One `run` of /bin/true under callgrind, every process traced; the
# instructions of all processes are summed. See README ("callgrind") for
# why the dumps before fork/clone/exec, the copier and the bundle changes.
declare -A CG_NOTE CG_FAILED
cg_dir=$work/cgraw # callgrind writes here; bind-mounted at the same path inside the container
cg_bundle=$work/b-cg
callgrind_setup() {
	"$mkb" "$cg_bundle" /bin/true || return 1
	# valgrind only lets a process set RLIMIT_NOFILE to its own reduced
	# limit: drop the rlimits (the same for every runtime)
	jq --arg d "$cg_dir" '.process.rlimits = [] |
	  .mounts += [{destination: $d, type: "bind", source: $d, options: ["rbind", "rw"]}]' \
		"$work/b-true/config.json" >"$cg_bundle/config.json" || return 1
	mkdir -p "$cg_dir" "$cg_bundle/rootfs$cg_dir"
}

callgrind_one() { # RT
	local rt=$1 d=$work/cg/$rt bin="" cmd wpid rc i
	rm -rf "$d" "$cg_dir"/*
	mkdir -p "$d/kept"
	if [ "$rt" = floor ]; then
		cmd=(unshare --pid --fork --mount --uts --ipc --net chroot "$cg_bundle/rootfs" /bin/true)
	else
		bin=${BIN[$rt]}
		cmd=("$bin" --root "$work/state/$rt" run --bundle "$cg_bundle" "$pfx-$rt-cg")
		# the same run without valgrind first: the bundle must work natively
		if ! bench_time "$rt/cgcheck" 1 0 "$work/cgcheck.tsv" -- @step run "${cmd[@]}"; then
			CG_NOTE[$rt]="run of the callgrind bundle failed: $(bench_errmsg "$rt/cgcheck")"
			cleanup_rt "$rt"
			return 1
		fi
	fi
	"$BENCH_TOOL" cgwatch "$cg_dir" "$d/kept" 2>"$d/cgwatch.log" &
	wpid=$!
	for i in $(seq 100); do [ -e "$d/kept/.ready" ] && break; sleep 0.05; done
	local vg=(valgrind --tool=callgrind --vgdb=no --trace-children=yes
		--trace-children-skip=/bin/true
		--dump-before='*execve*' --dump-before='*fork*' --dump-before='*clone*' --dump-before=syscall
		"--callgrind-out-file=$cg_dir/cg.%p.%n")
	# a private mount namespace per measurement: the runtime's binary
	# read-only bind-mounted on itself + _LIBCONTAINER_CLONED_BINARY=1 make
	# crun/runc skip re-executing a memfd copy of themselves (which fails
	# under valgrind); the floor's chroot dumps inside ROOTFS, so bind
	# callgrind's directory there.
	timeout -k 5 "$BENCH_CALLGRIND_TIMEOUT" unshare --mount -- "$BASH" -c '
		set -e
		bin=$1 src=$2 dst=$3; shift 3
		if [ -n "$bin" ]; then mount --bind "$bin" "$bin"; mount -o remount,bind,ro "$bin"; fi
		if [ -n "$dst" ]; then mkdir -p "$dst"; mount --bind "$src" "$dst"; fi
		exec env _LIBCONTAINER_CLONED_BINARY=1 "$@"' _ \
		"$bin" "$cg_dir" "$([ "$rt" = floor ] && echo "$cg_bundle/rootfs$cg_dir")" \
		"${vg[@]}" "${cmd[@]}" </dev/null >"$d/valgrind.log" 2>&1
	rc=$?
	sleep 0.2
	kill "$wpid" 2>/dev/null
	wait "$wpid" 2>/dev/null
	cp "$d/valgrind.log" "$BENCH_OUT/callgrind-$rt.log"
	# keep the dumps, for callgrind_annotate
	mkdir -p "$BENCH_OUT/callgrind-$rt" && cp "$d"/kept/*@* "$BENCH_OUT/callgrind-$rt/" 2>/dev/null
	[ "$rt" = floor ] || cleanup_rt "$rt"
	# one line per dump: file, pid, part, instructions, command
	for f in "$d"/kept/*@*; do
		[ -e "$f" ] || continue
		awk -v f="${f##*/}" '
		  /^pid:/ {p = $2} /^part:/ {pt = $2} /^summary:/ {s = $2} /^totals:/ {t = $2}
		  /^cmd:/ {c = $0; sub(/^cmd: */, "", c)}
		  END {v = (t != "" ? t : s); if (v != "") printf "%s\t%s\t%s\t%s\t%s\n", f, p, pt, v, c}' "$f"
	done >"$d/parts.tsv"
	# system calls valgrind does not know return ENOSYS to the program
	local nosys
	nosys=$(grep -o 'unhandled amd64-linux syscall: [0-9]*' "$d/valgrind.log" | awk '{print $NF}' | sort -nu | paste -sd' ')
	[ -z "$nosys" ] || echo "$nosys" >"$d/nosys"
	nosys=${nosys:+; valgrind returned ENOSYS for syscalls $nosys}
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		CG_NOTE[$rt]="hung under valgrind, killed after $BENCH_CALLGRIND_TIMEOUT s$nosys"
		return 1
	elif [ $rc -ne 0 ]; then
		CG_NOTE[$rt]="failed under valgrind (exit $rc): $(grep -v '^==\|^--' "$d/valgrind.log" | grep . | tail -n1 | cut -c1-120)$nosys"
		return 1
	fi
	if grep -qiE 'can ?not open' "$d/valgrind.log"; then
		CG_NOTE[$rt]="some callgrind dumps could not be written (see callgrind-$rt.log): figure too low"
	elif [ "$rt" != floor ] && ! awk -F'\t' '$2 == 1 {f = 1} END {exit !f}' "$d/parts.tsv"; then
		CG_NOTE[$rt]="no dump from inside the container (pid 1): its pre-exec instructions are missing"
	fi
	return 0
}

if [ "$BENCH_CALLGRIND" = 1 ]; then
	if ! command -v valgrind >/dev/null; then
		CG_NOTE[all]="valgrind not installed"
		bench_warn "callgrind: valgrind not installed, skipped"
	elif callgrind_setup; then
		for rt in $BENCH_CALLGRIND_RUNTIMES; do
			if [ "$rt" != floor ] && [ "${STATUS[$rt]:-}" != ok ]; then continue; fi
			bench_log "callgrind: one run, $(disp "$rt")"
			if callgrind_one "$rt"; then
				n=$(awk -F'\t' '{s += $4} END {printf "%d", s}' "$work/cg/$rt/parts.tsv")
				bench_log "callgrind: $(disp "$rt"): $n instructions in $(wc -l <"$work/cg/$rt/parts.tsv") dumps${CG_NOTE[$rt]:+ (${CG_NOTE[$rt]})}"
			else
				CG_FAILED[$rt]=1
				bench_warn "callgrind: $(disp "$rt"): ${CG_NOTE[$rt]}"
			fi
		done
	fi
fi

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

{ # callgrind
	echo '{}'
	for rt in $BENCH_CALLGRIND_RUNTIMES; do
		f=$work/cg/$rt/parts.tsv
		ns=$(cat "$work/cg/$rt/nosys" 2>/dev/null)
		if [ -n "${CG_FAILED[$rt]:-}" ]; then
			jq -n --arg rt "$rt" --arg note "${CG_NOTE[$rt]}" --arg ns "$ns" \
				'{($rt): {instructions: null, note: $note, enosys_syscalls: ($ns | split(" ") | map(tonumber))}}'
		elif [ -s "$f" ]; then
			jq -R -s --arg rt "$rt" --arg note "${CG_NOTE[$rt]:-}" --arg ns "$ns" '
			  split("\n") | map(select(length > 0) | split("\t")
			    | {file: .[0], pid: (.[1] | tonumber? // .[1]), part: (.[2] | tonumber? // .[2]),
			       instructions: (.[3] | tonumber), cmd: .[4]})
			  | {($rt): {instructions: (map(.instructions) | add), dumps: length, note: $note,
			             enosys_syscalls: ($ns | split(" ") | map(tonumber)), parts: .}}' "$f"
		fi
	done
	[ -z "${CG_NOTE[all]:-}" ] || jq -n --arg n "${CG_NOTE[all]}" '{note: $n}'
} | jq -s 'add' >"$work/callgrind.json"

jq -n \
	--slurpfile stats "$stats" --slurpfile rtinfo "$work/runtimes.json" \
	--slurpfile fail "$work/failures.json" --slurpfile cg "$work/callgrind.json" \
	--arg kernel "$(uname -r)" --arg cpus "$(nproc)" --arg load0 "$load_start" \
	--arg load1 "$(cut -d' ' -f1-3 /proc/loadavg)" --arg cgroups "$BENCH_CGROUP_NOTE" \
	--arg date "$(date -Iseconds)" --arg secs "$((SECONDS - t_start))" \
	--arg runs "$BENCH_RUNS" --arg rounds "$BENCH_ROUNDS" --arg warmup "$BENCH_WARMUP" \
	--arg seq "$BENCH_SEQ" --arg runtimes "$BENCH_RUNTIMES" '
	$stats[0] as $s | $fail[0] as $f | $cg[0] as $c | ($runtimes | split(" ") | map(select(length > 0))) as $rts
	| def med($rt; $k):
	    if $f[$rt + "/" + ($k | split("/")[0])] then "fail" else $s[$rt + "/" + $k].median_ms end;
	  def per($k): reduce ($rts + ["floor"])[] as $rt ({}; .[$rt] = med($rt; $k));
	{
	  section: "runtime", date: $date, duration_s: ($secs | tonumber),
	  host: {kernel: $kernel, cpus: ($cpus | tonumber), loadavg_start: $load0, loadavg_end: $load1, cgroups: $cgroups},
	  settings: {runs: ($runs | tonumber), rounds: ($rounds | tonumber), warmup_per_round: ($warmup | tonumber),
	             sequential: ($seq | tonumber), runtimes: $rts},
	  runtimes: $rtinfo[0],
	  floor: {command: "unshare --pid --fork --mount --uts --ipc --net chroot ROOTFS /bin/true"},
	  failures: $f,
	  medians_ms: {
	    run: per("run/run"),
	    create: per("lifecycle/create"), start: per("lifecycle/start"), delete: per("lifecycle/delete"),
	    create_start_delete: per("lifecycle/@iter"),
	    exec: per("exec/exec")
	  },
	  sequential_total_s: (reduce ($rts + ["floor"])[] as $rt ({};
	    .[$rt] = (med($rt; "seq/@wall") | if type == "number" then . / 1000 | . * 1000 | round / 1000 else . end))),
	  callgrind: $c,
	  stats: $s
	}
	| def num: if type == "number" then . else null end;
	  def ratio($a; $b): if ($a | num) != null and ($b | num) != null and $b > 0 then ($a / $b * 1000 | round / 1000) else null end;
	  def check($what; $value; $max): {target: $what, value: $value, max: $max,
	    met: (if $value == null then null else $value <= $max end)};
	  .targets = [
	    check("run: hull-runtime / crun, medians"; ratio(.medians_ms.run.hull; .medians_ms.run.crun); 0.5),
	    check("run: hull-runtime / floor, medians"; ratio(.medians_ms.run.hull; .medians_ms.run.floor); 1.5),
	    check("exec: hull-runtime / crun, medians"; ratio(.medians_ms.exec.hull; .medians_ms.exec.crun); 0.5),
	    check("callgrind: instructions of one hull-runtime run"; (.callgrind.hull.instructions // null); 600000)
	  ]' >"$BENCH_OUT/$section.json"

# ---------------------------------------------------------------- table
jq -r --arg seq "$BENCH_SEQ" --arg cgrts "$BENCH_CALLGRIND_RUNTIMES" '
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
  . as $R
  | def row($name; $vals; $d; $crun_max; $floor_max; $target):
      [$name, cell($vals.hull; $d), cell($vals.crun; $d), cell($vals.runc; $d), cell($vals.floor; $d),
       ratio($vals.hull; $vals.crun; $crun_max), ratio($vals.hull; $vals.floor; $floor_max), $target] | @tsv;
  ["figure", "hull", "crun", "runc", "floor", "hull/crun", "hull/floor", "target (hull)"] | @tsv,
  ($R.medians_ms
   | row("run /bin/true, median ms"; .run; 2; 0.5; 1.5; "<= 0.5x crun, <= 1.5x floor"),
     row("  create (process true)"; .create; 2; null; null; ""),
     row("  start"; .start; 2; null; null; ""),
     row("  delete (once stopped)"; .delete; 2; null; null; ""),
     row("  create+start+delete"; .create_start_delete; 2; null; null; ""),
     row("exec /bin/true, median ms"; .exec; 2; 0.5; null; "<= 0.5x crun")),
  row("\($seq) sequential runs, total s"; $R.sequential_total_s; 2; null; null; ""),
  ( $R.callgrind as $c
    | ($cgrts | split(" ")) as $measured
    | (reduce ("hull", "crun", "runc", "floor") as $rt ({};
         .[$rt] = (if $rt != "floor" and $R.runtimes[$rt].status != "ok" then null
                   elif ($measured | index($rt)) == null then "n/a"
                   else $c[$rt].instructions | if type == "number" then . / 1e6 elif $c[$rt] then "fail" else null end end))) as $v
    | row("callgrind, one run, M instr"; $v; 3; null; null;
        "<= 0.6 M" + (if ($v.hull | type) == "number" then (if $v.hull <= 0.6 then ": ok" else ": MISS" end) else "" end)))
' "$BENCH_OUT/$section.json" >"$work/table.tsv"

{
	echo "runtime: medians of $BENCH_RUNS runs per figure (runtimes interleaved in $BENCH_ROUNDS rounds); load ${load_start} -> $(cut -d' ' -f1-3 /proc/loadavg)"
	bench_table "$work/table.tsv"
	notes=()
	for rt in $BENCH_RUNTIMES; do
		[ "${STATUS[$rt]}" = ok ] && [ -z "${NOTE[$rt]:-}" ] || notes+=("$(disp "$rt"): ${NOTE[$rt]}")
	done
	for k in $(printf '%s\n' "${!FAIL[@]}" | sort); do
		notes+=("$(disp "${k%%/*}") ${k#*/}: failed: ${FAIL[$k]}")
	done
	for rt in $BENCH_CALLGRIND_RUNTIMES all; do
		[ -z "${CG_NOTE[$rt]:-}" ] || notes+=("callgrind $(disp "$rt"): ${CG_NOTE[$rt]}")
	done
	case " $BENCH_CALLGRIND_RUNTIMES " in
	*" runc "*) ;;
	*) [ "${STATUS[runc]:-}" != ok ] || notes+=("callgrind runc: not measured (a Go program: valgrind crashes on it)") ;;
	esac
	[ "$BENCH_CALLGRIND" = 1 ] || notes+=("callgrind: skipped (BENCH_CALLGRIND=0)")
	for n in "${notes[@]}"; do echo "  * $n"; done
} >"$BENCH_OUT/$section.txt"
echo
cat "$BENCH_OUT/$section.txt"
