# t_resources.sh — linux.resources: limits written to the container's
# cgroups and enforced, device rules, `update` (and a rejected update that
# keeps the old limits), pause/resume (and killing a paused container),
# `events --stats` and OOM events.

# (these read the container's cgroup files on the host)
process_only test_memory_limit_written test_pids_limit_written \
  test_cpu_limits_written test_blkio_throttle_written test_blkio_weight_written \
  test_update_changes_limits test_update_rejected_keeps_old_limit \
  test_update_from_resources_file test_unified_on_cgroup2 test_pause_resume \
  test_kill_paused_container test_delete_force_paused_container

# ---------------------------------------------------------------- helpers

# cg_dir PID CONTROLLER — the host directory of PID's cgroup in the v1
# hierarchy of CONTROLLER, or in the cgroup2 hierarchy (CONTROLLER "", or
# no v1 hierarchy has it)
cg_dir() {
  local pid=$1 c=$2 mp="" rel
  if [ -n "$c" ]; then
    mp=$(awk -v c="$c" '{ for (i = 7; i <= NF && $i != "-"; i++) ;
          if ($(i+1) != "cgroup") next
          n = split($(i+3), o, ","); for (k = 1; k <= n; k++) if (o[k] == c) { print $5; exit } }' \
      /proc/self/mountinfo)
  fi
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

# cg_read PID CONTROLLER FILE — a file of PID's cgroup
cg_read() { cat "$(cg_dir "$1" "$2")/$3"; }

# cg_v1 CONTROLLER — true when a v1 hierarchy has CONTROLLER
cg_v1() { awk -v c="$1" '{ for (i = 7; i <= NF && $i != "-"; i++) ; if ($(i+1) != "cgroup") next
          n = split($(i+3), o, ","); for (k = 1; k <= n; k++) if (o[k] == c) f = 1 } END { exit !f }' \
          /proc/self/mountinfo; }

# cg_v2_only — a pure cgroup2 host
cg_v2_only() { ! grep -q ' - cgroup ' /proc/self/mountinfo; }

# start_sleeper — create and start $BUNDLE running sleep; sets CID, PID
start_sleeper() {
  [ $# -gt 0 ] || set -- sleep 600
  set_args "$@"
  CID=$(newid)
  must rt create --bundle "$BUNDLE" "$CID"
  must rt start "$CID"
  PID=$(pid_of "$CID")
  assert_match "$PID" '^[0-9]+$' "pid of $CID"
}

# memory_limit PID — the memory limit in bytes ("max" on v2 when none)
memory_limit() {
  if cg_v1 memory; then cg_read "$1" memory memory.limit_in_bytes
  else cg_read "$1" "" memory.max; fi
}

# add_caps CAP... — to every capability set of the process
add_caps() {
  cfg '.process.capabilities |= with_entries(.value += $ARGS.positional)' --args -- "$@"
}

# a block device of this host "MAJ:MIN" (one with a size), or ""
block_device() {
  local b
  for b in /sys/block/*; do
    [ -r "$b/dev" ] && [ "$(cat "$b/size" 2>/dev/null || echo 0)" -gt 0 ] || continue
    cat "$b/dev"
    return
  done
}

# ---------------------------------------------------------------- memory

test_memory_limit_written() {
  cfg '.linux.resources.memory = {limit: 67108864, reservation: 33554432}'
  start_sleeper
  assert_eq 67108864 "$(memory_limit "$PID")" "memory limit of the container's cgroup"
  if cg_v1 memory; then
    assert_eq 33554432 "$(cg_read "$PID" memory memory.soft_limit_in_bytes)" "memory.soft_limit_in_bytes"
  else
    assert_eq 33554432 "$(cg_read "$PID" "" memory.low)" "memory.low"
  fi
}

test_memory_limit_oom_kill() {
  # 32 MiB and no swap; dd needs a 64 MiB buffer: the OOM killer ends it
  cfg '.linux.resources.memory = {limit: 33554432, swap: 33554432}'
  run_in dd if=/dev/zero of=/dev/null bs=64M count=1
  assert_rc 137
}

test_memory_enough_is_fine() {
  cfg '.linux.resources.memory = {limit: 134217728}'
  run_in dd if=/dev/zero of=/dev/null bs=16M count=1
  assert_ok
}

# ---------------------------------------------------------------- pids

test_pids_limit_written() {
  cfg '.linux.resources.pids = {limit: 8}'
  start_sleeper
  if cg_v1 pids; then local c=pids; else local c=""; fi
  assert_eq 8 "$(cg_read "$PID" "$c" pids.max)" "pids.max"
}

test_pids_limit_enforced() {
  cfg '.linux.resources.pids = {limit: 5}'
  run_in sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; echo all-started'
  assert_ne 0 "$RC" "exit code of a shell over its pids limit"
  assert_contains "$ERR" "fork" "stderr of a shell over its pids limit"
  assert_not_contains "$OUT" all-started
}

# ---------------------------------------------------------------- cpu

test_cpu_limits_written() {
  cfg '.linux.resources.cpu = {shares: 512, quota: 50000, period: 100000, cpus: "0", mems: "0"}'
  start_sleeper
  if cg_v1 cpu; then
    assert_eq 512 "$(cg_read "$PID" cpu cpu.shares)" "cpu.shares"
    assert_eq 50000 "$(cg_read "$PID" cpu cpu.cfs_quota_us)" "cpu.cfs_quota_us"
    assert_eq 100000 "$(cg_read "$PID" cpu cpu.cfs_period_us)" "cpu.cfs_period_us"
  else
    assert_eq 20 "$(cg_read "$PID" "" cpu.weight)" "cpu.weight (from shares 512)"
    assert_eq "50000 100000" "$(cg_read "$PID" "" cpu.max)" "cpu.max"
  fi
  if cg_v1 cpuset; then
    assert_eq 0 "$(cg_read "$PID" cpuset cpuset.cpus)" "cpuset.cpus"
  else
    assert_eq 0 "$(cg_read "$PID" "" cpuset.cpus)" "cpuset.cpus"
  fi
}

test_cpuset_seen_inside() {
  cfg '.linux.resources.cpu = {cpus: "0"}'
  run_in grep Cpus_allowed_list /proc/self/status
  assert_ok
  assert_match "$OUT" '^Cpus_allowed_list:[[:space:]]+0$' "the container's CPU affinity"
}

# ---------------------------------------------------------------- block I/O

test_blkio_throttle_written() {
  local dev; dev=$(block_device)
  [ -n "$dev" ] || skip "no block device with a size on this host"
  cfg --arg d "$dev" '.linux.resources.blockIO = {throttleReadBpsDevice: [
      {major: ($d | split(":")[0] | tonumber), minor: ($d | split(":")[1] | tonumber), rate: 1048576}]}'
  start_sleeper
  if cg_v1 blkio; then
    assert_contains "$(cg_read "$PID" blkio blkio.throttle.read_bps_device)" "$dev 1048576" \
      "blkio.throttle.read_bps_device"
  else
    assert_contains "$(cg_read "$PID" "" io.max)" "$dev rbps=1048576" "io.max"
  fi
}

test_blkio_weight_written() {
  local f
  if cg_v1 blkio; then
    f=$(cd "$(cg_dir $$ blkio)" && ls blkio.weight blkio.bfq.weight 2>/dev/null | head -1)
    [ -n "$f" ] || skip "the kernel has no blkio.weight nor blkio.bfq.weight (no CFQ/BFQ proportional weights)"
  else
    f=$(cd "$(cg_dir $$ "")" && ls io.bfq.weight io.weight 2>/dev/null | head -1)
    [ -n "$f" ] || skip "no io.weight nor io.bfq.weight on this host's cgroup2"
  fi
  cfg '.linux.resources.blockIO = {weight: 500}'
  start_sleeper
  if cg_v1 blkio; then local c=blkio; else local c=""; fi
  assert_contains "$(cg_read "$PID" "$c" "$f")" 500 "$f"
}

# ---------------------------------------------------------------- devices

test_devices_deny_by_default() {
  add_caps CAP_MKNOD
  # /dev/null and /dev/zero are in the default allow list; c 1:2 (kmem,
  # gone from kernels) is not: the open fails before any driver is asked
  run_in sh -c 'echo x >/dev/null && head -c 1 /dev/zero >/dev/null && echo allowed
                mknod /dev/hull-t c 1 2 && exec cat /dev/hull-t'
  assert_rc 1
  assert_contains "$OUT" allowed
  assert_contains "$ERR" "Operation not permitted" "opening a device outside the allow list"
}

test_devices_rule_allows() {
  add_caps CAP_MKNOD
  cfg '.linux.resources.devices += [{allow: true, type: "c", major: 1, minor: 2, access: "r"}]'
  # now the device cgroup lets the open through to the kernel, which has
  # no such device
  run_in sh -c 'mknod /dev/hull-t c 1 2 && exec cat /dev/hull-t'
  assert_rc 1
  assert_contains "$ERR" "No such device or address" "opening an allowed device"
  assert_not_contains "$ERR" "Operation not permitted"
}

test_devices_linux_devices_need_a_rule() {
  # as runc: linux.devices makes the node, linux.resources.devices allows it
  cfg '.linux.devices = [{path: "/dev/hull-kmem", type: "c", major: 1, minor: 2, fileMode: 438}]'
  run_in cat /dev/hull-kmem
  assert_rc 1
  assert_contains "$ERR" "Operation not permitted" "a linux.devices entry without a rule"
  cfg '.linux.resources.devices += [{allow: true, type: "c", major: 1, minor: 2, access: "rwm"}]'
  run_in cat /dev/hull-kmem
  assert_rc 1
  assert_contains "$ERR" "No such device or address" "a linux.devices entry with a rule"
}

test_invalid_device_type_rejected() {
  cfg '.linux.resources.devices += [{allow: true, type: "x", access: "rwm"}]'
  known_quirk crun "1.8 writes the rule and reports the kernel's EINVAL" && return 0
  assert_fails 'type' rt run --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}

test_invalid_memory_limit_rejected() {
  cfg '.linux.resources.memory = {limit: "1g"}'
  known_quirk crun "1.8 ignores a mistyped memory limit" && return 0
  if known_quirk runc "reports the JSON type error without the field path"; then
    assert_fails '' rt run --bundle "$BUNDLE" "$(newid)"
  else
    assert_fails 'memory.limit' rt run --bundle "$BUNDLE" "$(newid)"
  fi
  assert_no_leftovers
}

# ---------------------------------------------------------------- unified

test_unified_on_cgroup2() {
  grep -q ' - cgroup2 ' /proc/self/mountinfo || skip "no cgroup2 hierarchy on this host"
  if ! cg_v2_only; then
    known_quirk runc "1.1 refuses linux.resources.unified on a hybrid host" && return 0
    known_quirk crun "the runner hides the cgroup2 hierarchy of a hybrid host" && return 0
  fi
  # a core file of every cgroup2 directory, whatever the controllers
  cfg '.linux.resources.unified = {"cgroup.max.descendants": "7"}'
  start_sleeper
  assert_eq 7 "$(cg_read "$PID" "" cgroup.max.descendants)" "cgroup.max.descendants"
}

test_unified_without_cgroup2_fails() {
  grep -q ' - cgroup2 ' /proc/self/mountinfo && skip "this host has a cgroup2 hierarchy"
  cfg '.linux.resources.unified = {"memory.high": "1000000"}'
  assert_fails 'v2' rt run --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}

# ---------------------------------------------------------------- update

test_update_changes_limits() {
  cfg '.linux.resources.memory = {limit: 268435456} | .linux.resources.pids = {limit: 100}
       | .linux.resources.cpu = {shares: 1024}'
  start_sleeper
  known_quirk crun "1.8 builds invalid JSON from several update flags" && return 0
  must rt update --memory 128m --pids-limit 50 --cpu-share 512 --cpu-quota 30000 \
    --cpu-period 100000 "$CID"
  assert_eq 134217728 "$(memory_limit "$PID")" "memory limit after update"
  if cg_v1 pids; then local pc=pids; else local pc=""; fi
  assert_eq 50 "$(cg_read "$PID" "$pc" pids.max)" "pids.max after update"
  if cg_v1 cpu; then
    assert_eq 512 "$(cg_read "$PID" cpu cpu.shares)" "cpu.shares after update"
    assert_eq 30000 "$(cg_read "$PID" cpu cpu.cfs_quota_us)" "cpu.cfs_quota_us after update"
  else
    assert_eq 20 "$(cg_read "$PID" "" cpu.weight)" "cpu.weight after update"
    assert_eq "30000 100000" "$(cg_read "$PID" "" cpu.max)" "cpu.max after update"
  fi
  # what update does not name stays
  must rt update --pids-limit 60 "$CID"
  assert_eq 134217728 "$(memory_limit "$PID")" "memory limit after a pids-only update"
  assert_status "$CID" running
}

test_update_from_resources_file() {
  start_sleeper
  printf '{"memory": {"limit": 100663296}, "pids": {"limit": 42}}' >"$T/res.json"
  must rt update -r "$T/res.json" "$CID"
  assert_eq 100663296 "$(memory_limit "$PID")" "memory limit after update -r"
  if cg_v1 pids; then local pc=pids; else local pc=""; fi
  assert_eq 42 "$(cg_read "$PID" "$pc" pids.max)" "pids.max after update -r"
}

test_update_rejected_keeps_old_limit() {
  cfg '.linux.resources.memory = {limit: 268435456} | .linux.resources.pids = {limit: 100}'
  # dd holds its 40 MiB buffer while it blocks writing to sleep's pipe
  start_sleeper sh -c 'dd if=/dev/zero bs=40M count=1 | sleep 600'
  local usage_file=memory.usage_in_bytes c=memory
  cg_v1 memory || { usage_file=memory.current; c=""; }
  # (re-read on every try: the value at the first call is not enough)
  usage_over_40m() { test "$(cg_read "$PID" "$c" "$usage_file")" -gt 41943040; }
  wait_for 30 usage_over_40m
  assert_fails 'memory' rt update --memory 8m "$CID"
  assert_eq 268435456 "$(memory_limit "$PID")" "memory limit after a rejected update"
  if cg_v1 pids; then local pc=pids; else local pc=""; fi
  assert_eq 100 "$(cg_read "$PID" "$pc" pids.max)" "pids.max after a rejected update"
  assert_status "$CID" running
}

test_update_bad_value() {
  start_sleeper
  assert_fails 'memory' rt update --memory 12x "$CID"
  assert_status "$CID" running
}

# ---------------------------------------------------------------- pause

test_pause_resume() {
  share
  start_sleeper sh -c 'i=0; while :; do i=$((i+1)); echo $i >/share/n.new; mv /share/n.new /share/n; done'
  wait_for 10 test -s "$SHARE/n"
  must rt pause "$CID"
  assert_status "$CID" paused
  if cg_v1 freezer; then
    assert_eq FROZEN "$(cg_read "$PID" freezer freezer.state)" "freezer.state"
  fi
  local a b
  a=$(cat "$SHARE/n")
  sleep 0.3
  b=$(cat "$SHARE/n")
  assert_eq "$a" "$b" "counter while paused"
  must rt resume "$CID"
  assert_status "$CID" running
  poll 5 test "$(cat "$SHARE/n")" != "$b" || fail "the counter does not advance after resume"
}

test_pause_not_running_fails() {
  set_args sleep 600
  local id; id=$(newid)
  must rt create --bundle "$BUNDLE" "$id"
  must rt start "$id"
  must rt kill "$id" KILL
  wait_status "$id" stopped
  assert_fails '' rt pause "$id"
  assert_fails '' rt resume "$id"
}

# ---------------------------------------------------------------- events

test_events_stats() {
  cfg '.linux.resources.memory = {limit: 67108864} | .linux.resources.pids = {limit: 50}'
  start_sleeper
  known_quirk crun "1.8 has no events command" && return 0
  must rt events --stats "$CID"
  assert_json "$OUT" ".type == \"stats\" and .id == \"$CID\"" "event type and id"
  assert_json "$OUT" '.data.memory.usage.limit == 67108864' "memory.usage.limit"
  assert_json "$OUT" '.data.memory.usage.usage > 0' "memory.usage.usage"
  assert_json "$OUT" '.data.cpu.usage | has("kernel") and has("user")' "cpu.usage"
  assert_json "$OUT" '.data.pids.current >= 1 and .data.pids.limit == 50' "pids"
  assert_json "$OUT" '.data | has("blkio") and has("hugetlb")' "blkio and hugetlb"
}

# thaw_host PID — thaw PID's cgroup from the host (so a failing test does
# not leave frozen processes that nothing can kill)
thaw_host() {
  if cg_v1 freezer; then echo THAWED >"$(cg_dir "$1" freezer)/freezer.state"
  else echo 0 >"$(cg_dir "$1" "")/cgroup.freeze"; fi 2>/dev/null
}

test_kill_paused_container() {
  start_sleeper
  must rt pause "$CID"
  assert_status "$CID" paused
  # a frozen v1 cgroup holds even SIGKILL until it is thawed: runc thaws it
  must rt kill "$CID" KILL
  if known_quirk crun "1.8 leaves the paused container frozen after kill KILL"; then
    thaw_host "$PID"
    return 0
  fi
  if ! poll 10 _status_is "$CID" stopped; then
    local st; st=$(status_of "$CID")
    thaw_host "$PID"
    fail "container $CID: status '$st' 10 s after kill KILL while paused"
  fi
  must rt delete "$CID"
  assert_no_leftovers
}

test_delete_force_paused_container() {
  start_sleeper
  must rt pause "$CID"
  try rt delete --force "$CID"
  if [ "$RC" -ne 0 ]; then
    thaw_host "$PID"
    fail "delete --force of a paused container failed: ${ERR:0:300}"
  fi
  assert_no_leftovers
  poll 5 pid_dead "$PID" || { thaw_host "$PID"; fail "process $PID of the deleted container is alive"; }
}

test_events_reports_oom() {
  cfg '.linux.resources.memory = {limit: 33554432, swap: 33554432}'
  share
  start_sleeper sh -c 'while [ ! -e /share/go ]; do sleep 0.1; done
                       dd if=/dev/zero of=/dev/null bs=64M count=1; exec sleep 600'
  known_quirk crun "1.8 has no events command" && return 0
  bg events rt events --interval 1s "$CID"
  # a first stats event: the loop (and its OOM watch) is running
  poll 10 grep -q '"type":"stats"' "$T/events.out" || fail "no stats event at the interval"
  touch "$SHARE/go"
  poll 20 grep -q '"type":"oom"' "$T/events.out" ||
    fail "no oom event from events: $(head -c 600 "$T/events.out")"
  assert_contains "$(grep '"type":"oom"' "$T/events.out" | head -1)" "\"id\":\"$CID\"" "the oom event"
}
