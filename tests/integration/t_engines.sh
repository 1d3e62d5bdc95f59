# t_engines.sh — real engines drive the runtime under test: podman (with
# `--runtime`, through conmon) and containerd (`ctr`, through the runc v2
# shim with `--runc-binary`). Each test has its own engine state under $T:
# podman with its own --root/--runroot/--tmpdir, containerd started from a
# config.toml of its own, its socket under $T. The busybox image is made
# here from the test bundle's rootfs (podman import of a tar; a hand-made
# docker-archive for ctr, tests/integration/engines/mkimage); nothing is
# downloaded. Tests skip when podman/containerd are not installed
# (scripts/setup installs them).
#
# With hull-runtime, ISOLATION picks the binary the engine calls:
# hull-runtime-vm for vm (an engine cannot pass --isolation), hull-runtime
# otherwise.
#
# What an engine leaves outside $T is kept from the host: tmpfs over
# /var/lib/containers, /run/containers and /run/containerd (image-copy
# cache, network and shim sockets, ctr fifos) in the runner's private mount
# namespace, containers under a cgroup parent named after the test ($ID-*).
# eng_cleanup (an EXIT trap) removes containers, kills the engine's
# processes, unmounts and removes those cgroups, pass or fail.

# (these read the container's cgroup files on the host, or test the
# annotation that chooses process isolation)
process_only test_podman_memory test_podman_pids_limit test_podman_cpus \
  test_podman_update test_podman_annotation_isolation test_containerd_memory_limit \
  test_podman_network_host_and_none
# (the annotation alone turns a plain hull-runtime into a VM runtime)
vm_only test_podman_annotation_vm

runs_in_vm

ENG_DIR=$LIB_DIR/engines
ENG_IMAGE=localhost/busybox:test

# ---------------------------------------------------------------- common

# eng_runtime — the runtime binary an engine is told to use
eng_runtime() {
  if [ "${IS_HULL:-0}" = 1 ] && [ "$ISOLATION" = vm ] && [ -z "${ENG_PLAIN:-}" ]; then
    echo "$(dirname "$RUNTIME")/hull-runtime-vm"
  else
    echo "$RUNTIME"
  fi
}

# eng_hide DIR... — an empty tmpfs over DIR in this (private) mount
# namespace, for what the engine writes at fixed host paths; undone by
# eng_cleanup (a DIR this made is removed again when empty).
eng_hide() {
  local d made
  for d in "$@"; do
    made=0
    [ -d "$d" ] || { mkdir -p "$d" && made=1; } || fail "cannot make $d"
    mount -t tmpfs -o mode=0700 tmpfs "$d" || fail "cannot mount a tmpfs on $d"
    echo "$made $d" >>"$T/.eng-hidden"
  done
}

# eng_state_entries [--root R] — ids of containers in the runtime's state
# (default root, or R) whose bundle is under $T
eng_state_entries() {
  timeout 30 "$RUNTIME" "$@" list --format json 2>/dev/null |
    jq -r --arg t "$T/" '.[]? | select((.bundle // "") | startswith($t)) | .id' 2>/dev/null
}

# eng_assert_no_state [--root R] — the runtime keeps no container of this test
eng_assert_no_state() {
  local left; left=$(eng_state_entries "$@")
  [ -z "$left" ] || fail "the runtime still has container(s) of this test: $left"
}

# eng_pids_under DIR — pids of processes whose command line mentions DIR
# (conmon, shims, containerd, podman's exit commands)
eng_pids_under() {
  local p
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" = "$$" ] && continue
    tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF -- "$1" && echo "$p"
  done
}

# eng_trap — eng_cleanup runs however the test ends (TERM: the runner's
# timeout)
eng_trap() { trap eng_cleanup EXIT; trap 'exit 143' TERM INT; }

_eng_no_pids() { [ -z "$(eng_pids_under "$T/")${PR:+$(eng_pids_under "$PR")}" ]; }

