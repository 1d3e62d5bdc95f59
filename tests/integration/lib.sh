# tests/integration/lib.sh — helpers for the integration tests (bash).
#
# Sourced by tests/integration/run, once per test, in a fresh bash process.
# The runner sets, before a test function is called:
#   RUNTIME    absolute path of the runtime under test
#   ISOLATION  process|vm (passed as --isolation= to hull-runtime only)
#   IS_HULL    1 when RUNTIME is hull-runtime (knows --isolation), else 0
#   T          this test's private scratch directory (deleted afterwards)
#   STATE      the runtime's --root for this test (under T)
#   BUNDLE     a fresh bundle: $BUNDLE/rootfs (busybox), $BUNDLE/config.json
#              (tests/lib/config.json with process.args = ["sh"])
#   ID         a container id unique to this test (newid makes more)
#
# Conventions: helpers never abort on a failing command unless their name
# says so (must, assert_*); `fail` ends the test, `skip` skips it.
# Every runtime call goes through `rt`, which is time-limited.

: "${RT_TIMEOUT:=60}"
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
RT_NAME=$(basename "${RUNTIME:-hull-runtime}")
LIB_DIR=${LIB_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
MKBUNDLE=${MKBUNDLE:-$(cd "$LIB_DIR/../lib" && pwd)/mkbundle}
IT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# ---------------------------------------------------------------- basics

# log MESSAGE — to the test's log (fd LOG_FD, opened by the runner), never
# into a command's captured stderr.
log() { printf '%s\n' "$*" >&"${LOG_FD:-2}"; }

# fail MESSAGE — the test fails here (with the caller's file:line).
fail() {
  local where="${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}"
  if [ "${FUNCNAME[1]:-}" != "" ] && [[ "${FUNCNAME[1]}" == assert_* || "${FUNCNAME[1]}" == must* || "${FUNCNAME[1]}" == wait_* ]]; then
    where="${BASH_SOURCE[2]##*/}:${BASH_LINENO[1]}"
  fi
  log "FAIL at $where: $*"
  exit 1
}

# skip REASON — the test does not apply here.
skip() { log "SKIP: $*"; exit 77; }

# process_only TEST... — declared at file level: these tests only run with
# ISOLATION=process (they look at host-side kernel objects).
PROCESS_ONLY=${PROCESS_ONLY:-}
process_only() { PROCESS_ONLY="$PROCESS_ONLY $*"; }

# runs_in_vm — declared at file level: the file's tests (but process_only
# ones) run under ISOLATION=vm too. Each VM test boots a guest (seconds
# under emulation), so only files whose behaviour must hold in a VM opt in.
# vm_only TEST... — these tests run with ISOLATION=vm only.
FILE_VM=${FILE_VM:-0}
VM_ONLY=${VM_ONLY:-}
runs_in_vm() { FILE_VM=1; }
vm_only() { VM_ONLY="$VM_ONLY $*"; }

# known_quirk NAME REASON — true (and logged) when the runtime under test
# is the reference runtime NAME (runc, crun), whose known deviation from
# runc/spec behaviour makes the next check not apply:
#   known_quirk crun "accepts relative cwd" || assert_fails ...
known_quirk() { [ "$RT_NAME" = "$1" ] || return 1; log "known $1 deviation, not checked: $2"; }

# ---------------------------------------------------------------- runtime

# rt ARGS... — the runtime under test with this test's state root.
rt() {
  local iso=()
  [ "${IS_HULL:-0}" = 1 ] && iso=("--isolation=$ISOLATION")
  log "+ rt $*"
  timeout -k 5 "$RT_TIMEOUT" "$RUNTIME" --root "$STATE" "${iso[@]}" "$@"
}

# rt_bin BINARY ARGS... — like rt, with another runtime binary (a copy).
rt_bin() {
  local bin=$1; shift
  local iso=()
  [ "${IS_HULL:-0}" = 1 ] && iso=("--isolation=$ISOLATION")
  log "+ $bin $*"
  timeout -k 5 "$RT_TIMEOUT" "$bin" --root "$STATE" "${iso[@]}" "$@"
}

# newid — prints a fresh container id (unique across the whole suite run;
# works inside $(...) too: the counter lives in a file).
newid() {
  local n
  n=$(($(cat "$T/.idn" 2>/dev/null || echo 0) + 1))
  echo "$n" >"$T/.idn"
  printf '%s-%d\n' "$ID" "$n"
}

# ---------------------------------------------------------------- running

# try CMD... — run CMD (stdin /dev/null), never fail; sets RC, OUT, ERR.
try() {
  "$@" >"$T/.out" 2>"$T/.err" </dev/null
  RC=$?
  OUT=$(tr -d '\0' <"$T/.out"); ERR=$(tr -d '\0' <"$T/.err")
  log "  rc=$RC"
  [ -z "$OUT" ] || log "  stdout: $(head -c 2000 "$T/.out" | tr -d '\0')"
  [ -z "$ERR" ] || log "  stderr: $(head -c 2000 "$T/.err" | tr -d '\0')"
  return 0
}

# must CMD... — run CMD, fail the test unless it exits 0; sets RC, OUT, ERR.
must() {
  try "$@"
  [ "$RC" -eq 0 ] || fail "command failed (exit $RC): $* -- ${ERR:0:600}"
}

# run_in ARGS... — set process.args, `rt run` a fresh container; RC/OUT/ERR.
run_in() {
  set_args "$@"
  CID=$(newid)
  try rt run --bundle "$BUNDLE" "$CID"
}

# bg NAME CMD... — start CMD in the background, stdout/stderr to
# $T/NAME.out / $T/NAME.err; BGPID is its pid (the runner kills leftovers).
bg() {
  local name=$1; shift
  log "+ bg $name: $*"
  "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null &
  BGPID=$!
  echo "$BGPID $(cut -d' ' -f22 /proc/$BGPID/stat 2>/dev/null)" >>"$T/.bgpids"
}

# bg_wait PID [SECS] — wait for a background job; sets RC (124 if it did
# not end in time; it is then killed).
bg_wait() {
  local pid=$1 secs=${2:-30} i=0 n
  n=$((secs * 20))
  while kill -0 "$pid" 2>/dev/null; do
    # a zombie child of ours still answers kill -0: check its state
    [ "$(cut -d' ' -f3 /proc/"$pid"/stat 2>/dev/null)" = Z ] && break
    i=$((i + 1))
    if [ "$i" -ge "$n" ]; then kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; RC=124; return 0; fi
    sleep 0.05
  done
  wait "$pid"; RC=$?
}

# wait_for SECS CMD... — poll CMD until it succeeds; fail after SECS.
wait_for() {
  local secs=$1; shift
  local n=$((secs * 20)) i=0
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -lt "$n" ] || fail "timed out after ${secs}s waiting for: $*"
    sleep 0.05
  done
}

