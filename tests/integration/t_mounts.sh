# t_mounts.sh — root file system, mounts, /proc, /dev, masked and
# read-only paths, mount destinations through symlinks.

runs_in_vm

test_proc_shows_only_container_processes() {
  set_args sh -c 'echo /proc/[0-9]*; tr "\0" " " < /proc/1/cmdline; echo'
  CID=$(newid)
  try rt run --bundle "$BUNDLE" "$CID"
  assert_ok
  assert_eq "/proc/1" "$(head -n1 <<<"$OUT")" "pids in /proc"
  assert_match "$(tail -n1 <<<"$OUT")" '^sh -c ' "/proc/1/cmdline"
}

test_proc_is_procfs_with_sys_and_self() {
  run_in sh -c 'grep " /proc " /proc/mounts; readlink /proc/self; test -d /proc/sys/kernel && echo sys-ok'
  assert_ok
  assert_match "$OUT" '(^|
)proc /proc proc ' "/proc mount"
  assert_contains "$OUT" sys-ok
}

test_bind_mount_rw_and_ro() {
  mkdir -p "$T/host"
  echo hello-host >"$T/host/data"
  chmod 777 "$T/host"
  add_mount /rw bind "$T/host" rbind rw
  add_mount /ro bind "$T/host" rbind ro
  run_in sh -c 'cat /rw/data; cat /ro/data
                echo from-rw > /rw/new && echo rw-ok
                echo from-ro > /ro/other && echo ro-WRITABLE
                grep -E " /(rw|ro) " /proc/mounts'
  assert_contains "$OUT" "hello-host
hello-host" "reads through both mounts"
  assert_contains "$OUT" rw-ok
  assert_not_contains "$OUT" ro-WRITABLE
  assert_contains "$ERR" "Read-only file system" "error writing into the ro mount"
  assert_eq from-rw "$(cat "$T/host/new")" "host file written through the rw mount"
  assert_no_file "$T/host/other"
  assert_match "$OUT" '/ro [^ ]+ ro[, ]' "ro mount options"
}

test_bind_mount_file() {
  echo "10.1.2.3 it-bound-host" >"$T/hosts"
  add_mount /etc/hosts bind "$T/hosts" bind ro
  run_in cat /etc/hosts
  assert_ok
  assert_out "10.1.2.3 it-bound-host"
}

test_bind_mount_relative_source() {
  mkdir -p "$BUNDLE/reldir"
  echo rel-content >"$BUNDLE/reldir/f"
  add_mount /rel bind reldir rbind ro
  run_in cat /rel/f
  assert_ok
  assert_out rel-content
}

test_bind_mount_missing_source_fails() {
  add_mount /nope bind "$T/does-not-exist" rbind
  assert_fails "" rt run --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}

test_tmpfs_with_size_and_mode() {
  add_mount /scratch tmpfs tmpfs size=1m mode=1777 nosuid nodev
  run_in sh -c 'grep " /scratch " /proc/mounts; stat -c %a /scratch
                dd if=/dev/zero of=/scratch/half bs=1k count=512 2>/dev/null && echo half-ok
                dd if=/dev/zero of=/scratch/big bs=1k count=2048 2>/dev/null && echo big-WRITTEN'
  assert_match "$OUT" 'tmpfs /scratch tmpfs [^ ]*size=1024k' "tmpfs mount line"
  assert_match "$OUT" 'tmpfs /scratch tmpfs [^ ]*nosuid' "nosuid option"
  assert_contains "$OUT" "
1777
" "tmpfs mode"
  assert_contains "$OUT" half-ok
  assert_not_contains "$OUT" big-WRITTEN
}

test_mount_options_noexec_nosuid() {
  add_mount /ex tmpfs tmpfs exec mode=755
  add_mount /noex tmpfs tmpfs noexec mode=755
  cfg '.root.readonly = true'
  run_in sh -c 'for d in /ex /noex; do cp /bin/busybox $d/true; $d/true && echo "$d exec-ok"; done'
  assert_contains "$OUT" "/ex exec-ok"
  assert_not_contains "$OUT" "/noex exec-ok"
}

test_dev_nodes() {
  run_in sh -c 'for f in null zero full random urandom tty; do stat -c "%n %F %t %T" /dev/$f; done
                echo x > /dev/null && echo null-ok
                head -c 4 /dev/zero | wc -c
                head -c 8 /dev/urandom | wc -c
                echo x > /dev/full || echo full-enospc'
  local want="/dev/null character special file 1 3
/dev/zero character special file 1 5
/dev/full character special file 1 7
/dev/random character special file 1 8
/dev/urandom character special file 1 9
/dev/tty character special file 5 0"
  assert_eq "$want" "$(head -n6 <<<"$OUT")" "device nodes"
  assert_contains "$OUT" null-ok
  assert_contains "$OUT" "
4
8
full-enospc" "reads from zero/urandom, write to full"
  assert_contains "$ERR" "No space left on device" "write to /dev/full"
}

