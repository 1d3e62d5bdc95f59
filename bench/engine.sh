#!/bin/bash
# bench/engine.sh — section "engine": hull, the engine, against podman on
# the same image and machine. Run by bench/run.
#
#   run     `hull run --rm busybox true` against `podman run --rm` with crun
#           (alternating at every iteration); target hull <= 0.1x podman
#   load    `hull load` of a docker-archive into an empty store against
#           `tar -x` of the same archive plus `sha256sum` of every layer
#           (the floor of any load that verifies digests); target <= 1.3x
#   pull    `hull pull` from a local docker-registry (127.0.0.1) into an
#           empty store against `podman pull` of the same image into empty
#           storage; target <= 0.5x
#   monitor the resident memory of one container's monitor (hull run -d
#           busybox sleep); target under 1 MiB
#
# Both engines get stores of their own in the section's scratch directory.
set -uo pipefail
. "$BENCH_DIR/lib.sh"

: "${HULL:=$BENCH_REPO/build/hull}"
: "${BENCH_ENGINE_RUNS:=30}"
: "${BENCH_LOAD_RUNS:=5}"
: "${BENCH_PULL_RUNS:=5}"

section=engine
work=$BENCH_WORK/$section
raw=$BENCH_OUT/$section.tsv
mkdir -p "$work/err"
: >"$raw"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$SECONDS

skip_section() {
	bench_warn "$1: section skipped"
	echo "engine: $1; section skipped" >"$BENCH_OUT/$section.txt"
	cat "$BENCH_OUT/$section.txt"
	exit 0
}
[ -x "$HULL" ] || skip_section "hull is not built"
for cmd in import run load save; do
	if "$HULL" --help | grep -q "^  $cmd .*(not in this build)"; then
		skip_section "hull $cmd is not in this build"
	fi
done

HS=$work/hull-store HR=$work/hull-run
H=("$HULL" --root "$HS" --runroot "$HR")
PD=$work/podman PR=/tmp/he$$-podrun
P=(podman --root "$PD/root" --runroot "$PR" --tmpdir "$PD/tmp" --network-config-dir "$PD/net"
	--storage-driver overlay --cgroup-manager cgroupfs --events-backend file --runtime crun)