# poll SECS CMD... — like wait_for but returns 1 instead of failing.
poll() {
  local secs=$1; shift
  local n=$((secs * 20)) i=0
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1)); [ "$i" -lt "$n" ] || return 1
    sleep 0.05
  done
}

# ---------------------------------------------------------------- state

# status_of ID — prints the container's status ("" if state fails).
status_of() { rt state "$1" 2>/dev/null | jq -r .status 2>/dev/null; }
# pid_of ID — prints the container's pid from state.
pid_of() { rt state "$1" 2>/dev/null | jq -r .pid 2>/dev/null; }

_status_is() { [ "$(status_of "$1")" = "$2" ]; }
# wait_status ID STATUS [SECS] — poll `state` until STATUS.
wait_status() {
  local id=$1 want=$2 secs=${3:-10}
  poll "$secs" _status_is "$id" "$want" ||
    fail "container $id: status '$(status_of "$id")', expected '$want' within ${secs}s"
}

# assert_status ID STATUS
assert_status() {
  local got; got=$(status_of "$1")
  [ "$got" = "$2" ] || fail "container $1: status '$got', expected '$2'"
}

# assert_no_leftovers — `list` shows no container and the state root has
# no entry (after a failed create/run).
assert_no_leftovers() {
  local l
  l=$(rt list -q 2>/dev/null | grep -v '^$')
  [ -z "$l" ] || fail "leftover container(s) in list: $l"
  if [ -d "$STATE" ]; then
    l=$(ls -A "$STATE")
    [ -z "$l" ] || fail "leftover entries in state dir $STATE: $l"
  fi
}

# ---------------------------------------------------------------- bundles

# new_bundle DIR [ARGS...] — another fresh bundle.
new_bundle() { "$MKBUNDLE" "$@" >&"${LOG_FD:-2}" 2>&1 || fail "mkbundle $1 failed"; }

# cfg [-b BUNDLE] JQ-FILTER [JQ-ARGS...] — edit config.json in place.
cfg() {
  local b=$BUNDLE
  if [ "$1" = -b ]; then b=$2; shift 2; fi
  local f=$1; shift
  jq "$f" "$@" <"$b/config.json" >"$b/config.json.new" || fail "jq edit failed: $f"
  mv "$b/config.json.new" "$b/config.json"
}

# set_args ARGS... — process.args of $BUNDLE.
set_args() { cfg '.process.args = $ARGS.positional' --args -- "$@"; }