# eng_cleanup — EXIT trap: remove everything the engines made, pass or fail
eng_cleanup() {
  local id p made d root
  {
    if [ -n "${PD:-}" ] && [ -d "$PD" ]; then
      P rm -af -t 0 >/dev/null 2>&1
    fi
    if [ -n "${CTD_PID:-}" ]; then
      for id in $(X containers ls -q 2>/dev/null); do
        X task kill -s KILL "$id" >/dev/null 2>&1
        X task delete -f "$id" >/dev/null 2>&1
        X containers delete "$id" >/dev/null 2>&1
      done
      kill "$CTD_PID" 2>/dev/null
      bg_wait "$CTD_PID" 10
    fi
    # containers the engines left in the runtime's state
    for root in "" ${CTD:+"$CTD/rt/default"}; do
      for id in $(eng_state_entries ${root:+--root "$root"}); do
        echo "eng_cleanup: runtime container $id"
        timeout 30 "$RUNTIME" ${root:+--root "$root"} kill "$id" KILL >/dev/null 2>&1
        timeout 30 "$RUNTIME" ${root:+--root "$root"} delete --force "$id" >/dev/null 2>&1
      done
    done
    # the engines' own processes (conmon and the `podman container cleanup`
    # it starts when a container ends, shims, containerd): give them time
    # to end by themselves, then kill what is left, until none is left
    poll 10 _eng_no_pids
    local _
    for _ in 1 2 3 4 5; do
      _eng_no_pids && break
      for p in $(eng_pids_under "$T/") ${PR:+$(eng_pids_under "$PR")}; do
        echo "eng_cleanup: killing $p: $(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | cut -c1-120)"
        kill -9 "$p" 2>/dev/null
      done
      sleep 0.1
    done
    for d in $(awk -v p="$T/" -v r="${PR:-/nonexistent}" 'index($5, p) == 1 || index($5, r) == 1 { print $5 }' \
               /proc/self/mountinfo | sort -r); do
      umount -l "$d" 2>/dev/null
    done
    [ -z "${PR:-}" ] || rm -rf "$PR"
    if [ -f "$T/.eng-hidden" ]; then
      while read -r made d; do
        umount -l "$d" 2>/dev/null
        [ "$made" = 1 ] && rmdir "$d" 2>/dev/null
      done < <(tac "$T/.eng-hidden")
      rm -f "$T/.eng-hidden"
    fi
    # cgroups of this test (the engines' parents and their children)
    find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d -name "$ID-*" 2>/dev/null |
      while read -r d; do find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null; done
  } >&"${LOG_FD:-2}" 2>&1
}

# eng_cg_dir PID CONTROLLER — PID's cgroup directory on the host for a v1
# CONTROLLER, or in the cgroup2 hierarchy when no v1 hierarchy has it
eng_cg_dir() {
  local pid=$1 c=$2 mp rel
  mp=$(awk -v c="$c" '{ for (i = 7; i <= NF && $i != "-"; i++) ;
        if ($(i+1) != "cgroup") next
        n = split($(i+3), o, ","); for (k = 1; k <= n; k++) if (o[k] == c) { print $5; exit } }' \
    /proc/self/mountinfo)
  if [ -n "$mp" ]; then
    rel=$(awk -F: -v c="$c" '{ n = split($2, o, ","); for (k = 1; k <= n; k++) if (o[k] == c) { print $3; exit } }' \
      "/proc/$pid/cgroup")
  else
    mp=$(awk '{ for (i = 7; i <= NF && $i != "-"; i++) ; if ($(i+1) == "cgroup2") { print $5; exit } }' \
      /proc/self/mountinfo)
    rel=$(awk -F: '$1 == "0" { print $3; exit }' "/proc/$pid/cgroup")
  fi
  [ "$rel" = / ] && rel=""
  echo "$mp$rel"
}

# eng_cg_v1 CONTROLLER — a v1 hierarchy has CONTROLLER
eng_cg_v1() {
  awk -v c="$1" '{ for (i = 7; i <= NF && $i != "-"; i++) ; if ($(i+1) != "cgroup") next
    n = split($(i+3), o, ","); for (k = 1; k <= n; k++) if (o[k] == c) f = 1 } END { exit !f }' \
    /proc/self/mountinfo
}

