#!/bin/bash
# bench/vm.sh — section "vm": VM isolation against its floor and against
# process isolation, and the host memory an idle VM container costs. Run
# by bench/run.
#
#   hull vm       hull-runtime --isolation=vm run of /bin/true (create with
#                 the boot, start, the program, the exit, delete)
#   floor         the same QEMU command line (taken from hull-runtime
#                 --debug) booting the same kernel, with an initramfs whose
#                 init only ends the guest (bench/vm-floor-init.c), and the
#                 guest channel's sockets replaced by null devices
#   hull process  hull-runtime --isolation=process run of /bin/true
#
# The three alternate at every iteration. Memory: the resident set (Rss,
# and Pss) of the supervisor and of the monitor (whose Rss holds every
# guest page touched) of a VM container idling in `sleep`, 3 s after start.
set -uo pipefail
. "$BENCH_DIR/lib.sh"

: "${HULL_RUNTIME:=$BENCH_REPO/build/hull-runtime}"
: "${BENCH_VM_RUNS:=12}"   # timed iterations (each: one of every figure)
: "${BENCH_VM_WARMUP:=1}"

section=vm
work=$BENCH_WORK/$section
raw=$BENCH_OUT/$section.tsv
mkdir -p "$work/err"
: >"$raw"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$SECONDS
R=(--root "$work/state")
H=$(readlink -f "$HULL_RUNTIME")
pfx=hv$$

skip_section() {
	bench_warn "$1: section skipped"
	echo "vm: $1; section skipped" >"$BENCH_OUT/$section.txt"
	cat "$BENCH_OUT/$section.txt"
	exit 0
}
[ -x "$H" ] || skip_section "hull-runtime is not built"
guest=$(dirname "$H")/guest
[ -e "$guest/vmlinux" ] || skip_section "no guest kernel (make guest-kernel)"
command -v qemu-system-x86_64 >/dev/null || skip_section "QEMU is not installed"

cleanup() {
	local id
	for id in $("$H" "${R[@]}" list -q 2>/dev/null); do
		"$H" "${R[@]}" delete --force "$id" >/dev/null 2>&1
	done
	bench_cleanup_cgroups "$pfx"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- set-up
"$BENCH_REPO/tests/lib/mkbundle" "$work/b" /bin/true >"$work/err/mkbundle.log" 2>&1 ||
	{ bench_warn "mkbundle failed: $(tail -n1 "$work/err/mkbundle.log")"; exit 1; }
"$BENCH_REPO/tests/lib/mkbundle" "$work/idle" sleep 3600 >>"$work/err/mkbundle.log" 2>&1 || exit 1
for b in b idle; do
	jq --arg p "/$pfx-$b" '.linux.cgroupsPath = $p' "$work/$b/config.json" >"$work/c.json" &&
		mv "$work/c.json" "$work/$b/config.json"
done

# the floor's initramfs: /init that only ends the guest
tooldir=$(dirname "$BENCH_TOOL")
if [ ! -x "$tooldir/vm-floor-init" ] || [ "$BENCH_DIR/vm-floor-init.c" -nt "$tooldir/vm-floor-init" ]; then
	${CC:-cc} -O2 -static -o "$tooldir/vm-floor-init" "$BENCH_DIR/vm-floor-init.c" || exit 1
fi
mkdir -p "$work/floor-root/dev"
cp "$tooldir/vm-floor-init" "$work/floor-root/init"
(cd "$work/floor-root" && find . | cpio -o -H newc --quiet) >"$work/floor.cpio" || exit 1

# the monitor's command line, as hull-runtime starts it (a logrus-style
# line of the --log file: msg="...")
if ! "$H" "${R[@]}" --isolation=vm --debug --log "$work/debug.log" run -b "$work/b" "$pfx-probe" \
	>/dev/null 2>"$work/err/probe.log"; then
	skip_section "hull-runtime --isolation=vm run failed: $(grep -m1 . "$work/err/probe.log")"
fi
accel_note=$(grep -m1 -o 'using QEMU emulation.*' "$work/err/probe.log" || true)
qemu_line=$(sed -n 's/.*VM monitor: \(qemu-system.*\)"$/\1/p' "$work/debug.log" | head -n1)
[ -n "$qemu_line" ] || skip_section "no monitor command line in hull-runtime's debug log"
eval "floor=($qemu_line)"
for i in "${!floor[@]}"; do
	case ${floor[$i]} in
	socket,id=hull,*) floor[i]=null,id=hull ;;
	socket,id=qmp,*) floor[i]=null,id=qmp ;;
	file,id=console,*) floor[i]=file,id=console,path=$work/floor-console.log ;;
	*hull_debug=1*) floor[i]=${floor[$i]/ hull_debug=1/} ;;
	esac
	[ "${floor[$i]}" = -initrd ] && floor[i + 1]=$work/floor.cpio
done
accel=$(printf '%s\n' "${floor[@]}" | grep -A1 -x -- -accel | tail -n1)
echo "floor: ${floor[*]}" >"$work/floor.cmd"

# ---------------------------------------------------------------- timing
bench_log "timing: $BENCH_VM_RUNS iterations of hull vm / floor / hull process (alternating), accelerator $accel"
if ! bench_time vm "$BENCH_VM_RUNS" "$BENCH_VM_WARMUP" "$raw" -- \
	@step hull_vm "$H" "${R[@]}" --isolation=vm run -b "$work/b" "$pfx-v{i}" \
	@step floor "${floor[@]}" \
	@step hull_process "$H" "${R[@]}" --isolation=process run -b "$work/b" "$pfx-p{i}"; then
	bench_warn "timing failed: $(bench_errmsg vm)"
	bench_errlog vm >&2
	exit 1