test_dev_symlinks() {
  run_in sh -c 'for l in fd stdin stdout stderr ptmx; do echo "$l -> $(readlink /dev/$l)"; done'
  assert_ok
  assert_eq "fd -> /proc/self/fd
stdin -> /proc/self/fd/0
stdout -> /proc/self/fd/1
stderr -> /proc/self/fd/2
ptmx -> pts/ptmx" "$OUT" "/dev symlinks"
}

test_dev_pts_shm_mqueue() {
  # hold a host pty open so that the host's devpts has an entry
  bg hostpty "$PYTHON" -c 'import os, pty, sys, time
m, s = pty.openpty(); print(os.ttyname(s)); sys.stdout.flush(); time.sleep(60)'
  wait_for 10 test -s "$T/hostpty.out"
  local hostpty; hostpty=$(cat "$T/hostpty.out")
  assert_file "$hostpty"
  run_in sh -c 'grep -E " /dev/(pts|shm|mqueue) " /proc/mounts | cut -d" " -f1-3
                 test -c /dev/pts/ptmx && echo ptmx-ok
                 echo "pts=$(ls /dev/pts | tr "\n" " ")"'
  assert_ok
  assert_contains "$OUT" "devpts /dev/pts devpts" "devpts mount"
  assert_contains "$OUT" "/dev/shm tmpfs" "shm mount"
  assert_contains "$OUT" "/dev/mqueue mqueue" "mqueue mount"
  assert_contains "$OUT" ptmx-ok
  # a new devpts instance: none of the host's ptys are visible
  assert_eq "pts=ptmx " "$(tail -n1 <<<"$OUT")" "entries of /dev/pts"
}

test_dev_is_private_tmpfs() {
  run_in sh -c 'grep " /dev " /proc/mounts | cut -d" " -f3; ls /dev | grep -cE "^(sda|vda|nvme|kvm|mem|kmsg|loop)"'
  assert_eq "tmpfs
0" "$OUT" "/dev type and absence of host devices"
}

test_linux_devices() {
  cfg '.linux.devices = [
         {path: "/dev/hullzero", type: "c", major: 1, minor: 5, fileMode: 420, uid: 1000, gid: 1001},
         {path: "/dev/sub/dir/hullnull", type: "c", major: 1, minor: 3, fileMode: 438},
         {path: "/dev/hullblk", type: "b", major: 7, minor: 0}]'
  run_in sh -c 'stat -c "%n|%F|%t|%T|%a|%u|%g" /dev/hullzero /dev/sub/dir/hullnull
                stat -c "%n|%F|%t|%T" /dev/hullblk
                head -c 4 /dev/hullzero | od -An -tx1 | tr -d " "
                echo x > /dev/sub/dir/hullnull && echo null-write-ok'
  assert_ok
  assert_eq "/dev/hullzero|character special file|1|5|644|1000|1001
/dev/sub/dir/hullnull|character special file|1|3|666|0|0
/dev/hullblk|block special file|7|0
00000000
null-write-ok" "$OUT" "devices"
}

test_readonly_root() {
  run_in sh -c 'grep -E "^[^ ]+ / " /proc/mounts; touch /newfile && echo WRITABLE'
  assert_not_contains "$OUT" WRITABLE
  assert_contains "$ERR" "Read-only file system"
  assert_match "$OUT" '^[^ ]+ / [^ ]+ ro[, ]' "root mount options"
  assert_no_file "$BUNDLE/rootfs/newfile"
}

test_writable_root() {
  cfg '.root.readonly = false'
  run_in sh -c 'echo written > /newfile && cat /newfile'
  assert_ok
  assert_out written
  assert_eq written "$(cat "$BUNDLE/rootfs/newfile")" "file on the host side of the rootfs"
}

test_root_is_pivoted() {
  # nothing of the host's file system is reachable: / is the bundle rootfs
  touch "$BUNDLE/rootfs/marker-$ID"
  run_in sh -c "ls /marker-$ID && ls /root/.. >/dev/null && test ! -e $T && test ! -e /work && echo isolated"
  assert_ok
  assert_contains "$OUT" isolated
}

