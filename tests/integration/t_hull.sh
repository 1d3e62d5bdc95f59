# t_hull.sh — the engine: `hull run/create/start/ps/exec/logs/stop/kill/rm/
# wait/inspect/attach/container/volume/system` over a busybox image made
# with `hull import`. The store is $T/store, the runtime state $STATE (so
# the runner's cleanup also ends what a failed test leaves running).

runs_in_vm
# Under VM isolation every start boots a guest (1.5-3 s with TCG): the VM
# runs cover run, exit codes, -d/logs/stop, exec, pty and volumes.
process_only test_hull_names test_hull_create_start test_hull_kill \
  test_hull_options test_hull_user_workdir test_hull_seccomp test_hull_inspect_image \
  test_hull_prune_df test_hull_attach test_hull_rm_running test_hull_logs_options \
  test_hull_crashed_monitor test_hull_signal_forward test_hull_stdin \
  test_hull_errors test_hull_concurrent_names test_hull_concurrent_start \
  test_hull_container_subcommands test_hull_image_volumes test_hull_run_killed_then_clean

HULL_BIN=$(dirname "$RUNTIME")/hull

# H ARGS... — hull on the test's private store.
H() { timeout "${RT_TIMEOUT:-60}" "$HULL_BIN" --root "$T/store" --runroot "$STATE" "$@"; }

hull_cleanup() {
  local ids
  ids=$(H ps -aq --no-trunc 2>/dev/null)
  # shellcheck disable=SC2086
  [ -z "$ids" ] || H rm -f $ids >/dev/null 2>&1
}

# hull_setup — the busybox image (Cmd sh) in $T/store; ISO is the
# isolation option for run/create.
hull_setup() {
  [ -x "$HULL_BIN" ] || skip "hull not built"
  [ "$IS_HULL" = 1 ] || skip "hull engine tests need hull-runtime's library"
  trap hull_cleanup EXIT
  "$(dirname "$MKBUNDLE")/mkrootfs" "$T/rootfs" >/dev/null || fail "mkrootfs failed"
  tar -C "$T/rootfs" -cf "$T/rootfs.tar" . || fail "tar failed"
  must H import -c 'CMD ["sh"]' "$T/rootfs.tar" busybox
  ISO="--isolation=$ISOLATION"
}

# state_of NAME — the container's State.Status from inspect.
state_of() { H inspect "$1" 2>/dev/null | jq -r '.[0].State.Status'; }
_state_is() { [ "$(state_of "$1")" = "$2" ]; }

test_hull_run_rm() {
  hull_setup
  try H run --rm $ISO busybox echo hi
  assert_ok
  assert_out hi
  must H ps -aq
  assert_eq "" "$OUT" "containers left after run --rm"
  assert_eq "" "$(ls -A "$T/store/containers" | grep -v '^\.lock$')" "container directories left"
  assert_eq "" "$(ls -A "$STATE" 2>/dev/null)" "runtime state left"
  grep -q "$T/store" /proc/self/mountinfo && fail "a root file system is still mounted"
  return 0
}

test_hull_run_exit_code_streams() {
  hull_setup
  try H run --rm $ISO busybox sh -c 'echo out; echo err >&2; exit 42'
  assert_rc 42
  assert_out out
  assert_eq err "$ERR" stderr
  # without --rm the record stays, with the exit code
  try H run --name keep $ISO busybox false
  assert_rc 1
  must H inspect keep
  assert_json "$OUT" '.[0].State.Status == "exited" and .[0].State.ExitCode == 1'
  assert_json "$OUT" ".[0].Isolation == \"$ISOLATION\""
}

