# t_vm.sh — what only VM isolation does: its own kernel, its own process
# table, RAM and vCPUs from the limits, the monitor confined on the host,
# and a guest that dies, panics, talks garbage or never boots.

runs_in_vm
vm_only test_vm_own_kernel test_vm_host_processes_invisible \
  test_vm_memory_limit_is_guest_ram test_vm_cpu_quota_is_vcpus \
  test_vm_monitor_in_container_cgroup test_vm_delete_leaves_nothing \
  test_vm_guest_reboot_ends_container test_vm_guest_panic_ends_container \
  test_vm_garbage_from_guest test_vm_guest_never_boots test_vm_guest_stops_answering \
  test_vm_writes_land_in_bundle test_vm_readonly_root_enforced_by_host \
  test_vm_readonly_bind_enforced_by_host test_vm_ps_lists_guest_processes

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
  # a guest that says HELLO and READY, then nothing ever again
  local initrd; initrd=$(vm_hostile_initrd mute '
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox mount -t sysfs sys /sys
while [ ! -e /dev/vport0p1 ]; do /bin/busybox sleep 0.05; done
exec 3<>/dev/vport0p1
/bin/busybox printf "\004\000\000\000\040\000\000\000\000\000\000\000\002\000\000\000" >&3
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
