# t_vm.sh — what only VM isolation does: its own kernel, its own process
# table, RAM and vCPUs from the limits, the monitor confined on the host,
# a guest that dies, panics, talks garbage or never boots, and the network
# namespace's interfaces carried into the guest (taps and tc redirection).

runs_in_vm
vm_only test_vm_own_kernel test_vm_host_processes_invisible \
  test_vm_memory_limit_is_guest_ram test_vm_cpu_quota_is_vcpus \
  test_vm_monitor_in_container_cgroup test_vm_delete_leaves_nothing \
  test_vm_guest_reboot_ends_container test_vm_guest_panic_ends_container \
  test_vm_garbage_from_guest test_vm_guest_never_boots test_vm_guest_stops_answering \
  test_vm_writes_land_in_bundle test_vm_readonly_root_enforced_by_host \
  test_vm_readonly_bind_enforced_by_host test_vm_ps_lists_guest_processes \
  test_vm_network_namespace_interfaces test_vm_network_http_and_cleanup \
  test_vm_network_loopback_only test_vm_host_network_refused test_vm_network_sysctl \
  test_vm_network_two_interfaces test_vm_network_foreign_qdisc_kept \
  test_vm_network_second_vm_refused

test_vm_own_kernel() {
  run_in uname -r
  assert_ok
  assert_ne "$(uname -r)" "$OUT" "kernel release inside the VM"
  [ -n "$OUT" ] || fail "no kernel release"
}

test_vm_host_processes_invisible() {
  local marker="hull-vm-marker-$$"
  bg marker sh -c "exec -a $marker sleep 300"
  run_in sh -c 'cat /proc/[0-9]*/cmdline | tr "\0" " "; echo; ls /proc | grep -c "^[0-9]"'
  assert_ok
  assert_not_contains "$OUT" "$marker" "host process seen from the VM"
}

test_vm_memory_limit_is_guest_ram() {
  cfg '.linux.resources.memory.limit = 268435456'
  run_in sh -c 'grep MemTotal /proc/meminfo'
  assert_ok
  local kb; kb=$(echo "$OUT" | awk '{print $2}')
  # the guest's RAM is the limit, less what its kernel keeps for itself
  [ "$kb" -gt 200000 ] && [ "$kb" -le 262144 ] || fail "MemTotal ${kb} kB for a 256 MiB limit"
}

test_vm_cpu_quota_is_vcpus() {
  [ "$(nproc)" -ge 2 ] || skip "the host has one CPU"
  cfg '.linux.resources.cpu = {quota: 150000, period: 100000}'
  run_in sh -c 'grep -c ^processor /proc/cpuinfo'
  assert_ok
  assert_eq 2 "$OUT" "vCPUs for a quota of 1.5 CPUs"
}

test_vm_monitor_in_container_cgroup() {
  cfg --arg p "/$ID-cg" '.linux.cgroupsPath = $p'
  set_args sleep 300
  local id; id=$(newid)
  must rt run -d --bundle "$BUNDLE" "$id"
  local procs; procs=$(cat /sys/fs/cgroup/pids/"$ID"-cg/cgroup.procs 2>/dev/null ||
    cat /sys/fs/cgroup/"$ID"-cg/cgroup.procs)
  local p found=0
  for p in $procs; do
    case $(readlink "/proc/$p/exe") in *qemu-system*) found=1 ;; esac
  done
  [ "$found" = 1 ] || fail "no VM monitor among the cgroup's processes: $procs"
}

test_vm_delete_leaves_nothing() {
  set_args sleep 300
  local id; id=$(newid)
  must rt run -d --bundle "$BUNDLE" "$id"
  local pid; pid=$(pid_of "$id")
  local qemu; qemu=$(pgrep -P "$pid" 2>/dev/null | head -1)
  must rt delete --force "$id"
  pid_dead "$pid" || fail "supervisor $pid still alive"
  [ -z "$qemu" ] || pid_dead "$qemu" || fail "monitor $qemu still alive"
  assert_no_file "$STATE/$id"
  assert_no_leftovers "$id"
}