PRUN=(run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
mkdir -p "$PD/tmp" "$PR"
export TMPDIR=$PD/tmp

REG_PID=""
cleanup() {
	[ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null
	"${H[@]}" rm -af >/dev/null 2>&1
	"${P[@]}" rm -af -t 0 >/dev/null 2>&1
	local d
	for d in $(awk -v a="$work/" -v b="$PR" 'index($5, a) == 1 || index($5, b) == 1 { print $5 }' \
		/proc/self/mountinfo | sort -r); do
		umount -l "$d" 2>/dev/null
	done
	rm -rf "$PR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- image
"$BENCH_REPO/tests/lib/mkrootfs" "$work/rootfs" >"$work/err/mkrootfs.log" 2>&1 || exit 1
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
"${H[@]}" import "$work/rootfs.tar" busybox:latest >/dev/null 2>"$work/err/import.log" ||
	skip_section "hull import failed: $(head -n1 "$work/err/import.log")"
have_podman=0
if command -v podman >/dev/null && "${P[@]}" import -q "$work/rootfs.tar" localhost/busybox:latest \
	>/dev/null 2>"$work/err/pimport.log"; then
	have_podman=1
else
	bench_warn "podman unavailable: the run figure has no podman column"
fi

# ---------------------------------------------------------------- run
steps=(@step hull "${H[@]}" run --rm --network none busybox true)
[ "$have_podman" = 1 ] && steps+=(@step podman "${P[@]}" "${PRUN[@]}" localhost/busybox:latest true)
bench_log "run: $BENCH_ENGINE_RUNS iterations, hull and podman (crun) alternating"
bench_time engine "$BENCH_ENGINE_RUNS" 2 "$raw" -- "${steps[@]}" ||
	{ bench_warn "run failed: $(bench_errmsg engine)"; bench_errlog engine >&2; }

# ---------------------------------------------------------------- load
# an archive of some size: the busybox image plus a 48 MiB layer of noise
mkdir -p "$work/big"
head -c $((48 << 20)) /dev/urandom >"$work/big/noise"
tar -C "$work/big" -cf "$work/big.tar" .
"${H[@]}" import "$work/big.tar" big:latest >/dev/null 2>&1 &&
	"${H[@]}" save -o "$work/archive.tar" big:latest 2>"$work/err/save.log" ||
	bench_warn "hull save failed: $(head -n1 "$work/err/save.log")"
if [ -s "$work/archive.tar" ]; then
	cat >"$work/floor-load.sh" <<'EOF'
#!/bin/bash
# tar -x of the archive, then sha256sum of every file in it (the layers)
set -e
d=$1; rm -rf "$d"; mkdir -p "$d"
tar -C "$d" -xf "$2"
find "$d" -type f -print0 | xargs -0 sha256sum >/dev/null
EOF
	chmod +x "$work/floor-load.sh"
	bench_log "load: $BENCH_LOAD_RUNS iterations of hull load and tar -x + sha256sum, alternating"
	bench_time load "$BENCH_LOAD_RUNS" 1 "$raw" -- \
		@do rm -rf "$work/load-store" \
		@step hull_load "$HULL" --root "$work/load-store" --runroot "$HR" load -q -i "$work/archive.tar" \
		@step floor_load "$work/floor-load.sh" "$work/floor-x" "$work/archive.tar" ||
		{ bench_warn "load failed: $(bench_errmsg load)"; bench_errlog load >&2; }
fi

# ---------------------------------------------------------------- pull
if command -v docker-registry >/dev/null && [ -s "$work/archive.tar" ]; then
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	REG=127.0.0.1:$port
	mkdir -p "$work/registry"
	printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' \
		"$work/registry" "$REG" >"$work/registry.yml"
	docker-registry serve "$work/registry.yml" >"$work/err/registry.log" 2>&1 &
	REG_PID=$!
	for _ in $(seq 50); do curl -s -o /dev/null "http://$REG/v2/" && break; sleep 0.1; done
	if "${H[@]}" push -q big:latest "$REG/bench/big:1" 2>"$work/err/push.log"; then
		steps=(@do rm -rf "$work/pull-store"
			@step hull_pull "$HULL" --root "$work/pull-store" --runroot "$HR" pull -q "$REG/bench/big:1")
		if [ "$have_podman" = 1 ]; then
			PP=(podman --root "$work/ppull/root" --runroot "/tmp/he$$-ppull" --tmpdir "$PD/tmp"
				--storage-driver overlay --cgroup-manager cgroupfs --events-backend file)
			steps+=(@do rm -rf "$work/ppull" "/tmp/he$$-ppull"
				@step podman_pull "${PP[@]}" pull -q --tls-verify=false "$REG/bench/big:1")
		fi
		bench_log "pull: $BENCH_PULL_RUNS iterations from docker-registry on $REG, hull and podman alternating"
		bench_time pull "$BENCH_PULL_RUNS" 1 "$raw" -- "${steps[@]}" ||
			{ bench_warn "pull failed: $(bench_errmsg pull)"; bench_errlog pull >&2; }
		for d in $(awk -v a="$work/ppull" 'index($5, a) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
			umount -l "$d" 2>/dev/null
		done
		rm -rf "/tmp/he$$-ppull"
	else
		bench_warn "hull push to the local registry failed: $(head -n1 "$work/err/push.log")"
	fi
fi

# ---------------------------------------------------------------- monitor
mon_rss="" mon_pss=""
if cid=$("${H[@]}" run -d --network none busybox sleep 600 2>"$work/err/mon.log"); then
	sleep 1
	mpid=$(pgrep -f "hull-monitor.*$cid" | head -n1)
	if [ -n "$mpid" ]; then
		mon_rss=$(awk '$1 == "Rss:" {print $2}' "/proc/$mpid/smaps_rollup")
		mon_pss=$(awk '$1 == "Pss:" {print $2}' "/proc/$mpid/smaps_rollup")
	else
		bench_warn "no hull-monitor process found for $cid"
	fi
	"${H[@]}" rm -f "$cid" >/dev/null 2>&1
else
	bench_warn "hull run -d failed: $(head -n1 "$work/err/mon.log")"
fi

# ---------------------------------------------------------------- results
stats=$work/stats.json
bench_stats "$raw" >"$stats"
jq -n --slurpfile s "$stats" --arg rss "$mon_rss" --arg pss "$mon_pss" \
	--arg load0 "$load_start" --arg load1 "$(cut -d' ' -f1-3 /proc/loadavg)" \
	--arg secs "$((SECONDS - t_start))" '
	$s[0] as $s
	| def med($k): $s[$k].median_ms;
	  def ratio($a; $b): if $a != null and $b != null and $b > 0 then ($a / $b * 1000 | round / 1000) else null end;
	  def n: if . == "" then null else tonumber end;
	{
	  section: "engine", duration_s: ($secs | tonumber), loadavg_start: $load0, loadavg_end: $load1,
	  medians_ms: {hull_run: med("engine/hull"), podman_run: med("engine/podman"),
	               hull_load: med("load/hull_load"), floor_load: med("load/floor_load"),
	               hull_pull: med("pull/hull_pull"), podman_pull: med("pull/podman_pull")},
	  monitor_kib: {rss: ($rss | n), pss: ($pss | n)},
	  stats: $s
	}
	| .ratios = {run_hull_over_podman: ratio(.medians_ms.hull_run; .medians_ms.podman_run),
	             load_hull_over_floor: ratio(.medians_ms.hull_load; .medians_ms.floor_load),
	             pull_hull_over_podman: ratio(.medians_ms.hull_pull; .medians_ms.podman_pull)}
	| .targets = [
	    {target: "hull run --rm / podman run --rm (crun)", value: .ratios.run_hull_over_podman, max: 0.1},
	    {target: "hull load / tar -x + sha256sum", value: .ratios.load_hull_over_floor, max: 1.3},
	    {target: "monitor Rss KiB", value: .monitor_kib.rss, max: 1024},
	    {target: "hull pull / podman pull (local registry)", value: .ratios.pull_hull_over_podman, max: 0.5}]
	| .targets |= map(.met = (if .value == null then null else .value <= .max end))
	' >"$BENCH_OUT/$section.json"

jq -r '
  def f1: if type == "number" then (. * 10 | round / 10 | tostring) else "-" end;
  def mark($t): if $t.met == true then " ok" elif $t.met == false then " MISS" else "" end;
  (["figure", "hull", "reference", "hull/reference", "target"] | @tsv),
  (["run --rm busybox true, median ms (reference: podman + crun)", (.medians_ms.hull_run | f1), (.medians_ms.podman_run | f1),
    ((.ratios.run_hull_over_podman | tostring) + "x" + mark(.targets[0])), "<= 0.1x"] | @tsv),
  (["load docker-archive, median ms (reference: tar -x + sha256sum)", (.medians_ms.hull_load | f1), (.medians_ms.floor_load | f1),
    ((.ratios.load_hull_over_floor | tostring) + "x" + mark(.targets[1])), "<= 1.3x"] | @tsv),
  (["pull 48 MiB image from a local registry, median ms (reference: podman pull)", (.medians_ms.hull_pull | f1), (.medians_ms.podman_pull | f1),
    ((.ratios.pull_hull_over_podman | tostring) + "x" + mark(.targets[3])), "<= 0.5x"] | @tsv),
  (["monitor Rss / Pss KiB", "\(.monitor_kib.rss) / \(.monitor_kib.pss)", "", mark(.targets[2]), "< 1024 KiB"] | @tsv)
' "$BENCH_OUT/$section.json" >"$work/table.tsv"
{
	echo "engine: medians ($BENCH_ENGINE_RUNS runs, $BENCH_LOAD_RUNS loads); load ${load_start} -> $(cut -d' ' -f1-3 /proc/loadavg)"
	bench_table "$work/table.tsv"
} >"$BENCH_OUT/$section.txt"
echo
cat "$BENCH_OUT/$section.txt"