# eng_memory_limit PID — the memory limit of PID's cgroup, in bytes
eng_memory_limit() {
  if eng_cg_v1 memory; then cat "$(eng_cg_dir "$1" memory)/memory.limit_in_bytes"
  else cat "$(eng_cg_dir "$1" memory)/memory.max"; fi
}

# ---------------------------------------------------------------- podman

# podman_setup — skip without podman; private storage in $PD, the busybox
# image imported as $ENG_IMAGE; PRUN: the `podman run` options every test
# uses.
podman_setup() {
  command -v podman >/dev/null 2>&1 || skip "podman is not installed (scripts/setup installs it)"
  command -v conmon >/dev/null 2>&1 || skip "conmon is not installed (podman needs it)"
  PD=$T/podman
  # podman refuses a runroot longer than 50 characters: a short one in /tmp
  PR=/tmp/$ID-podrun
  mkdir -p "$PD/tmp" "$PR"
  eng_trap
  eng_hide /var/lib/containers /run/containers
  # This machine withholds CAP_SYS_RESOURCE: podman's default rlimits
  # (nofile, nproc 1048576+) would raise hard limits and fail; ask for low
  # ones. Containers go under a cgroup parent named after the test.
  PRUN=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024
        --cgroup-parent "/$ID-podman")
  local img
  img=$(tar -C "$BUNDLE/rootfs" -c . | P import -q - "$ENG_IMAGE" 2>"$T/import.err") ||
    fail "podman import failed: $(cat "$T/import.err")"
  log "imported $img"
}

# P ARGS... — podman with this test's storage and the runtime under test
P() {
  log "+ podman $*"
  TMPDIR=$PD/tmp timeout -k 5 "$RT_TIMEOUT" podman --root "$PD/root" --runroot "$PR" \
    --tmpdir "$PD/tmp" --network-config-dir "$PD/net" --cgroup-manager cgroupfs \
    --events-backend file --runtime "$(eng_runtime)" "$@"
}

# pod_pid NAME — the host pid of a podman container's process 1
pod_pid() { P inspect "$1" --format '{{.State.Pid}}' 2>/dev/null; }

# pod_status NAME — podman's status word (running, paused, exited...)
pod_status() { P inspect "$1" --format '{{.State.Status}}' 2>/dev/null; }
_pod_status_is() { [ "$(pod_status "$1")" = "$2" ]; }

# pod_tty OUTVAR INPUT PODMAN-RUN-ARGS... — `podman run -it ...` on a pty
# made by script(1), INPUT typed into it; sets RC and OUT (CRs removed)
pod_tty() {
  local input=$1; shift
  local cmd q
  cmd="TMPDIR=$(printf %q "$PD/tmp") podman --root $(printf %q "$PD/root") --runroot $(printf %q "$PR")"
  cmd+=" --tmpdir $(printf %q "$PD/tmp") --network-config-dir $(printf %q "$PD/net")"
  cmd+=" --cgroup-manager cgroupfs --events-backend file --runtime $(printf %q "$(eng_runtime)") run -it"
  for q in "$@"; do cmd+=" $(printf %q "$q")"; done
  log "+ script -qec '$cmd'"
  # stdin stays open until the end: at an early end of input podman may
  # miss the container's output (seen with runc too, ~1 run in 20)
  local fd ipid
  exec {fd}< <(printf '%s' "$input"; exec sleep 90)
  ipid=$!
  echo "$ipid $(cut -d' ' -f22 /proc/$ipid/stat 2>/dev/null)" >>"$T/.bgpids"
  OUT=$(timeout -k 5 60 script -qec "stty rows 37 cols 101; $cmd" /dev/null <&"$fd" 2>&1)
  RC=$?
  kill "$ipid" 2>/dev/null
  exec {fd}<&-
  # (a NUL that script(1) passes on is echoed back as "^@")
  OUT=$(printf '%s' "$OUT" | tr -d '\r\0' | sed 's/\^@//g')
  log "  rc=$RC"; log "  output: ${OUT:0:2000}"
}