test_hull_detach_ps_logs_stop() {
  hull_setup
  must H run -d --name web $ISO busybox sh -c 'echo started; echo warn >&2; exec sleep 600'
  assert_match "$OUT" '^[0-9a-f]{64}$' "run -d prints the id"
  local id=$OUT
  must H ps
  assert_contains "$OUT" web
  assert_contains "$OUT" "${id:0:12}"
  must H ps --format json
  assert_json "$OUT" '.[0].Names[0] == "web" and .[0].State == "running"'
  wait_for 20 sh -c "'$HULL_BIN' --root '$T/store' --runroot '$STATE' logs web 2>&1 | grep -q warn"
  must H logs web
  assert_eq started "$OUT" "logs stdout"
  assert_eq warn "$ERR" "logs stderr"
  # json-file format, one object per line
  local logpath
  logpath=$(H inspect web | jq -r '.[0].LogPath')
  head -1 "$logpath" | jq -e '.log == "started\n" and .stream == "stdout" and (.time | test("^[0-9-]+T[0-9:.]+Z$"))' >/dev/null ||
    fail "log line not in json-file format: $(head -1 "$logpath")"
  must H stop -t 1 web
  assert_out web
  assert_eq exited "$(state_of web)"
  try H wait web
  assert_rc 137
  assert_out 137
  must H ps -a
  assert_contains "$OUT" "Exited (137)"
  must H ps
  assert_not_contains "$OUT" web
  must H rm web
  must H ps -aq
  assert_eq "" "$OUT"
}

test_hull_exec() {
  hull_setup
  must H run -d --name box $ISO busybox sleep 600
  try H exec box sh -c 'echo in-exec; exit 3'
  assert_rc 3
  assert_out in-exec
  try H exec -e FOO=bar -w /tmp box sh -c 'echo $FOO; pwd'
  assert_ok
  assert_out "bar
/tmp"
  try H exec -u 65534 box id -u
  assert_out 65534
  try H exec -u daemon box id
  assert_contains "$OUT" "uid=1(daemon) gid=1(daemon)"
  try H exec -d box touch /tmp/detached
  assert_ok
  wait_for 20 H exec box test -e /tmp/detached
  H stop -t 0 box >/dev/null
  assert_fails "not running" H exec box true
}

test_hull_tty() {
  hull_setup
  # no terminal on our side: the container still gets one
  try H run --rm -t $ISO busybox sh -c 'tty; stty size'
  assert_ok
  assert_contains "$OUT" /dev/pts/0
  # with a terminal: the size is passed on, input is read
  try script -qec "printf 'echo typed\nexit 5\n' | '$HULL_BIN' --root '$T/store' --runroot '$STATE' run --rm -i $ISO busybox sh" /dev/null
  assert_rc 5
  assert_contains "$OUT" typed
}

test_hull_stdin() {
  hull_setup
  printf 'line1\nline2\n' >"$T/in"
  H run --rm -i busybox sh -c 'cat; echo done' <"$T/in" >"$T/o" 2>"$T/e"
  assert_eq 0 $? "exit code"
  assert_eq "line1
line2
done" "$(cat "$T/o")"
  # without -i the container's stdin is empty
  H run --rm busybox sh -c 'cat; echo done' <"$T/in" >"$T/o" 2>"$T/e"
  assert_eq done "$(cat "$T/o")"
}

test_hull_volumes() {
  hull_setup
  must H volume create data
  assert_out data
  must H run --rm -v data:/data $ISO busybox sh -c 'echo persisted >/data/f'
  must H run --rm -v data:/data:ro $ISO busybox cat /data/f
  assert_out persisted
  try H run --rm -v data:/data:ro $ISO busybox sh -c 'echo x >/data/g'
  assert_ne 0 "$RC" "write to a read-only volume"
  must H volume inspect data
  assert_json "$OUT" '.[0].Name == "data" and (.[0].Mountpoint | endswith("/volumes/data/_data"))'
  assert_eq persisted "$(cat "$T/store/volumes/data/_data/f")"
  mkdir -p "$T/host"
  echo from-host >"$T/host/h"
  must H run --rm -v "$T/host:/h" $ISO busybox sh -c 'cat /h/h; echo back >/h/b'
  assert_out from-host
  assert_eq back "$(cat "$T/host/b")"
  # a volume in use cannot be removed
  must H create --name user -v data:/data busybox true
  assert_fails "in use" H volume rm data
  must H rm user
  must H volume ls -q
  assert_contains "$OUT" data
  must H volume rm data
  must H volume ls -q
  assert_not_contains "$OUT" data
  # an anonymous volume goes with rm -v
  must H create --name anon -v /scratch busybox true
  must H volume ls -q
  assert_match "$OUT" '^[0-9a-f]{64}$'
  must H rm -v anon
  must H volume ls -q
  assert_eq "" "$OUT"
}