fi

# ---------------------------------------------------------------- memory
kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null; }
mem_sv="" mem_vmm="" pss_sv="" pss_vmm=""
if "$H" "${R[@]}" --isolation=vm run -d -b "$work/idle" "$pfx-idle" >/dev/null 2>"$work/err/idle.log"; then
	sleep 3
	sv=$("$H" "${R[@]}" state "$pfx-idle" | jq -r .pid)
	vmm=$(pgrep -P "$sv" | head -n1)
	mem_sv=$(kib "$sv" Rss) pss_sv=$(kib "$sv" Pss)
	mem_vmm=$(kib "$vmm" Rss) pss_vmm=$(kib "$vmm" Pss)
	"$H" "${R[@]}" delete --force "$pfx-idle" >/dev/null 2>&1
else
	bench_warn "idle VM container failed: $(head -n1 "$work/err/idle.log")"
fi

# ---------------------------------------------------------------- results
stats=$work/stats.json
bench_stats "$raw" >"$stats"
jq -n --slurpfile s "$stats" --arg accel "$accel" --arg note "$accel_note" \
	--arg runs "$BENCH_VM_RUNS" --arg load0 "$load_start" --arg load1 "$(cut -d' ' -f1-3 /proc/loadavg)" \
	--arg secs "$((SECONDS - t_start))" --arg floor "$(cat "$work/floor.cmd")" \
	--arg rss_sv "$mem_sv" --arg rss_vmm "$mem_vmm" --arg pss_sv "$pss_sv" --arg pss_vmm "$pss_vmm" '
	$s[0] as $s
	| def n: if . == "" then null else tonumber end;
	  def med($k): $s["vm/" + $k].median_ms;
	{
	  section: "vm", duration_s: ($secs | tonumber), accelerator: $accel, accelerator_note: $note,
	  runs: ($runs | tonumber), loadavg_start: $load0, loadavg_end: $load1, floor_command: $floor,
	  medians_ms: {hull_vm: med("hull_vm"), floor: med("floor"), hull_process: med("hull_process")},
	  p25_ms: {hull_vm: $s["vm/hull_vm"].p25_ms, floor: $s["vm/floor"].p25_ms},
	  p75_ms: {hull_vm: $s["vm/hull_vm"].p75_ms, floor: $s["vm/floor"].p75_ms},
	  idle_memory_kib: {supervisor_rss: ($rss_sv | n), monitor_rss: ($rss_vmm | n),
	                    supervisor_pss: ($pss_sv | n), monitor_pss: ($pss_vmm | n)},
	  stats: $s
	}
	| .ratios = {hull_vm_over_floor: (if .medians_ms.floor then (.medians_ms.hull_vm / .medians_ms.floor * 1000 | round / 1000) else null end),
	             hull_vm_over_process: (if .medians_ms.hull_process then (.medians_ms.hull_vm / .medians_ms.hull_process * 100 | round / 100) else null end)}
	| .targets = [{target: "hull vm run / floor, medians", value: .ratios.hull_vm_over_floor, max: 1.25,
	               met: (if .ratios.hull_vm_over_floor == null then null else .ratios.hull_vm_over_floor <= 1.25 end)}]
	' >"$BENCH_OUT/$section.json"

jq -r '
  def f1: if type == "number" then (. * 10 | round / 10 | tostring) else "-" end;
  (["figure", "median ms", "p25", "p75", "vs floor", "target"] | @tsv),
  (["hull-runtime --isolation=vm run true", (.medians_ms.hull_vm | f1), (.p25_ms.hull_vm | f1), (.p75_ms.hull_vm | f1),
    ((.ratios.hull_vm_over_floor | tostring) + "x" + (if .targets[0].met then " ok" elif .targets[0].met == false then " MISS" else "" end)), "<= 1.25x floor"] | @tsv),
  (["floor: same QEMU line, init only exits", (.medians_ms.floor | f1), (.p25_ms.floor | f1), (.p75_ms.floor | f1), "1.00x", ""] | @tsv),
  (["hull-runtime --isolation=process run true", (.medians_ms.hull_process | f1), "", "", "", ""] | @tsv),
  (["idle VM container: supervisor Rss / Pss KiB", "\(.idle_memory_kib.supervisor_rss) / \(.idle_memory_kib.supervisor_pss)", "", "", "", ""] | @tsv),
  (["idle VM container: monitor Rss / Pss KiB (guest pages incl.)", "\(.idle_memory_kib.monitor_rss) / \(.idle_memory_kib.monitor_pss)", "", "", "", ""] | @tsv)
' "$BENCH_OUT/$section.json" >"$work/table.tsv"
{
	echo "vm: medians of $BENCH_VM_RUNS runs each, alternating; accelerator $accel${accel_note:+ ($accel_note)}; load ${load_start} -> $(cut -d' ' -f1-3 /proc/loadavg)"
	bench_table "$work/table.tsv"
	echo "  vm/process: $(jq -r '.ratios.hull_vm_over_process' "$BENCH_OUT/$section.json")x"
} >"$BENCH_OUT/$section.txt"
echo
cat "$BENCH_OUT/$section.txt"