test_podman_run_output_and_exit_code() {
  podman_setup
  must P run --rm "${PRUN[@]}" "$ENG_IMAGE" sh -c 'echo hello-from-podman; echo to-stderr >&2'
  assert_out "hello-from-podman"
  assert_contains "$ERR" "to-stderr" "stderr"
  try P run --rm "${PRUN[@]}" "$ENG_IMAGE" sh -c 'echo before-exit; exit 3'
  assert_rc 3
  assert_out "before-exit"
  # the image's environment and the process's view: pid 1, own hostname
  must P run --rm "${PRUN[@]}" --hostname pod-host "$ENG_IMAGE" sh -c 'echo $$ $(hostname) $PATH'
  assert_out "1 pod-host /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  # --rm removed the containers, in podman and in the runtime
  must P ps -aq
  assert_out ""
  eng_assert_no_state
}

test_podman_detached_lifecycle() {
  podman_setup
  must P run -d --name c1 "${PRUN[@]}" "$ENG_IMAGE" \
    sh -c 'echo started; trap "echo got-term; exit 7" TERM; while :; do sleep 0.1; done'
  must P ps --format '{{.Names}} {{.Status}}'
  assert_match "$OUT" '(^|
)c1 Up' "podman ps"
  poll 10 eval '[ "$(P logs c1 2>/dev/null)" = started ]' || fail "podman logs c1: '$(P logs c1 2>&1)'"
  # exec: output, exit code, same namespaces as the container
  try P exec c1 sh -c 'echo in-exec; readlink /proc/1/ns/pid; readlink /proc/self/ns/pid; exit 5'
  assert_rc 5
  local lines; mapfile -t lines <<<"$OUT"
  assert_eq in-exec "${lines[0]}" "exec output"
  assert_eq "${lines[1]}" "${lines[2]}" "exec's pid namespace vs the container's"
  must P exec c1 cat /proc/1/cmdline
  assert_contains "$OUT" "started" "pid 1 seen by exec"
  # stop: TERM (the container's trap runs) well before the 20 s timeout
  local t0=$SECONDS
  must P stop -t 20 c1
  [ $((SECONDS - t0)) -lt 15 ] || fail "podman stop took $((SECONDS - t0)) s: TERM did not stop it"
  must P inspect c1 --format '{{.State.Status}} {{.State.ExitCode}}'
  assert_out "exited 7"
  must P logs c1
  assert_out "started
got-term"
  must P rm c1
  must P ps -aq
  assert_out ""
  eng_assert_no_state
}

test_podman_kill() {
  podman_setup
  must P run -d --name k1 "${PRUN[@]}" "$ENG_IMAGE" \
    sh -c 'trap "echo got-usr1" USR1; trap "echo got-term; exit 9" TERM; echo ready; while :; do sleep 0.1; done'
  poll 10 eval 'P logs k1 2>/dev/null | grep -q ready' || fail "k1 did not start"
  # a signal the container handles and survives
  must P kill -s USR1 k1
  poll 10 eval 'P logs k1 2>/dev/null | grep -q got-usr1' || fail "USR1 not delivered: $(P logs k1 2>&1)"
  assert_eq running "$(pod_status k1)" "status after USR1"
  must P kill -s TERM k1
  must P wait k1
  assert_out 9
  must P logs k1
  assert_contains "$OUT" "got-term"
  # default signal: KILL
  must P run -d --name k2 "${PRUN[@]}" "$ENG_IMAGE" sleep 600
  must P kill k2
  must P wait k2
  assert_out 137
  must P rm k1 k2
  eng_assert_no_state
}

test_podman_run_tty() {
  podman_setup
  command -v script >/dev/null 2>&1 || skip "script(1) is missing (util-linux)"
  pod_tty "" --rm "${PRUN[@]}" "$ENG_IMAGE" \
    sh -c 'tty; for f in 0 1 2; do [ -t $f ] && echo fd$f-tty; done; stty size; exit 4'
  assert_rc 4
  assert_match "$OUT" '(^|
)/dev/pts/[0-9]+
' "tty output"
  assert_contains "$OUT" "fd0-tty