test_hull_names() {
  hull_setup
  must H create --name one busybox true
  local id=$OUT
  assert_fails "already in use" H create --name one busybox true
  assert_fails "name" H create --name 'bad/name' busybox true
  must H ps -a --format json
  assert_json "$OUT" 'length == 1 and .[0].State == "created"'
  # by name, full id, unique prefix
  must H inspect one
  assert_json "$OUT" ".[0].Id == \"$id\""
  must H inspect "${id:0:8}"
  assert_json "$OUT" '.[0].Name == "one"'
  must H rm "${id:0:12}"
  # the name is free again
  must H create --name one busybox true
  assert_fails "no such container" H rm nope
}

test_hull_concurrent_names() {
  hull_setup
  local i
  for i in 1 2 3 4 5 6; do
    bg c$i H create --name same busybox true
  done
  wait
  must H ps -aq
  assert_eq 1 "$(echo "$OUT" | grep -c .)" "containers named 'same'"
}

test_hull_create_start() {
  hull_setup
  must H create --name later busybox sh -c 'echo ran; exit 7'
  assert_eq created "$(state_of later)"
  must H start later
  assert_out later
  try H wait later
  assert_rc 7
  assert_out 7
  must H logs later
  assert_out ran
  # start again, attached: the exit code is the container's
  try H start -a later
  assert_rc 7
  assert_out ran
}

test_hull_kill() {
  hull_setup
  must H run -d --name k busybox sh -c 'trap "exit 9" USR1; while :; do sleep 0.1; done'
  must H kill -s USR1 k
  assert_out k
  try H wait k
  assert_out 9
  must H run -d --name k2 busybox sleep 600
  must H kill k2
  try H wait k2
  assert_out 137
  # wait on a --rm container: the status, though the record goes
  must H run -d --rm --name k3 busybox sh -c 'sleep 1; exit 4'
  try H wait k3
  assert_rc 4
  assert_out 4
  assert_fails "no such container" H container inspect k3
  assert_fails "not running" H kill k2
  assert_fails "unknown" H kill -s NOPE k2
}

test_hull_options() {
  hull_setup
  printf '# comment\nFROM_FILE=yes\n\nOTHER=2\n' >"$T/envfile"
  try H run --rm -e A=1 --env-file "$T/envfile" --hostname myhost busybox sh -c 'echo $A $FROM_FILE $OTHER; hostname; cat /etc/hostname'
  assert_out "1 yes 2
myhost
myhost"
  try H run --rm --read-only busybox touch /x
  assert_ne 0 "$RC" "write to a read-only root"
  try H run --rm --read-only --tmpfs /scratch busybox sh -c 'touch /scratch/x && grep " /scratch " /proc/mounts'
  assert_ok
  assert_contains "$OUT" tmpfs
  try H run --rm --memory 64m --pids-limit 50 busybox sh -c 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max'
  assert_ok
  assert_out "67108864
50"
  try H run --rm --cpus 0.5 busybox sh -c 'cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null | head -1'
  assert_ok
  assert_contains "$OUT" 50000
  # capabilities: docker's set, then --cap-drop/--cap-add
  try H run --rm busybox grep CapEff /proc/self/status
  assert_contains "$OUT" 00000000a80425fb
  try H run --rm --cap-drop ALL --cap-add NET_BIND_SERVICE busybox grep CapEff /proc/self/status
  assert_contains "$OUT" 0000000000000400
  assert_fails "capability" H run --rm --cap-add NOT_A_CAP busybox true
  # labels become annotations and show in inspect
  must H run --name lab --label team=a busybox true
  must H inspect lab
  assert_json "$OUT" '.[0].Config.Labels.team == "a"'
  # networks
  try H run --rm --network host busybox sh -c 'ls /sys/class/net | wc -l'
  assert_ok
  [ "$OUT" -ge 1 ] || fail "host network: no interfaces"
  try H run --rm --network none busybox ls /sys/class/net
  assert_out lo
  # the default network (tests/integration/t_network.sh has the rest)
  try H run --rm busybox ls /sys/class/net
  assert_out "eth0
lo"
  # entrypoint
  try H run --rm --entrypoint echo busybox a b
  assert_out "a b"
}

