# t_namespaces.sh — namespaces, user namespace mappings, sysctls.

# (these compare the container's namespaces with the host's)
process_only test_namespaces_are_new test_join_namespace_by_path test_userns_host_side_ids \
  test_ipc_namespace_is_private test_no_pid_namespace_sees_host

test_namespaces_are_new() {
  set_args sleep 600
  local id; id=$(newid)
  must rt run -d --bundle "$BUNDLE" "$id"
  local pid ns; pid=$(pid_of "$id")
  for ns in pid net ipc uts mnt cgroup; do
    assert_ne "$(host_ns $$ "$ns")" "$(host_ns "$pid" "$ns")" "$ns namespace"
  done
  # no user namespace was asked for
  assert_eq "$(host_ns $$ user)" "$(host_ns "$pid" user)" "user namespace"
}

test_network_namespace_has_only_loopback() {
  [ "$(tail -n +3 /proc/net/dev | wc -l)" -gt 1 ] || skip "the host has only one interface"
  run_in sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
  assert_ok
  assert_out lo
}

test_ipc_namespace_is_private() {
  # a POSIX message queue of the host's ipc namespace is not visible inside
  mkdir -p "$T/mq"
  mount -t mqueue mqueue "$T/mq" || skip "cannot mount mqueue"
  local q="hull-it-$ID"
  touch "$T/mq/$q" || fail "cannot create a host message queue"
  run_in sh -c 'ls /dev/mqueue; echo end'
  rm -f "$T/mq/$q"; umount "$T/mq"
  assert_ok
  assert_not_contains "$OUT" "$q" "container's /dev/mqueue"
  # control: without an ipc namespace the host's queue is visible
  mount -t mqueue mqueue "$T/mq"; touch "$T/mq/$q"
  cfg '.linux.namespaces |= map(select(.type != "ipc"))'
  run_in sh -c 'ls /dev/mqueue; echo end'
  rm -f "$T/mq/$q"; umount "$T/mq"
  assert_contains "$OUT" "$q" "container's /dev/mqueue without an ipc namespace"
}

test_cgroup_namespace_root() {
  run_in cat /proc/self/cgroup
  assert_ok
  local bad; bad=$(grep -v ':/$' <<<"$OUT")
  assert_eq "" "$bad" "cgroup paths not at the namespace root"
}

test_no_pid_namespace_sees_host() {
  cfg '.linux.namespaces |= map(select(.type != "pid"))'
  run_in sh -c 'echo $$; test -d /proc/1 && echo has-1'
  assert_ok
  assert_ne 1 "$(head -n1 <<<"$OUT")" "pid without a pid namespace"
}

test_join_namespace_by_path() {
  set_args sleep 600
  local a; a=$(newid)
  must rt run -d --bundle "$BUNDLE" "$a"
  local pa; pa=$(pid_of "$a")
  new_bundle "$T/b2" sleep 600
  cfg -b "$T/b2" '.linux.namespaces |= map(if .type == "network" then .path = $p1
                                          elif .type == "ipc" then .path = $p2 else . end)' \
    --arg p1 "/proc/$pa/ns/net" --arg p2 "/proc/$pa/ns/ipc"
  local b; b=$(newid)
  must rt run -d --bundle "$T/b2" "$b"
  local pb; pb=$(pid_of "$b")
  assert_eq "$(host_ns "$pa" net)" "$(host_ns "$pb" net)" "joined network namespace"
  assert_eq "$(host_ns "$pa" ipc)" "$(host_ns "$pb" ipc)" "joined ipc namespace"
  assert_ne "$(host_ns "$pa" uts)" "$(host_ns "$pb" uts)" "uts namespace (not joined)"
  assert_ne "$(host_ns "$pa" pid)" "$(host_ns "$pb" pid)" "pid namespace (not joined)"
}

test_join_bad_namespace_path_fails() {
  cfg '.linux.namespaces |= map(if .type == "network" then .path = "/proc/self/ns/nope" else . end)'
  assert_fails "" rt run --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}