fd1-tty
fd2-tty
37 101" "tty output"
  # input typed on the terminal reaches the container
  pod_tty $'typed-line\n' --rm "${PRUN[@]}" "$ENG_IMAGE" sh -c 'read l; echo "got:$l"'
  assert_rc 0
  assert_contains "$OUT" "got:typed-line" "tty output"
  must P ps -aq
  assert_out ""
  eng_assert_no_state
}

test_podman_memory() {
  podman_setup
  must P run -d --name m1 --memory 32m "${PRUN[@]}" "$ENG_IMAGE" sleep 600
  local pid; pid=$(pod_pid m1)
  assert_int_gt "$pid" 0 "pid of m1"
  assert_eq 33554432 "$(eng_memory_limit "$pid")" "memory limit of m1's cgroup"
  must P rm -f -t 0 m1
  # enforced: a 128 MiB buffer gets its process killed, a 4 MiB one not
  must P run --rm --memory 32m "${PRUN[@]}" "$ENG_IMAGE" sh -c \
    'dd if=/dev/zero of=/dev/null bs=4M count=1 2>/dev/null; echo small=$?;
     dd if=/dev/zero of=/dev/null bs=128M count=1 2>/dev/null; echo big=$?'
  assert_contains "$OUT" "small=0" "small allocation"
  assert_contains "$OUT" "big=137" "allocation over the limit (OOM kill)"
}

test_podman_pids_limit() {
  podman_setup
  must P run -d --name p1 --pids-limit 20 "${PRUN[@]}" "$ENG_IMAGE" sleep 600
  local pid; pid=$(pod_pid p1)
  assert_int_gt "$pid" 0 "pid of p1"
  assert_eq 20 "$(cat "$(eng_cg_dir "$pid" pids)/pids.max")" "pids.max of p1's cgroup"
  must P rm -f -t 0 p1
  local loop='i=0; while [ $i -lt 40 ]; do sleep 5 & i=$((i+1)); done; echo all-forked'
  try P run --rm --pids-limit 20 "${PRUN[@]}" "$ENG_IMAGE" sh -c "$loop"
  assert_ne 0 "$RC" "exit code of 40 forks under --pids-limit 20"
  assert_not_contains "$OUT" "all-forked"
  assert_contains "$ERR" "can't fork" "stderr"
  must P run --rm --pids-limit 100 "${PRUN[@]}" "$ENG_IMAGE" sh -c "$loop"
  assert_out "all-forked"
}

test_podman_cpus() {
  podman_setup
  must P run -d --name q1 --cpus 0.5 "${PRUN[@]}" "$ENG_IMAGE" sleep 600
  local pid d; pid=$(pod_pid q1)
  assert_int_gt "$pid" 0 "pid of q1"
  d=$(eng_cg_dir "$pid" cpu)
  if eng_cg_v1 cpu; then
    assert_eq "50000 100000" "$(cat "$d/cpu.cfs_quota_us") $(cat "$d/cpu.cfs_period_us")" "CFS quota and period"
  else
    assert_eq "50000 100000" "$(cat "$d/cpu.max")" "cpu.max"
  fi
  # enforced, on an exec'd process too: a busy loop gets throttled
  try P exec q1 timeout 0.6 sh -c 'while :; do :; done'
  local thr; thr=$(awk '$1 == "nr_throttled" { print $2 }' "$d/cpu.stat")
  assert_int_gt "$thr" 0 "nr_throttled after a busy loop"
  must P rm -f -t 0 q1
}

test_podman_update() {
  podman_setup
  must P run -d --name u1 --memory 32m "${PRUN[@]}" "$ENG_IMAGE" sleep 600
  local pid; pid=$(pod_pid u1)
  assert_int_gt "$pid" 0 "pid of u1"
  must P update --memory 64m --cpus 0.25 u1
  assert_eq 67108864 "$(eng_memory_limit "$pid")" "memory limit after podman update"
  local d; d=$(eng_cg_dir "$pid" cpu)
  if eng_cg_v1 cpu; then
    assert_eq 25000 "$(cat "$d/cpu.cfs_quota_us")" "CFS quota after podman update"
  else
    assert_eq "25000 100000" "$(cat "$d/cpu.max")" "cpu.max after podman update"
  fi
  must P rm -f -t 0 u1
}