test_hull_user_workdir() {
  hull_setup
  try H run --rm -u nobody -w /tmp busybox sh -c 'id -u; id -g; pwd'
  assert_out "65534
65534
/tmp"
  try H run --rm -u 1000:1000 busybox id
  assert_contains "$OUT" "uid=1000"
  assert_fails "not found" H run --rm -u nosuchuser busybox true
}

test_hull_seccomp() {
  hull_setup
  try H run --rm busybox grep Seccomp: /proc/self/status
  assert_contains "$OUT" 2
  try H run --rm --security-opt seccomp=unconfined busybox grep Seccomp: /proc/self/status
  assert_contains "$OUT" 0
  # the default profile: the mount API and namespaces stay closed even to
  # a process that has CAP_SYS_ADMIN in its bounding set? no: only without it
  try H run --rm --cap-add SYS_PTRACE busybox sh -c 'grep Seccomp: /proc/self/status'
  assert_contains "$OUT" 2
  try H run --rm busybox sh -c 'unshare -u true'
  assert_ne 0 "$RC" "unshare without CAP_SYS_ADMIN"
  try H run --rm --security-opt no-new-privileges busybox grep NoNewPrivs /proc/self/status
  assert_contains "$OUT" 1
  assert_fails "not supported" H run --rm --security-opt bogus busybox true
  echo '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_ERRNO"}]}' >"$T/prof.json"
  try H run --rm --security-opt seccomp="$T/prof.json" busybox pwd
  assert_ne 0 "$RC" "pwd with getcwd denied"
}

test_hull_inspect_image() {
  hull_setup
  must H inspect busybox
  assert_json "$OUT" '.[0].Id | startswith("sha256:")'
  assert_fails "no such" H inspect nothing-by-this-name
  assert_fails "no such container" H container inspect busybox
}

test_hull_prune_df() {
  hull_setup
  must H run --name done1 busybox true
  must H run -d --name alive busybox sleep 600
  must H create --name fresh busybox true
  must H system df
  assert_contains "$OUT" Images
  must H system df --format json
  assert_json "$OUT" '.[1].TotalCount == 3 and .[1].Active == 1 and .[0].TotalCount >= 1'
  must H container prune -f
  must H ps -a --format json
  assert_json "$OUT" '[.[].Names[0]] | sort == ["alive", "fresh"]'
}

test_hull_attach() {
  hull_setup
  must H run -d --name att busybox sh -c 'sleep 1; echo late; exit 5'
  try H attach att
  assert_rc 5
  assert_out late
  assert_fails "not running" H attach att
}

test_hull_rm_running() {
  hull_setup
  must H run -d --name r busybox sleep 600
  assert_fails "running" H rm r
  must H rm -f r
  must H ps -aq
  assert_eq "" "$OUT"
  assert_eq "" "$(ls -A "$STATE" 2>/dev/null)" "runtime state left"
  grep -q "$T/store" /proc/self/mountinfo && fail "a root file system is still mounted"
  return 0
}

test_hull_logs_options() {
  hull_setup
  must H run --name l busybox sh -c 'for i in 1 2 3 4 5; do echo $i; done'
  must H logs --tail 2 l
  assert_out "4
5"
  must H logs -t l
  assert_match "$(echo "$OUT" | head -1)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z 1$'
  # -f follows until the container ends
  must H run -d --name f busybox sh -c 'echo a; sleep 1; echo b'
  try H logs -f f
  assert_ok
  assert_out "a
b"
}

test_hull_crashed_monitor() {
  hull_setup
  must H run -d --name c busybox sleep 600
  local mpid
  mpid=$(H inspect c | jq -r '.[0].State.MonitorPid')
  kill -9 "$mpid"
  wait_for 10 _state_is c exited
  must H rm -f c
  must H ps -aq
  assert_eq "" "$OUT"
  # a create killed half-way leaves nothing visible
  mkdir -p "$T/store/containers/.tmp-$(printf '%064d' 0)"
  must H ps -aq
  assert_eq "" "$OUT"
}

