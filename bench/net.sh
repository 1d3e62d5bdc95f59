#!/bin/bash
# bench/net.sh — section "net": what container networking costs, hull
# against podman (crun, netavark) on the same image and machine. Run by
# bench/run.
#
#   run      `hull run --rm busybox true` on the default network ("hull",
#            CNI bridge + portmap + firewall) and with `--network none`,
#            `podman run --rm` (crun) on podman's default network (netavark
#            bridge) and with `--network none`; the four alternate at every
#            iteration. Target: hull / podman, default networks, <= 0.2x.
#            Also the time the network adds to each (network - none).
#   iperf3   TCP throughput host -> container: `iperf3 -s` in a hull
#            process-isolation container, a hull VM container
#            (--isolation=vm --cpus 1) and a podman container, each on a
#            bridge network the section creates; `iperf3 -c IP -t 5 -J` from
#            the host, the three taking turns, median of the received
#            bits_per_second. Target: hull / podman >= 1.0x.
#
# Both engines get stores of their own in the section's scratch directory.
# Traffic goes only to the addresses of the containers made here, checked
# to be routed through the section's own bridges (see bench/README.md).
set -uo pipefail
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

: "${HULL:=$BENCH_REPO/build/hull}"
: "${BENCH_NET_RUNS:=20}"       # timed iterations of the run figure (4 runs each)
: "${BENCH_NET_WARMUP:=2}"
: "${BENCH_NET_IPERF_REPS:=5}"  # iperf3 tests per container
: "${BENCH_NET_IPERF_TIME:=5}"  # seconds per test (iperf3 -t)
: "${BENCH_NET_VM:=1}"          # 0: no VM container

section=net
work=$BENCH_WORK/$section
raw=$BENCH_OUT/$section.tsv
ipdir=$BENCH_OUT/$section-iperf
mkdir -p "$work/err" "$ipdir"
: >"$raw"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$SECONDS
pfx=hn$$

skip_section() {
	bench_warn "$1: section skipped"
	echo "net: $1; section skipped" >"$BENCH_OUT/$section.txt"
	cat "$BENCH_OUT/$section.txt"
	exit 0
}
[ -x "$HULL" ] || skip_section "hull is not built"
for cmd in import run network inspect; do
	if "$HULL" --help | grep -q "^  $cmd .*(not in this build)"; then
		skip_section "hull $cmd is not in this build"
	fi
done

# hull's binaries, to notice a rebuild during the run (figures mixing builds)
hull_sums() {
	local b
	for b in "$HULL" "$(dirname "$HULL")"/hull-monitor "$(dirname "$HULL")"/hull-runtime; do
		[ -e "$b" ] && sha256sum "$b"
	done
}
sums_start=$(hull_sums)

HS=$work/hull-store HR=$work/hull-run
H=("$HULL" --root "$HS" --runroot "$HR")
PD=$work/podman PR=/tmp/$pfx-podrun
P=(podman --root "$PD/root" --runroot "$PR" --tmpdir "$PD/tmp" --volumepath "$PD/volumes"
	--network-config-dir "$PD/net" --storage-driver overlay --cgroup-manager cgroupfs
	--events-backend file --runtime crun)