test_podman_pause_unpause() {
  podman_setup
  # the container prints a counter every 50 ms
  must P run -d --name z1 "${PRUN[@]}" "$ENG_IMAGE" \
    sh -c 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done'
  poll 10 eval '[ "$(P logs z1 2>/dev/null | wc -l)" -gt 2 ]' || fail "z1 prints nothing"
  must P pause z1
  assert_eq paused "$(pod_status z1)" "status after pause"
  local a b
  a=$(P logs z1 2>/dev/null | wc -l)
  sleep 0.5
  b=$(P logs z1 2>/dev/null | wc -l)
  # one line may still be in flight when the freeze lands
  [ "$b" -le $((a + 1)) ] || fail "the paused container went on printing: $a lines, then $b"
  must P unpause z1
  assert_eq running "$(pod_status z1)" "status after unpause"
  poll 10 eval '[ "$(P logs z1 2>/dev/null | wc -l)" -gt $((b + 2)) ]' ||
    fail "z1 did not go on after unpause"
  must P exec z1 echo exec-after-unpause
  assert_out exec-after-unpause
  must P rm -f -t 0 z1
  eng_assert_no_state
}

test_podman_annotation_isolation() {
  podman_setup
  try P run --rm --annotation org.hull.isolation=process "${PRUN[@]}" "$ENG_IMAGE" \
    sh -c 'echo isolated-by-annotation; readlink /proc/self/ns/pid; exit 6'
  assert_rc 6
  local lines; mapfile -t lines <<<"$OUT"
  assert_eq isolated-by-annotation "${lines[0]}" "output"
  assert_ne "$(readlink /proc/self/ns/pid)" "${lines[1]}" "the container's pid namespace"
  if [ "${IS_HULL:-0}" = 1 ]; then
    # hull reads the annotation: an unknown isolation is refused by name
    assert_fails "org.hull.isolation" P run --rm --annotation org.hull.isolation=bogus \
      "${PRUN[@]}" "$ENG_IMAGE" true
    assert_rc 126
  fi
  must P ps -aq
  assert_out ""
  eng_assert_no_state
}

test_podman_annotation_vm() {
  [ "${IS_HULL:-0}" = 1 ] || skip "hull's annotation"
  podman_setup
  ENG_PLAIN=1
  try P run --rm --annotation org.hull.isolation=vm "${PRUN[@]}" "$ENG_IMAGE" \
    sh -c 'uname -r; exit 6'
  assert_rc 6
  assert_ne "$(uname -r)" "$OUT" "kernel release: the container runs in a VM"
  must P ps -aq
  assert_out ""
  eng_assert_no_state
}

test_podman_network_host_and_none() {
  podman_setup
  local opts=("${PRUN[@]:2}")  # PRUN without "--network none"
  must P run --rm --network host "${opts[@]}" "$ENG_IMAGE" readlink /proc/self/ns/net
  assert_out "$(readlink /proc/self/ns/net)"
  must P run --rm --network none "${opts[@]}" "$ENG_IMAGE" sh -c 'readlink /proc/self/ns/net; ls /sys/class/net'
  local lines; mapfile -t lines <<<"$OUT"
  assert_ne "$(readlink /proc/self/ns/net)" "${lines[0]}" "network namespace with --network none"
  assert_eq "lo" "${lines[*]:1}" "interfaces with --network none"
}

# podman's own bridge network (netavark or CNI) set up the namespace; the
# container, in either isolation, answers at the address podman gave it
test_podman_bridge_network() {
  podman_setup
  local opts=("${PRUN[@]:2}")  # PRUN without "--network none"
  must P run -d --name web "${opts[@]}" "$ENG_IMAGE" httpd -f -p 8080 -h /etc
  local ip
  ip=$(P inspect web --format '{{.NetworkSettings.IPAddress}}')
  assert_match "$ip" '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' "podman's address for the container"
  wait_for 60 curl -sf --noproxy '*' -m 3 -o "$T/got" "http://$ip:8080/hostname"
  assert_eq "$(P inspect web --format '{{.Config.Hostname}}')" "$(cat "$T/got")" \
    "the container's /etc/hostname, served from its address"
  must P rm -f -t 0 web
}