test_masked_paths() {
  mkdir -p "$BUNDLE/rootfs/secret-dir"
  echo top-secret >"$BUNDLE/rootfs/secret-dir/s"
  echo top-secret >"$BUNDLE/rootfs/secret-file"
  cfg '.linux.maskedPaths += ["/secret-dir", "/secret-file", "/no/such/path"]'
  [ -s /proc/timer_list ] || [ "$(wc -c </proc/timer_list)" -gt 0 ] || skip "host /proc/timer_list is empty"
  run_in sh -c 'echo "kcore=$(cat /proc/kcore 2>/dev/null | wc -c)"
                echo "timer_list=$(cat /proc/timer_list 2>/dev/null | wc -c)"
                echo "firmware=$(ls /sys/firmware 2>/dev/null | wc -l)"
                echo "dir=$(cat /secret-dir/s 2>/dev/null)$(ls /secret-dir 2>/dev/null)"
                echo "file=$(cat /secret-file 2>/dev/null)"'
  assert_ok
  assert_eq "kcore=0
timer_list=0
firmware=0
dir=
file=" "$OUT" "masked paths"
  # the container cannot unmask them (no CAP_SYS_ADMIN)
  run_in sh -c 'umount /secret-file 2>/dev/null; cat /secret-file'
  assert_not_contains "$OUT" top-secret
}

test_readonly_paths() {
  mkdir -p "$T/data"; chmod 777 "$T/data"
  add_mount /data bind "$T/data" rbind rw
  cfg '.linux.readonlyPaths += ["/data"]
       | .process.capabilities.bounding += ["CAP_SYS_ADMIN"]
       | .process.capabilities.effective += ["CAP_SYS_ADMIN"]
       | .process.capabilities.permitted += ["CAP_SYS_ADMIN"]'
  run_in sh -c 'echo nope-host > /proc/sys/kernel/hostname && echo PROC-SYS-WRITABLE
                echo x > /data/f && echo DATA-WRITABLE
                hostname'
  assert_not_contains "$OUT" PROC-SYS-WRITABLE
  assert_not_contains "$OUT" DATA-WRITABLE
  assert_contains "$ERR" "Read-only file system"
  assert_eq hull "$(tail -n1 <<<"$OUT")" hostname
  assert_no_file "$T/data/f"
}

test_mount_through_absolute_symlink_stays_in_rootfs() {
  # rootfs/evil -> /etc (absolute): the tmpfs must land on the rootfs's
  # /etc, not on the host's /etc
  ln -s /etc "$BUNDLE/rootfs/evil"
  add_mount /evil tmpfs tmpfs size=64k
  # and a destination below it must not create anything on the host
  add_mount "/evil/hull-probe-$ID" tmpfs tmpfs size=64k
  local host_etc; host_etc=$(stat -c %d:%i /etc)
  run_in sh -c 'grep -E " /etc(/[^ ]*)? tmpfs " /proc/mounts | cut -d" " -f2
                test -e /etc/passwd && echo PASSWD-VISIBLE; ls /etc'
  local probe_on_host=0
  if [ -e "/etc/hull-probe-$ID" ]; then probe_on_host=1; rmdir "/etc/hull-probe-$ID" 2>/dev/null; fi
  assert_ok
  assert_eq 0 "$probe_on_host" "mount point created in the host's /etc"
  assert_contains "$OUT" "/etc
/etc/hull-probe-$ID" "tmpfs mounts at the container's /etc"
  assert_not_contains "$OUT" PASSWD-VISIBLE
  assert_eq "$host_etc" "$(stat -c %d:%i /etc)" "host /etc"
  assert_file /etc/passwd
  assert_file "$BUNDLE/rootfs/etc/passwd"
}

test_mount_through_symlink_to_host_path_stays_in_rootfs() {
  mkdir -p "$T/outside"
  ln -s "$T/outside" "$BUNDLE/rootfs/evil-abs"
  ln -s "../../../../../../../../../../../..$T/outside2" "$BUNDLE/rootfs/evil-rel"
  mkdir -p "$T/outside2"
  mkdir -p "$T/src"; echo bound >"$T/src/f"
  add_mount /evil-abs/sub tmpfs tmpfs size=64k
  add_mount /evil-rel/sub bind "$T/src" rbind
  run_in sh -c "cat /evil-rel/sub/f; grep -c ' $T/outside/sub tmpfs ' /proc/mounts"
  # nothing may be created or mounted at the host paths
  assert_no_file "$T/outside/sub"
  assert_no_file "$T/outside2/sub"
  if [ "$RC" -eq 0 ]; then
    # runc: the destinations are created inside the rootfs
    assert_eq "bound
1" "$OUT" "mounts inside the container"
  else
    # crun: refuses to create a destination under a dangling symlink
    log "the runtime refused the mounts (acceptable)"
    assert_no_leftovers
  fi
}