# add_mount DEST TYPE SOURCE [OPTION...]
add_mount() {
  local dest=$1 type=$2 src=$3; shift 3
  cfg '.mounts += [{destination: $d, type: $t, source: $s, options: $ARGS.positional}]' \
    --arg d "$dest" --arg t "$type" --arg s "$src" --args -- "$@"
}

# share [DEST] [ro|rw] — bind-mount a fresh host dir $T/share (SHARE) at
# DEST (default /share) in the container.
share() {
  local dest=${1:-/share} mode=${2:-rw}
  SHARE=$T/share
  mkdir -p "$SHARE"; chmod 777 "$SHARE"
  add_mount "$dest" bind "$SHARE" rbind "$mode"
}

# cfg_userns — add a user namespace mapping container 0..65535 to host
# 100000..165535, and make the bundle readable by that range.
cfg_userns() {
  cfg '.linux.namespaces += [{type: "user"}]
       | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
       | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
}

# ---------------------------------------------------------------- asserts

assert_eq() { # EXPECTED ACTUAL [WHAT]
  [ "$1" = "$2" ] || fail "${3:-value}: expected '$1', got '$2'"
}
assert_ne() { # UNEXPECTED ACTUAL [WHAT]
  [ "$1" != "$2" ] || fail "${3:-value}: expected anything but '$1'"
}
assert_contains() { # HAYSTACK NEEDLE [WHAT]
  case "$1" in *"$2"*) ;; *) fail "${3:-output} does not contain '$2': '${1:0:800}'" ;; esac
}
assert_not_contains() { # HAYSTACK NEEDLE [WHAT]
  case "$1" in *"$2"*) fail "${3:-output} contains '$2': '${1:0:800}'" ;; esac
}
assert_match() { # STRING ERE [WHAT]
  [[ "$1" =~ $2 ]] || fail "${3:-value} '${1:0:800}' does not match /$2/"
}
assert_rc() { # EXPECTED — exit code of the last try/run_in
  [ "$RC" -eq "$1" ] || fail "exit code $RC, expected $1 (stderr: ${ERR:0:600})"
}
assert_ok() { [ "$RC" -eq 0 ] || fail "exit code $RC, expected 0 (stderr: ${ERR:0:600})"; }
assert_out() { # EXPECTED — stdout of the last try/run_in, exactly
  [ "$OUT" = "$1" ] || fail "stdout: expected '$1', got '${OUT:0:800}' (stderr: ${ERR:0:400})"
}
assert_file() { [ -e "$1" ] || fail "file $1 does not exist"; }
assert_no_file() { [ ! -e "$1" ] || fail "file $1 exists"; }
assert_int_gt() { # VALUE MIN [WHAT]
  [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -gt "$2" ] || fail "${3:-value} '$1' is not an integer > $2"
}

# assert_fails SUBSTRING CMD... — CMD must exit non-zero (not by timeout)
# and its stdout+stderr must contain SUBSTRING (case-insensitive; "" = any).
assert_fails() {
  local want=$1; shift
  try "$@"
  [ "$RC" -ne 0 ] || fail "expected failure, but succeeded: $*"
  [ "$RC" -ne 124 ] && [ "$RC" -ne 137 ] || fail "timed out instead of failing: $*"
  if [ -n "$want" ]; then
    local all="${OUT}${ERR}"
    [[ "${all,,}" == *"${want,,}"* ]] ||
      fail "error message of '$*' does not mention '$want': ${all:0:600}"
  fi
}

# assert_json_expr JSON JQ-EXPR [WHAT] — JQ-EXPR must evaluate to true.
assert_json() {
  local v
  v=$(printf '%s' "$1" | jq -e "$2" 2>&1) || fail "${3:-JSON} fails check '$2' (got ${v:0:200}): ${1:0:800}"
}

# ---------------------------------------------------------------- misc

# pid_dead PID — the process is gone or a zombie.
pid_dead() {
  local st
  st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 0
  [ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}

# host_ns PID NS — the host's view of a process's namespace link.
host_ns() { readlink "/proc/$1/ns/$2"; }

# sha FILE
sha() { sha256sum "$1" | cut -d' ' -f1; }

# console_recv NAME SOCKET [STOP-STRING] — background receiver of a pty
# master on SOCKET; its output (CR removed) goes to $T/NAME.tty.
console_recv() {
  local name=$1 sock=$2 stop=${3:-}
  bg "$name" "$PYTHON" "$LIB_DIR/console-recv.py" "$sock" "$T/$name.tty" "$stop"
  wait_for 10 test -S "$sock"
}