# ---------------------------------------------------------------- containerd

# ctd_setup — skip without containerd/ctr; start containerd on its own
# config under $CTD (socket $CTD/containerd.sock), import the image
# (docker-archive made by engines/mkimage); CRUN: the `ctr run` options for
# the runtime under test (runc v2 shim, --runc-binary, runtime root in $CTD)
ctd_setup() {
  command -v containerd >/dev/null 2>&1 || skip "containerd is not installed (scripts/setup installs it)"
  command -v ctr >/dev/null 2>&1 || skip "ctr is not installed (package containerd)"
  command -v containerd-shim-runc-v2 >/dev/null 2>&1 || skip "containerd-shim-runc-v2 is not installed"
  CTD=$T/ctd
  mkdir -p "$CTD/tmp"
  eng_trap
  eng_hide /run/containerd
  cat >"$CTD/config.toml" <<EOF
version = 2
root = "$CTD/root"
state = "$CTD/state"
temp = "$CTD/tmp"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CTD/containerd.sock"
[ttrpc]
  address = "$CTD/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF
  bg containerd containerd --config "$CTD/config.toml"
  CTD_PID=$BGPID
  poll 20 X version || fail "containerd did not answer on $CTD/containerd.sock: $(tail -5 "$T/containerd.err")"
  "$ENG_DIR/mkimage" "$BUNDLE/rootfs" "$T/busybox.tar" "$ENG_IMAGE" 2>&1 >&"${LOG_FD:-2}" ||
    fail "mkimage failed"
  must X images import "$T/busybox.tar"
  CRUN=(--runtime io.containerd.runc.v2 --runc-binary "$(eng_runtime)" --runc-root "$CTD/rt")
}

# X ARGS... — ctr on this test's containerd
X() {
  log "+ ctr $*"
  timeout -k 5 "$RT_TIMEOUT" ctr -a "$CTD/containerd.sock" "$@"
}

# ctd_cgroup NAME — the cgroup path given to ctr run (named after the test)
ctd_cgroup() { echo "/$ID-ctd/$1"; }