test_vm_guest_reboot_ends_container() {
  # without a pid namespace and with CAP_SYS_BOOT, the container reboots
  # the guest: the VM stops under it
  cfg '.linux.namespaces |= map(select(.type != "pid"))
       | .process.capabilities.bounding += ["CAP_SYS_BOOT"]
       | .process.capabilities.effective += ["CAP_SYS_BOOT"]
       | .process.capabilities.permitted += ["CAP_SYS_BOOT"]'
  run_in reboot -f
  assert_rc 255
  assert_contains "$ERR" "VM stopped" "reason"
  assert_no_leftovers "$ID"
}

test_vm_guest_panic_ends_container() {
  # a kernel panic on purpose: panic on out-of-memory, then run out
  cfg '.linux.readonlyPaths = [] | .linux.maskedPaths = []'
  cfg '.linux.resources.memory.limit = 268435456'
  run_in sh -c 'echo 2 > /proc/sys/vm/panic_on_oom && tail /dev/zero'
  assert_rc 255
  assert_contains "$ERR" "Kernel panic" "reason names the panic"
  assert_no_leftovers "$ID"
}

# vm_hostile_initrd NAME SCRIPT — an initramfs whose /init is a busybox
# shell script instead of hull-init: a guest that does not play along.
vm_hostile_initrd() {
  local d=$T/initrd-$1
  mkdir -p "$d/bin" "$d/dev" "$d/proc" "$d/sys"
  cp /bin/busybox "$d/bin/busybox" || fail "busybox-static missing"
  printf '#!/bin/busybox sh\n%s\n' "$2" >"$d/init"
  chmod 755 "$d/init"
  (cd "$d" && find . | cpio -o -H newc --quiet >"$T/$1.cpio") || fail "cpio failed"
  echo "$T/$1.cpio"
}