# bench/engine.sh's flags, without --network none (podman's default
# rlimits need CAP_SYS_RESOURCE, which this machine withholds)
PRUN=(run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
PRUND=(run -d --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
HNET=$pfx-hull PNET=$pfx-podman   # the networks of the iperf3 containers
hnet_made=0 pnet_made=0

# ---------------------------------------------------------------- clean-up
# Everything runs in bench/run's private mount namespace; the mounts made
# here (the overlay over /var/lib, the engines' own) are undone anyway.
# Only processes started here are ended, by pid (iperf3 clients run in the
# foreground under `timeout`; the servers end with their containers).
cleanup() {
	local d p ids
	# an iperf3 client under way (timeout passes the signal on to it)
	[ -n "$bg_pid" ] && kill "$bg_pid" 2>/dev/null && wait "$bg_pid" 2>/dev/null
	# (hull rm has no --all)
	ids=$("${H[@]}" ps -aq 2>/dev/null)
	# shellcheck disable=SC2086 # one id a word
	[ -n "$ids" ] && "${H[@]}" rm -f $ids >/dev/null 2>&1
	[ -z "$("${H[@]}" ps -aq 2>/dev/null)" ] || bench_warn "hull containers left in $HS"
	[ "$hnet_made" = 1 ] && { "${H[@]}" network rm "$HNET" >/dev/null 2>&1 ||
		bench_warn "hull network rm $HNET failed"; }
	if command -v podman >/dev/null; then
		"${P[@]}" rm -af -t 0 >/dev/null 2>&1
		[ "$pnet_made" = 1 ] && { "${P[@]}" network rm -f "$PNET" >/dev/null 2>&1 ||
			bench_warn "podman network rm $PNET failed"; }
		# conmon or podman clean-up processes of this store still around
		for p in /proc/[0-9]*; do
			p=${p#/proc/}
			[ "$p" = "$$" ] && continue
			if tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF -e "$PD/" -e "$PR"; then
				kill -9 "$p" 2>/dev/null
			fi
		done
	fi
	while read -r d; do
		umount -l "$d" 2>/dev/null
	done < <(awk -v a="$work/" -v b="$PR" 'index($5, a) == 1 || index($5, b) == 1 { print $5 }' \
		/proc/self/mountinfo | sort -r)
	if [ -f "$work/hidden" ]; then
		while read -r d; do umount -l "$d" 2>/dev/null; done < <(tac "$work/hidden")
		rm -f "$work/hidden"
	fi
	rm -rf "$PR"
}
trap cleanup EXIT
trap 'exit 130' TERM
# on an interrupt: clean up, then end by SIGINT, so that bench/run stops too
trap 'trap - INT EXIT; cleanup; kill -INT $$' INT

# run_wait CMD... — CMD in the background, waited for, so that an interrupt
# is acted on at once: bash runs no trap while a foreground command runs,
# nor at all once that command handles SIGINT itself and exits (iperf3
# does; GNU timeout puts it in a process group of its own anyway)
bg_pid=""
run_wait() {
	local rc
	"$@" &
	bg_pid=$!
	wait "$bg_pid"
	rc=$?
	bg_pid=""
	return $rc
}

# podman's image import writes its blob-info cache to /var/lib/containers:
# an overlay over /var/lib in this private mount namespace keeps it here
# (as in bench/podman.sh)
mkdir -p "$work/varlib/upper" "$work/varlib/work" "$PD/tmp" "$PR"
if ! awk '$5 ~ "^/var/lib/" {f = 1} END {exit !f}' /proc/self/mountinfo &&
	mount -t overlay -o "lowerdir=/var/lib,upperdir=$work/varlib/upper,workdir=$work/varlib/work" \
		hull-bench /var/lib 2>/dev/null; then
	echo /var/lib >>"$work/hidden"
fi
export TMPDIR=$PD/tmp

# ---------------------------------------------------------------- images
# busybox (tests/lib/mkrootfs), and the same with Debian's iperf3, its
# shared libraries (at the paths ldd gives) and the dynamic loader
"$BENCH_REPO/tests/lib/mkrootfs" "$work/rootfs" >"$work/err/mkrootfs.log" 2>&1 ||
	{ bench_warn "mkrootfs failed: $(tail -n1 "$work/err/mkrootfs.log")"; exit 1; }
tar -C "$work/rootfs" -cf "$work/busybox.tar" .
have_iperf=0
IPERF=$(command -v iperf3 || true)
if [ -n "$IPERF" ]; then
	cp -a "$work/rootfs" "$work/iperf-root"
	ok=1
	for f in "$IPERF" $(ldd "$IPERF" | awk '$2 == "=>" && $3 ~ "^/" { print $3 } $1 ~ "^/" { print $1 }'); do
		mkdir -p "$work/iperf-root$(dirname "$f")" && cp -L "$f" "$work/iperf-root$f" || ok=0
	done
	if [ "$ok" = 1 ] && chroot "$work/iperf-root" "$IPERF" --version >/dev/null 2>&1; then
		tar -C "$work/iperf-root" -cf "$work/iperf.tar" .
		have_iperf=1
	else
		bench_warn "iperf3 image: $IPERF does not run in the busybox root with its libraries"
	fi
else
	bench_warn "iperf3 is not installed: no throughput figures"
fi
"${H[@]}" import "$work/busybox.tar" busybox:latest >/dev/null 2>"$work/err/import.log" ||
	skip_section "hull import failed: $(head -n1 "$work/err/import.log")"
[ "$have_iperf" = 1 ] && { "${H[@]}" import "$work/iperf.tar" iperf:bench >/dev/null 2>>"$work/err/import.log" ||
	{ bench_warn "hull import of the iperf3 image failed"; have_iperf=0; }; }
have_podman=0
if command -v podman >/dev/null && "${P[@]}" import -q "$work/busybox.tar" localhost/busybox:latest \
	>/dev/null 2>"$work/err/pimport.log"; then
	have_podman=1
	[ "$have_iperf" = 1 ] && { "${P[@]}" import -q "$work/iperf.tar" localhost/iperf:bench \
		>/dev/null 2>>"$work/err/pimport.log" || bench_warn "podman import of the iperf3 image failed"; }
else
	bench_warn "podman unavailable: no podman figures"
fi
pver=$(podman --version 2>/dev/null | awk '{print $NF}')
pnetbackend=$("${P[@]}" info --format '{{.Host.NetworkBackend}}' 2>/dev/null || true)

# ---------------------------------------------------------------- run
# each command once first: one that fails is left out (and noted)
declare -A CMD NOTE
CMD[hull_net]="run --rm busybox true"
CMD[hull_none]="run --rm --network none busybox true"
CMD[podman_net]="${PRUN[*]} localhost/busybox:latest true"
CMD[podman_none]="${PRUN[*]} --network none localhost/busybox:latest true"
steps=()
for f in hull_net hull_none podman_net podman_none; do
	case $f in
	hull_*) argv=("${H[@]}") ;;
	*) [ "$have_podman" = 1 ] || continue
	   argv=("${P[@]}") ;;
	esac
	read -r -a a <<<"${CMD[$f]}"
	argv+=("${a[@]}")
	if "${argv[@]}" >/dev/null 2>"$work/err/probe-$f.log"; then
		steps+=(@step "$f" "${argv[@]}")
	else
		NOTE[$f]="fails: $(grep -m1 . "$work/err/probe-$f.log" | cut -c1-160)"
		bench_warn "$f (${argv[0]##*/} ${CMD[$f]}) ${NOTE[$f]}"
	fi
done
if [ ${#steps[@]} -gt 0 ]; then
	bench_log "run: $BENCH_NET_RUNS iterations of hull and podman (crun, $pnetbackend), default network and none, alternating"
	bench_time net "$BENCH_NET_RUNS" "$BENCH_NET_WARMUP" "$raw" -- "${steps[@]}" ||
		{ bench_warn "run failed: $(bench_errmsg net)"; bench_errlog net >&2; }
fi

# ---------------------------------------------------------------- iperf3
# the servers: one container each, on a bridge network of the section's own
# (the default bridges are shared with other stores — every hull store's
# default network is hull0 with its own address allocation — so an address
# there is not known to be ours alone)
declare -A IP
pick_subnet() { echo "10.$1.$((($$ + $2) % 200 + 20)).0/24"; }
route_dev() { ip -o route get "$1" 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p'; }
# iperf3 keeps its buffer in an unlinked temporary file (mkstemp, unlink,
# ftruncate, mmap): on the 9p root of a VM container that fails ("unable to
# create a new stream: Bad file descriptor"), so every server, whatever its
# isolation, has TMPDIR on the container's /dev/shm (tmpfs)
iperf_cmd=(iperf3 -s)
if [ "$have_iperf" = 1 ]; then
	for try in 0 1 2 3 4; do
		sn=$(pick_subnet 213 $((try * 37)))
		if "${H[@]}" network create --subnet "$sn" "$HNET" >/dev/null 2>"$work/err/hnet.log"; then
			hnet_made=1
			break
		fi
	done
	if [ "$hnet_made" = 0 ]; then
		bench_warn "hull network create failed: $(head -n1 "$work/err/hnet.log")"
		NOTE[hull_process]="not measured: hull network create failed: $(head -n1 "$work/err/hnet.log" | cut -c1-120)"
		[ "$BENCH_NET_VM" = 1 ] && NOTE[hull_vm]=${NOTE[hull_process]}
	fi
	hbridge=$("${H[@]}" network inspect "$HNET" 2>/dev/null |
		jq -r '.[0].Options["com.docker.network.bridge.name"] // empty')
	if [ "$have_podman" = 1 ]; then
		for try in 0 1 2 3 4; do
			sn=$(pick_subnet 214 $((try * 37)))
			if "${P[@]}" network create --disable-dns --subnet "$sn" "$PNET" >/dev/null 2>"$work/err/pnet.log"; then
				pnet_made=1
				break
			fi
		done
		if [ "$pnet_made" = 0 ]; then
			bench_warn "podman network create failed: $(head -n1 "$work/err/pnet.log")"
			NOTE[podman]="not measured: podman network create failed: $(head -n1 "$work/err/pnet.log" | cut -c1-120)"
		fi
		pbridge=$("${P[@]}" network inspect "$PNET" 2>/dev/null | jq -r '.[0].network_interface // empty')
	fi

	start_server() { # NAME BRIDGE ARGV... — start it, set IP[NAME]
		local name=$1 bridge=$2 ip dev
		shift 2
		if ! "$@" >"$work/$name.id" 2>"$work/err/$name.log"; then
			NOTE[$name]="does not start: $(grep -m1 . "$work/err/$name.log" | cut -c1-160)"
			return 1
		fi
		case $name in
		podman) ip=$("${P[@]}" inspect "$pfx-$name" 2>/dev/null |
			jq -r --arg n "$PNET" '.[0].NetworkSettings.Networks[$n].IPAddress // empty') ;;
		*) ip=$("${H[@]}" inspect "$pfx-$name" 2>/dev/null | jq -r '.[0].NetworkSettings.IPAddress // empty') ;;
		esac
		dev=$(route_dev "$ip")
		if [ -z "$ip" ] || [ -z "$bridge" ] || [ "$dev" != "$bridge" ]; then
			# never send anything to an address not known to be ours
			NOTE[$name]="no address on the section's bridge (address '${ip}', route via '${dev}', bridge '${bridge}')"
			return 1
		fi
		IP[$name]=$ip
	}
	# until the server answers (a VM boots first): 1 s tests, up to 30 s
	wait_server() {
		local name=$1 t=$((SECONDS + 30))
		while [ $SECONDS -lt $t ]; do
			run_wait timeout 10 iperf3 -c "${IP[$name]}" -t 1 --connect-timeout 1000 -J \
				>"$work/$name-warmup.json" 2>&1 && { sleep 0.5; return 0; }
			sleep 0.3
		done
		NOTE[$name]="iperf3 server at ${IP[$name]} not reachable: $(jq -r '.error // empty' "$work/$name-warmup.json" 2>/dev/null | cut -c1-120)"
		return 1
	}
	servers=()
	if [ "$hnet_made" = 1 ]; then
		start_server hull_process "$hbridge" "${H[@]}" run -d --name "$pfx-hull_process" -e TMPDIR=/dev/shm --network "$HNET" \
			iperf:bench "${iperf_cmd[@]}" && servers+=(hull_process)
		if [ "$BENCH_NET_VM" = 1 ]; then
			start_server hull_vm "$hbridge" "${H[@]}" run -d --name "$pfx-hull_vm" -e TMPDIR=/dev/shm --isolation=vm \
				--cpus 1 --network "$HNET" iperf:bench "${iperf_cmd[@]}" && servers+=(hull_vm)
		else
			NOTE[hull_vm]="not measured (BENCH_NET_VM=0)"
		fi
	fi
	if [ "$pnet_made" = 1 ]; then
		start_server podman "$pbridge" "${P[@]}" "${PRUND[@]}" --name "$pfx-podman" -e TMPDIR=/dev/shm --network "$PNET" \
			localhost/iperf:bench "${iperf_cmd[@]}" && servers+=(podman)
	fi
	ready=()
	for s in "${servers[@]}"; do
		wait_server "$s" && ready+=("$s")
	done
	for s in hull_process hull_vm podman; do
		[ -n "${NOTE[$s]:-}" ] && bench_warn "iperf3 $s: ${NOTE[$s]}"
	done
	[ -n "${NOTE[hull_vm]:-}" ] && [ "$BENCH_NET_VM" = 1 ] &&
		bench_warn "VM throughput unavailable (VM networking may not be finished): reported as null"
	if [ ${#ready[@]} -gt 0 ]; then
		bench_log "iperf3: ${ready[*]}; $BENCH_NET_IPERF_REPS tests of ${BENCH_NET_IPERF_TIME} s each, taking turns"
		for rep in $(seq "$BENCH_NET_IPERF_REPS"); do
			for s in "${ready[@]}"; do
				j=$ipdir/$s-$rep.json
				for try in 1 2; do # once more after a failure (a server just done may reset)
					run_wait timeout $((BENCH_NET_IPERF_TIME + 20)) iperf3 -c "${IP[$s]}" -t "$BENCH_NET_IPERF_TIME" \
						--connect-timeout 3000 -J >"$j" 2>"$work/err/iperf-$s.log" && break
					[ "$try" = 1 ] && sleep 1
				done
				if ! jq -e '.end.sum_received.bits_per_second' "$j" >/dev/null 2>&1; then
					e="$(jq -r '.error // empty' "$j" 2>/dev/null | cut -c1-120)"
					bench_warn "iperf3 $s test $rep failed: ${e:-no result}"
					NOTE[$s]="test $rep of $BENCH_NET_IPERF_REPS failed: ${e:-no result}"
				fi
			done
		done
	fi
fi

# ---------------------------------------------------------------- results
if [ "$(hull_sums)" != "$sums_start" ]; then
	NOTE[hull]="WARNING: hull's binaries ($HULL, hull-monitor, hull-runtime) changed during the benchmark: figures mix two builds"
	bench_warn "${NOTE[hull]}"
fi
# the throughput samples: {NAME: {samples_gbps, retransmits, cpu}}
for s in hull_process hull_vm podman; do
	for j in "$ipdir/$s"-*.json; do
		[ -s "$j" ] && jq -c --arg s "$s" 'select(.end.sum_received.bits_per_second != null)
			| {s: $s, bps: .end.sum_received.bits_per_second, retr: .end.sum_sent.retransmits,
			   cpu_host: .end.cpu_utilization_percent.host_total,
			   cpu_remote: .end.cpu_utilization_percent.remote_total}' "$j" 2>/dev/null
	done
done >"$work/iperf.jsonl"
notes=$(for k in "${!NOTE[@]}"; do printf '%s\t%s\n' "$k" "${NOTE[$k]}"; done |
	jq -R -s 'split("\n") | map(select(length > 0) | split("\t") | {key: .[0], value: .[1]}) | from_entries')
stats=$work/stats.json
bench_stats "$raw" >"$stats"
jq -n --slurpfile s "$stats" --slurpfile ip <(jq -s . "$work/iperf.jsonl") --argjson notes "$notes" \
	--arg load0 "$load_start" --arg load1 "$(cut -d' ' -f1-3 /proc/loadavg)" \
	--arg secs "$((SECONDS - t_start))" --arg runs "$BENCH_NET_RUNS" --arg pver "$pver" \
	--arg backend "$pnetbackend" --arg reps "$BENCH_NET_IPERF_REPS" --arg t "$BENCH_NET_IPERF_TIME" \
	--arg hnet "$HNET" --arg pnet "$PNET" '
	$s[0] as $s | $ip[0] as $ip
	| def med($k): $s["net/" + $k].median_ms;
	  def median: sort | length as $n
	    | if $n == 0 then null elif $n % 2 == 1 then .[($n - 1) / 2]
	      else (.[$n / 2 - 1] + .[$n / 2]) / 2 end;
	  def r3: if . == null then null else . * 1000 | round / 1000 end;
	  def ratio($a; $b): if $a != null and $b != null and $b > 0 then ($a / $b | r3) else null end;
	  def diff($a; $b): if $a != null and $b != null then ($a - $b | r3) else null end;
	  def tput($n): ($ip | map(select(.s == $n))) as $x
	    | {n: ($x | length), median_gbps: ($x | map(.bps / 1e9) | median | r3),
	       samples_gbps: ($x | map(.bps / 1e9 | r3)), retransmits: ($x | map(.retr)),
	       cpu_host_pct: ($x | map(.cpu_host | r3)), cpu_remote_pct: ($x | map(.cpu_remote | r3))};
	{
	  section: "net", duration_s: ($secs | tonumber), loadavg_start: $load0, loadavg_end: $load1,
	  podman_version: $pver, podman_network_backend: $backend, runs: ($runs | tonumber),
	  commands: {hull_net: "hull run --rm busybox true", hull_none: "hull run --rm --network none busybox true",
	             podman_net: "podman --runtime crun run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 localhost/busybox true",
	             podman_none: "podman --runtime crun run --rm --network none --ulimit ... localhost/busybox true",
	             iperf3_server: "run -d -e TMPDIR=/dev/shm [--isolation=vm --cpus 1] --network NET iperf:bench iperf3 -s",
	             iperf3: "iperf3 -c IP -t \($t) -J (host -> container), \($reps) tests per container; servers on networks \($hnet) (hull) and \($pnet) (podman)"},
	  medians_ms: {hull_net: med("hull_net"), hull_none: med("hull_none"),
	               podman_net: med("podman_net"), podman_none: med("podman_none")},
	  throughput: {hull_process: tput("hull_process"), hull_vm: tput("hull_vm"), podman: tput("podman")},
	  notes: $notes,
	  stats: $s
	}
	| .network_cost_ms = {hull: diff(.medians_ms.hull_net; .medians_ms.hull_none),
	                      podman: diff(.medians_ms.podman_net; .medians_ms.podman_none)}
	| .throughput_gbps = {hull_process: .throughput.hull_process.median_gbps,
	                      hull_vm: .throughput.hull_vm.median_gbps, podman: .throughput.podman.median_gbps}
	| .ratios = {run_hull_over_podman: ratio(.medians_ms.hull_net; .medians_ms.podman_net),
	             run_none_hull_over_podman: ratio(.medians_ms.hull_none; .medians_ms.podman_none),
	             throughput_hull_process_over_podman: ratio(.throughput_gbps.hull_process; .throughput_gbps.podman),
	             throughput_hull_vm_over_podman: ratio(.throughput_gbps.hull_vm; .throughput_gbps.podman)}
	| .targets = [
	    {target: "hull run --rm / podman run --rm (crun), default networks", value: .ratios.run_hull_over_podman, max: 0.2},
	    {target: "iperf3 Gbit/s hull process / podman", value: .ratios.throughput_hull_process_over_podman, min: 1.0},
	    {target: "iperf3 Gbit/s hull vm / podman", value: .ratios.throughput_hull_vm_over_podman, min: 1.0}]
	| .targets |= map(.met = (if .value == null then null elif .max then .value <= .max else .value >= .min end))
	' >"$BENCH_OUT/$section.json" || { bench_warn "results: jq failed"; exit 1; }

jq -r '
  def f1: if type == "number" then (. * 10 | round / 10 | tostring) else "-" end;
  def f2: if type == "number" then (. * 100 | round / 100 | tostring) else "-" end;
  def x($v): if $v == null then "-" else ($v | tostring) + "x" end;
  def mark($t): if $t.met == true then " ok" elif $t.met == false then " MISS" else "" end;
  (["figure", "hull", "podman", "hull/podman", "target"] | @tsv),
  (["run --rm busybox true, default network, median ms", (.medians_ms.hull_net | f1), (.medians_ms.podman_net | f1),
    (x(.ratios.run_hull_over_podman) + mark(.targets[0])), "<= 0.2x"] | @tsv),
  (["run --rm busybox true, --network none, median ms", (.medians_ms.hull_none | f1), (.medians_ms.podman_none | f1),
    x(.ratios.run_none_hull_over_podman), ""] | @tsv),
  (["network cost (default - none), ms", (.network_cost_ms.hull | f1), (.network_cost_ms.podman | f1), "", ""] | @tsv),
  (["iperf3 host -> container, process isolation, Gbit/s", (.throughput_gbps.hull_process | f2), (.throughput_gbps.podman | f2),
    (x(.ratios.throughput_hull_process_over_podman) + mark(.targets[1])), ">= 1.0x"] | @tsv),
  (["iperf3 host -> container, hull --isolation=vm --cpus 1, Gbit/s", (if .throughput_gbps.hull_vm == null then "n/a" else (.throughput_gbps.hull_vm | f2) end),
    (.throughput_gbps.podman | f2), (x(.ratios.throughput_hull_vm_over_podman) + mark(.targets[2])), ">= 1.0x"] | @tsv)
' "$BENCH_OUT/$section.json" >"$work/table.tsv"
{
	echo "net: medians ($BENCH_NET_RUNS runs; iperf3 $BENCH_NET_IPERF_REPS x ${BENCH_NET_IPERF_TIME} s); podman $pver ($pnetbackend, crun); load ${load_start} -> $(cut -d' ' -f1-3 /proc/loadavg)"
	bench_table "$work/table.tsv"
	jq -r '.throughput | to_entries | map(select(.value.n > 0) | "\(.key) \(.value.samples_gbps | join(" "))")
	  | select(length > 0) | "  iperf3 samples, Gbit/s: " + join("; ")' "$BENCH_OUT/$section.json"
	jq -r '.notes | to_entries[] | "  \(.key): \(.value)"' "$BENCH_OUT/$section.json"
} >"$BENCH_OUT/$section.txt"
bench_log "$(jq -r '
  def f1: if type == "number" then (. * 10 | round / 10 | tostring) else "-" end;
  def f2: if type == "number" then (. * 100 | round / 100 | tostring) else "n/a" end;
  "net summary: run hull \(.medians_ms.hull_net | f1) ms (none \(.medians_ms.hull_none | f1)), podman \(.medians_ms.podman_net | f1) ms (none \(.medians_ms.podman_none | f1)), ratio \(.ratios.run_hull_over_podman // "-")x; network adds hull \(.network_cost_ms.hull | f1) ms, podman \(.network_cost_ms.podman | f1) ms; iperf3 Gbit/s hull-process \(.throughput_gbps.hull_process | f2), hull-vm \(.throughput_gbps.hull_vm | f2), podman \(.throughput_gbps.podman | f2); ratios process/podman \(.ratios.throughput_hull_process_over_podman // "-")x, vm/podman \(.ratios.throughput_hull_vm_over_podman // "-")x"
' "$BENCH_OUT/$section.json")"
echo
cat "$BENCH_OUT/$section.txt"