# ctd_status ID — the task's status word (RUNNING, PAUSED, STOPPED)
ctd_status() { X task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'; }
_ctd_status_is() { [ "$(ctd_status "$1")" = "$2" ]; }

test_containerd_run() {
  ctd_setup
  must X run --rm "${CRUN[@]}" --cgroup "$(ctd_cgroup r1)" "$ENG_IMAGE" r1 \
    sh -c 'echo hello-from-ctr; echo to-stderr >&2; echo $$'
  assert_out "hello-from-ctr
1"
  assert_contains "$ERR" "to-stderr" "stderr"
  try X run --rm "${CRUN[@]}" --cgroup "$(ctd_cgroup r2)" "$ENG_IMAGE" r2 sh -c 'echo bye; exit 3'
  assert_rc 3
  assert_out "bye"
  must X containers ls -q
  assert_out ""
  eng_assert_no_state --root "$CTD/rt/default"
}

test_containerd_detached_exec_kill() {
  ctd_setup
  must X run -d "${CRUN[@]}" --cgroup "$(ctd_cgroup d1)" --log-uri "file://$T/d1.log" "$ENG_IMAGE" d1 \
    sh -c 'trap "echo got-term; exit 9" TERM; echo ready; while :; do sleep 0.1; done'
  poll 10 grep -q ready "$T/d1.log" || fail "d1 did not start: $(cat "$T/d1.log" 2>&1)"
  assert_eq RUNNING "$(ctd_status d1)" "task status"
  try X task exec --exec-id e1 d1 sh -c 'echo in-exec; readlink /proc/1/ns/mnt; readlink /proc/self/ns/mnt; exit 4'
  assert_rc 4
  local lines; mapfile -t lines <<<"$OUT"
  assert_eq in-exec "${lines[0]}" "exec output"
  assert_eq "${lines[1]}" "${lines[2]}" "exec's mount namespace vs the container's"
  must X task ps d1
  assert_eq 2 "$(printf '%s\n' "$OUT" | grep -cE '^[0-9]+ ')" "processes in ctr task ps (sh, sleep)"
  must X task pause d1
  assert_eq PAUSED "$(ctd_status d1)" "status after pause"
  must X task resume d1
  assert_eq RUNNING "$(ctd_status d1)" "status after resume"
  must X task kill d1
  poll 10 _ctd_status_is d1 STOPPED || fail "d1: status '$(ctd_status d1)' after kill, expected STOPPED"
  assert_contains "$(cat "$T/d1.log")" "got-term" "d1's output"
  must X task delete d1
  assert_contains "$ERR" "exit code 9" "ctr task delete"
  must X containers delete d1
  must X containers ls -q
  assert_out ""
  eng_assert_no_state --root "$CTD/rt/default"
  # the shim is gone (its command line names our socket)
  poll 10 eval '[ -z "$(eng_pids_under "$CTD/containerd.sock -")" ]' ||
    fail "shim still running: $(eng_pids_under "$CTD/containerd.sock -")"

  # KILL of a task that ignores TERM (sleep as pid 1)
  must X run -d "${CRUN[@]}" --cgroup "$(ctd_cgroup d2)" "$ENG_IMAGE" d2 sleep 600
  must X task kill -s KILL d2
  poll 10 _ctd_status_is d2 STOPPED || fail "d2: status '$(ctd_status d2)' after kill -s KILL"
  must X task delete d2
  must X containers delete d2
  eng_assert_no_state --root "$CTD/rt/default"
}

test_containerd_tty() {
  ctd_setup
  command -v script >/dev/null 2>&1 || skip "script(1) is missing (util-linux)"
  local cmd q
  cmd="ctr -a $(printf %q "$CTD/containerd.sock") run --rm -t"
  for q in "${CRUN[@]}" --cgroup "$(ctd_cgroup t1)" "$ENG_IMAGE" t1 \
    sh -c 'tty; [ -t 0 ] && echo fd0-tty; exit 5'; do cmd+=" $(printf %q "$q")"; done
  log "+ script -qec '$cmd'"
  local fd ipid
  exec {fd}< <(exec sleep 90)
  ipid=$!
  echo "$ipid $(cut -d' ' -f22 /proc/$ipid/stat 2>/dev/null)" >>"$T/.bgpids"
  OUT=$(timeout -k 5 60 script -qec "$cmd" /dev/null <&"$fd" 2>&1)
  RC=$?
  kill "$ipid" 2>/dev/null
  exec {fd}<&-
  # (a NUL that script(1) passes on is echoed back as "^@")
  OUT=$(printf '%s' "$OUT" | tr -d '\r\0' | sed 's/\^@//g')
  log "  rc=$RC"; log "  output: $OUT"
  assert_rc 5
  assert_match "$OUT" '/dev/pts/[0-9]+
fd0-tty' "tty output"
  eng_assert_no_state --root "$CTD/rt/default"
}

test_containerd_memory_limit() {
  ctd_setup
  must X run -d "${CRUN[@]}" --cgroup "$(ctd_cgroup l1)" --memory-limit 33554432 "$ENG_IMAGE" l1 sleep 600
  local pid; pid=$(X task ls 2>/dev/null | awk '$1 == "l1" { print $2 }')
  assert_int_gt "$pid" 0 "pid of l1"
  assert_eq 33554432 "$(eng_memory_limit "$pid")" "memory limit of l1's cgroup"
  assert_contains "$(cat /proc/"$pid"/cgroup)" "/$ID-ctd/l1" "l1's cgroup"
  must X task kill -s KILL l1
  poll 10 _ctd_status_is l1 STOPPED || fail "l1 did not stop"
  must X task delete l1
  must X containers delete l1
}