test_hull_signal_forward() {
  hull_setup
  bg fg H run --rm busybox sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done'
  local pid=$BGPID
  wait_for 20 grep -q ready "$T/fg.out"
  # the hull process (timeout's child) gets the signal
  pkill -TERM -P "$pid" -f "$HULL_BIN" || kill -TERM "$pid"
  bg_wait "$pid" 20
  assert_rc 7
  assert_contains "$(cat "$T/fg.out")" got-term
}

test_hull_errors() {
  hull_setup
  try H run --rm nosuchimage true
  assert_rc 125
  try H run --rm busybox /no/such/binary
  assert_ne 0 "$RC" "run of a missing binary"
  assert_contains "$ERR" /no/such/binary
  assert_fails "isolation" H run --isolation=bogus busybox true
  assert_fails "memory" H run --memory 12q busybox true
  assert_fails "volume" H run -v relative:path busybox true
  must H ps -aq
  assert_eq "" "$OUT" "failed runs leave no container"
}

test_hull_concurrent_start() {
  hull_setup
  must H create --name once busybox sh -c 'echo ran; sleep 2'
  local i
  for i in 1 2 3 4; do
    bg s$i H start once
  done
  wait
  assert_eq 1 "$(cat "$T"/s?.out | grep -c once)" "starts that succeeded"
  assert_eq running "$(state_of once)"
  try H wait once
  assert_rc 0
  must H logs once
  assert_out ran
}

test_hull_container_subcommands() {
  hull_setup
  must H container create --name sub --isolation=hyperv busybox true
  must H container inspect sub
  assert_json "$OUT" '.[0].Isolation == "vm" and .[0].HostConfig.Isolation == "vm"'
  must H create --name dflt --isolation=default busybox true
  must H inspect dflt
  assert_json "$OUT" '.[0].Isolation == "process"'
  must H container ls -a -q
  assert_eq 2 "$(echo "$OUT" | grep -c .)"
  must H container rm sub dflt
  assert_out "sub
dflt"
  must H volume create v1
  must H volume create v2
  must H create --name holder -v v1:/x busybox true
  must H volume prune
  assert_out v2
  must H rm holder
  must H run --name gone busybox true
  must H system prune -f --volumes
  must H ps -aq
  assert_eq "" "$OUT"
  must H volume ls -q
  assert_eq "" "$OUT"
  assert_fails "unknown" H container frobnicate
}

test_hull_image_volumes() {
  hull_setup
  must H import -c 'VOLUME /vol' -c 'CMD ["sh"]' "$T/rootfs.tar" withvol
  must H run --name iv withvol sh -c 'echo kept >/vol/f'
  must H volume ls -q
  assert_match "$OUT" '^[0-9a-f]{64}$'
  assert_eq kept "$(cat "$T/store/volumes/$OUT/_data/f")"
  # -v over the same path: no anonymous volume
  must H rm -v iv
  must H run --rm -v named:/vol withvol true
  must H volume ls -q
  assert_out named
}

# kill -9 of `hull run` at random points (while the record is made, the
# root file system mounted, the monitor started, the program running):
# the next commands see whole containers or none and work
test_hull_run_killed_then_clean() {
  hull_setup
  local i delay p
  for i in 1 2 3 4 5; do
    delay=$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.3f", rand() * 0.08 }')
    "$HULL_BIN" --root "$T/store" --runroot "$STATE" run --rm --name "k$i" busybox sleep 0.3 \
      >/dev/null 2>&1 &
    p=$!
    sleep "$delay"
    kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    must H ps -a --format json
    assert_json "$OUT" 'type == "array"' "ps after a killed run"
  done
  # whatever was left (a monitor that still runs its container) goes
  hull_cleanup
  poll 10 sh -c "[ -z \"\$('$HULL_BIN' --root '$T/store' --runroot '$STATE' ps -aq)\" ]" ||
    fail "containers left: $(H ps -a)"
  try H run --rm busybox echo after
  assert_ok
  assert_out after
  grep -q "$T/store" /proc/self/mountinfo && fail "a root file system is still mounted"
  return 0
}