test_user_namespace_mappings() {
  cfg_userns
  run_in sh -c 'cat /proc/self/uid_map; cat /proc/self/gid_map; id -u; id -g'
  assert_ok
  local norm; norm=$(tr -s ' \t' ' ' <<<"$OUT" | sed 's/^ //')
  assert_eq "0 100000 65536
0 100000 65536
0
0" "$norm" "uid_map, gid_map, ids"
}

test_user_namespace_multiple_mappings() {
  cfg '.linux.namespaces += [{type: "user"}]
       | .linux.uidMappings = [{containerID: 0, hostID: 200000, size: 1000}, {containerID: 1000, hostID: 300000, size: 10}]
       | .linux.gidMappings = [{containerID: 0, hostID: 200000, size: 2000}]
       | .process.user = {uid: 1005, gid: 1500}'
  run_in sh -c 'cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g'
  assert_ok
  local norm; norm=$(tr -s ' \t' ' ' <<<"$OUT" | sed 's/^ //')
  assert_eq "0 200000 1000
1000 300000 10
0 200000 2000
1005
1500" "$norm" "maps and ids"
}

test_userns_host_side_ids() {
  cfg_userns
  cfg '.process.user = {uid: 42, gid: 43}'
  set_args sleep 600
  local id; id=$(newid)
  must rt run -d --bundle "$BUNDLE" "$id"
  local pid; pid=$(pid_of "$id")
  assert_ne "$(host_ns $$ user)" "$(host_ns "$pid" user)" "user namespace"
  assert_match "$(grep ^Uid: /proc/"$pid"/status)" 'Uid:[[:space:]]+100042[[:space:]]' "host uid of the container process"
  assert_match "$(grep ^Gid: /proc/"$pid"/status)" 'Gid:[[:space:]]+100043[[:space:]]' "host gid"
}

test_user_namespace_without_mappings_fails() {
  cfg '.linux.namespaces += [{type: "user"}] | del(.linux.uidMappings, .linux.gidMappings)'
  # runc and crun either fail or run with an identity-less namespace;
  # a container must never end up with host root unmapped silently: check
  # that, if it runs, uid 0 inside is not host uid 0
  run_in cat /proc/self/uid_map
  if [ "$RC" -eq 0 ]; then
    assert_ne "0 0 4294967295" "$(tr -s ' ' <<<"$OUT" | sed 's/^ //')" "uid_map of a new user namespace"
  else
    assert_no_leftovers
  fi
}

test_sysctl_in_namespaces() {
  local host_fwd host_shm
  host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
  host_shm=$(cat /proc/sys/kernel/shmmax)
  cfg '.linux.sysctl = {"net.ipv4.ip_forward": "1", "kernel.shmmax": "123456789",
                        "net.ipv4.conf.all.forwarding": "1"}'
  run_in sh -c 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax /proc/sys/net/ipv4/conf/all/forwarding'
  assert_ok
  assert_eq "1
123456789
1" "$OUT" "sysctls inside"
  assert_eq "$host_fwd" "$(cat /proc/sys/net/ipv4/ip_forward)" "host ip_forward"
  assert_eq "$host_shm" "$(cat /proc/sys/kernel/shmmax)" "host shmmax"
}

# The failure tests ask for the host's current values: a runtime that
# wrongly applies them leaves the host as it was (the runner also checks).

test_sysctl_net_without_netns_fails() {
  local host_fwd; host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
  cfg '.linux.namespaces |= map(select(.type != "network"))
       | .linux.sysctl = {"net.ipv4.ip_forward": $h}' --arg h "$host_fwd"
  assert_fails "" rt run --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}

test_sysctl_non_namespaced_fails() {
  local host; host=$(cat /proc/sys/vm/overcommit_ratio)
  cfg '.linux.sysctl = {"vm.overcommit_ratio": $h}' --arg h "$host"
  assert_fails "" rt run --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}