test_vm_garbage_from_guest() {
  local initrd; initrd=$(vm_hostile_initrd garbage '
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox mount -t sysfs sys /sys
while [ ! -e /dev/vport0p1 ]; do /bin/busybox sleep 0.05; done
# a header announcing a 4 GiB frame, then noise
/bin/busybox printf "\377\377\377\377\043\000\000\000\000\000\000\000garbage" > /dev/vport0p1
/bin/busybox sleep 600')
  local id; id=$(newid)
  HULL_VM_INITRD=$initrd try rt create --bundle "$BUNDLE" "$id"
  [ "$RC" -ne 0 ] || fail "create succeeded with a guest that sends garbage"
  assert_contains "$ERR" "malformed frame" "reason"
  assert_no_file "$STATE/$id"
  assert_no_leftovers "$id"
}

test_vm_guest_never_boots() {
  local initrd; initrd=$(vm_hostile_initrd silent '/bin/busybox sleep 600')
  local id; id=$(newid)
  HULL_VM_BOOT_TIMEOUT=4 HULL_VM_INITRD=$initrd try rt create --bundle "$BUNDLE" "$id"
  [ "$RC" -ne 0 ] || fail "create succeeded with a guest that never answers"
  assert_contains "$ERR" "did not boot within 4 s" "reason"
  assert_no_file "$STATE/$id"
  assert_no_leftovers "$id"
}

test_vm_guest_stops_answering() {
  # a guest that says HELLO (protocol 3) and READY, then nothing ever again
  local initrd; initrd=$(vm_hostile_initrd mute '
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox mount -t sysfs sys /sys
while [ ! -e /dev/vport0p1 ]; do /bin/busybox sleep 0.05; done
exec 3<>/dev/vport0p1
/bin/busybox printf "\004\000\000\000\040\000\000\000\000\000\000\000\003\000\000\000" >&3
/bin/busybox sleep 1
/bin/busybox printf "\000\000\000\000\041\000\000\000\000\000\000\000" >&3
/bin/busybox sleep 600')
  local id; id=$(newid)
  HULL_VM_BOOT_TIMEOUT=4 HULL_VM_INITRD=$initrd must rt create --bundle "$BUNDLE" "$id"
  wait_status "$id" stopped 30
  assert_contains "$(cat "$STATE/$id/vm.error")" "stopped answering" "reason"
  must rt delete "$id"
  assert_no_leftovers
}

test_vm_writes_land_in_bundle() {
  cfg '.root.readonly = false'
  run_in sh -c 'echo from-the-vm > /written-in-vm && mkdir -p /d && echo x > /d/f'
  assert_ok
  assert_eq "from-the-vm" "$(cat "$BUNDLE/rootfs/written-in-vm")" "file in the bundle's rootfs"
  assert_file "$BUNDLE/rootfs/d/f"
}

test_vm_readonly_root_enforced_by_host() {
  cfg '.root.readonly = true'
  # even remounting read-write inside the guest cannot reach the host's files
  cfg '.process.capabilities |= with_entries(.value += ["CAP_SYS_ADMIN"])'
  run_in sh -c 'mount -o remount,rw / 2>/dev/null; echo x > /evil 2>&1; echo done'
  assert_ok
  assert_no_file "$BUNDLE/rootfs/evil"
}

test_vm_readonly_bind_enforced_by_host() {
  share /share ro
  cfg '.process.capabilities |= with_entries(.value += ["CAP_SYS_ADMIN"])'
  run_in sh -c 'mount -o remount,rw /share 2>/dev/null; echo x > /share/evil 2>&1; echo done'
  assert_ok
  assert_no_file "$SHARE/evil"
}

test_vm_ps_lists_guest_processes() {
  set_args sh -c 'sleep 600 & sleep 601 & wait'
  local id; id=$(newid)
  must rt run -d --bundle "$BUNDLE" "$id"
  # the shell and its two children (the shell's own command line names them too)
  poll 10 sh -c "'$RUNTIME' --root '$STATE' ps --format json '$id' | jq -e 'length == 3'" ||
    fail "ps does not list the guest's three processes"
  must rt ps "$id"
  assert_match "$OUT" "^UID +PID +PPID +CMD" "header"
  assert_match "$OUT" "
0 +[0-9]+ +[0-9]+ sleep 601(
|$)" "the second child's row"
}

# ---------------------------------------------------------------- network
# A network namespace of the test's own with a veth pair, as CNI makes
# one: the host side 10.213.N.1/24, eth0 in the namespace 10.213.N.2/24
# with a default route via .1 (N from the test's pid, so that concurrent
# runs do not meet). Traffic goes only to these addresses. Everything is
# removed when the test ends, pass or fail (containers first).

vm_netns_cleanup() {
  local id
  for id in $VM_NET_IDS; do
    rt delete --force "$id" >/dev/null 2>&1
  done
  ip link del "$VETH_HOST" 2>/dev/null
  [ -z "${VETH_HOST2:-}" ] || ip link del "$VETH_HOST2" 2>/dev/null
  ip netns del "$NETNS" 2>/dev/null
}

# vm_netns [bare] — NETNS, NETNS_PATH, NET_N, GUEST_IP, HOST_IP; the
# bundle's network namespace is NETNS_PATH. bare: loopback only.
vm_netns() {
  NET_N=$(($$ % 200 + 20))
  NETNS=hull-it-$$ NETNS_PATH=/run/netns/hull-it-$$ VETH_HOST=hvm$$
  HOST_IP=10.213.$NET_N.1 GUEST_IP=10.213.$NET_N.2 VM_NET_IDS=""
  ip -4 route show | grep -q "^10\.213\.$NET_N\." && skip "10.213.$NET_N.0/24 is in use here"
  trap vm_netns_cleanup EXIT
  ip netns add "$NETNS" || fail "ip netns add $NETNS"
  if [ "${1:-}" != bare ]; then
    ip link add "$VETH_HOST" type veth peer name eth0 netns "$NETNS" || fail "veth"
    ip addr add "$HOST_IP/24" dev "$VETH_HOST" && ip link set "$VETH_HOST" up &&
      ip -n "$NETNS" addr add "$GUEST_IP/24" dev eth0 &&
      ip -n "$NETNS" link set eth0 up &&
      ip -n "$NETNS" route add default via "$HOST_IP" || fail "veth addresses"
  fi
  cfg --arg p "$NETNS_PATH" \
    '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)'
}

# vm_netns_clean — the namespace is as the test made it: no tap, no
# ingress qdisc.
vm_netns_clean() {
  local links qdiscs
  links=$(ip -n "$NETNS" -o link show)
  assert_not_contains "$links" "_hull" "taps left in the namespace"
  qdiscs=$(ip netns exec "$NETNS" tc qdisc show)
  assert_not_contains "$qdiscs" "ingress" "qdiscs left in the namespace"
}

test_vm_network_namespace_interfaces() {
  vm_netns
  # an MTU and an IPv6 address of the namespace's own, to see them come
  ip -n "$NETNS" link set eth0 mtu 1400 &&
    ip -n "$NETNS" addr add "fd42:213:$NET_N::2/64" dev eth0 nodad || fail "eth0 set-up"
  local mac; mac=$(ip -n "$NETNS" -o link show eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
  local hex; hex=$(printf '01%02XD50A' "$NET_N")
  cfg '.root.readonly = false'
  set_args sh -c '{ ip -o addr show; ip -o link show eth0; cat /proc/net/route; } >/net.out 2>&1'
  local id; id=$(newid)
  VM_NET_IDS=$id
  must rt run -d --bundle "$BUNDLE" "$id"
  wait_status "$id" stopped 60
  # the container ended: the supervisor took its taps and filters away
  vm_netns_clean
  must rt delete "$id"
  local out; out=$(cat "$BUNDLE/rootfs/net.out")
  log "$out"
  assert_contains "$out" "inet $GUEST_IP/24" "the guest's address"
  assert_contains "$out" "inet6 fd42:213:$NET_N::2/64" "the guest's IPv6 address"
  assert_contains "$out" "link/ether $mac" "the guest's MAC (the veth's)"
  assert_contains "$out" "mtu 1400" "the guest's MTU"
  assert_match "$out" "eth0[[:space:]]+00000000[[:space:]]+$hex" "the default route via $HOST_IP"
  assert_contains "$out" "inet 127.0.0.1/8" "loopback"
}

test_vm_network_http_and_cleanup() {
  vm_netns
  mkdir -p "$BUNDLE/rootfs/www"
  echo "hello from the vm $$" >"$BUNDLE/rootfs/www/index.html"
  set_args httpd -f -p 8080 -h /www
  local id; id=$(newid)
  VM_NET_IDS=$id
  must rt run -d --bundle "$BUNDLE" "$id"
  # the namespace has a tap and redirection both ways while it runs
  assert_contains "$(ip -n "$NETNS" -o link show)" "tap0_hull" "the tap"
  assert_contains "$(ip netns exec "$NETNS" tc filter show dev eth0 ingress)" "mirred" \
    "eth0's redirection"
  poll 30 sh -c "wget -q -T 2 -O - http://$GUEST_IP:8080/ | grep -q 'hello from the vm $$'" ||
    fail "no answer from httpd in the VM at $GUEST_IP:8080"
  try wget -q -T 5 -O - "http://$GUEST_IP:8080/"
  assert_out "hello from the vm $$"
  # killed, then deleted: delete removes what the supervisor could not
  must rt delete --force "$id"
  vm_netns_clean
  assert_contains "$(ip -n "$NETNS" -o addr show eth0)" "$GUEST_IP/24" "eth0 keeps its address"
}

test_vm_network_loopback_only() {
  vm_netns bare
  run_in sh -c 'ls /sys/class/net; ip -o addr show lo'
  VM_NET_IDS=$CID
  assert_ok
  assert_eq "lo" "$(echo "$OUT" | head -1)" "interfaces"
  assert_contains "$OUT" "inet 127.0.0.1/8" "loopback up"
  vm_netns_clean
}

test_vm_host_network_refused() {
  cfg '.linux.namespaces |= map(select(.type != "network"))'
  assert_fails "host network is not supported with VM isolation" \
    rt run --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}

test_vm_network_sysctl() {
  # net.* sysctls apply in the guest's network namespace, the container's
  local host_fwd; host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
  local want=$((1 - host_fwd))
  cfg --arg v "$want" '.linux.sysctl = {"net.ipv4.ip_forward": $v, "kernel.shmmax": "123456789"}'
  run_in sh -c 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax'
  assert_ok
  assert_out "$want
123456789"
  assert_eq "$host_fwd" "$(cat /proc/sys/net/ipv4/ip_forward)" "host ip_forward"
}

test_vm_network_two_interfaces() {
  vm_netns
  # a second veth, "net1" in the namespace, in the next subnet; its
  # device comes second and must be found by its MAC, not its order
  local n2=$((NET_N + 1))
  ip -4 route show | grep -q "^10\.213\.$n2\." && skip "10.213.$n2.0/24 is in use here"
  VETH_HOST2=hvb$$
  ip link add "$VETH_HOST2" type veth peer name net1 netns "$NETNS" &&
    ip addr add "10.213.$n2.1/24" dev "$VETH_HOST2" && ip link set "$VETH_HOST2" up &&
    ip -n "$NETNS" addr add "10.213.$n2.2/24" dev net1 &&
    ip -n "$NETNS" link set net1 up &&
    ip -n "$NETNS" route add 10.214.$n2.0/24 via "10.213.$n2.1" || fail "second veth"
  local mac1; mac1=$(ip -n "$NETNS" -o link show net1 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
  run_in sh -c 'ip -o addr show; ip -o link show net1; ip route'
  VM_NET_IDS=$CID
  assert_ok
  assert_contains "$OUT" "eth0    inet $GUEST_IP/24" "eth0's address"
  assert_contains "$OUT" "net1    inet 10.213.$n2.2/24" "net1's address"
  assert_contains "$OUT" "link/ether $mac1" "net1's MAC"
  assert_contains "$OUT" "10.214.$n2.0/24 via 10.213.$n2.1 dev net1" "net1's route"
  assert_contains "$OUT" "default via $HOST_IP dev eth0" "the default route"
  vm_netns_clean
  assert_not_contains "$(ip netns exec "$NETNS" tc qdisc show dev net1)" "ingress" "net1's qdisc"
}

test_vm_network_foreign_qdisc_kept() {
  # eth0 has an ingress qdisc of someone else's: create fails, and what
  # was there stays, with nothing of ours left
  vm_netns
  ip netns exec "$NETNS" tc qdisc add dev eth0 ingress || fail "tc qdisc add"
  local id; id=$(newid)
  VM_NET_IDS=$id
  assert_fails "eth0: has an ingress qdisc already" rt create --bundle "$BUNDLE" "$id"
  assert_contains "$(ip netns exec "$NETNS" tc qdisc show dev eth0)" "ingress" \
    "the ingress qdisc that was there"
  assert_not_contains "$(ip -n "$NETNS" -o link show)" "_hull" "taps left in the namespace"
  assert_no_leftovers
}

test_vm_network_second_vm_refused() {
  # one namespace carries one VM's interfaces: a second VM container there
  # is told why, and the first one keeps working
  vm_netns
  local a b
  a=$(newid) b=$(newid)
  VM_NET_IDS="$a $b"
  set_args sleep 600
  must rt create --bundle "$BUNDLE" "$a"
  assert_fails "another VM container" rt create --bundle "$BUNDLE" "$b"
  must rt start "$a"
  must rt delete --force "$a"
  vm_netns_clean
}
