# t_seccomp.sh — linux.seccomp beyond t_security.sh's basics (errno, kill,
# a bad default action): allowlists with defaultErrnoRet, argument
# conditions, every kill-like action, flags, architectures, unknown names,
# bad profiles failing create, exec'd processes, and SCMP_ACT_NOTIFY with a
# seccomp agent on listenerPath that receives the descriptor and the
# container process state and answers the notifications.

# (the agent is a host process: it needs the container's process on the
# same kernel, and the vm isolation's seccomp agent support is its own)
process_only test_seccomp_notify_agent_create_start test_seccomp_notify_exec \
  test_seccomp_notify_agent_missing_fails_create

# _seccomp JQ-EXPR [JQ-ARGS...] — set linux.seccomp
_seccomp() { local f=$1; shift; cfg ".linux.seccomp = $f" "$@"; }

# ---------------------------------------------------------------- agent

# _agent NAME CONNS [POLICY...] — a seccomp agent in the background,
# listening on $T/NAME.sock (AGENT_SOCK). For each of CONNS connections it
# writes the received payload to $T/NAME-N.json and "fds=K" to
# $T/NAME-N.meta; then it answers every notification in turn with the next
# POLICY word (the last one repeats): "continue" lets the syscall run,
# a number fails it with that errno, "val:N" makes it return N. Each
# answer is logged to $T/NAME.log as "nr=SYSCALL pid=PID -> ANSWER". It
# ends when every listener is gone (the processes exited) or after 60 s.
_agent() {
  local name=$1 conns=$2; shift 2
  cat >"$T/agent.py" <<'EOF'
import array, fcntl, json, os, select, socket, struct, sys, time

sock_path, out, conns = sys.argv[1], sys.argv[2], int(sys.argv[3])
policy = sys.argv[4:] or ["continue"]
NOTIF_RECV, NOTIF_SEND = 0xC0502100, 0xC0182101  # SECCOMP_IOCTL_NOTIF_*
FLAG_CONTINUE = 1

try:
    os.unlink(sock_path)
except FileNotFoundError:
    pass
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sock_path + ".tmp")
srv.listen(4)
os.rename(sock_path + ".tmp", sock_path)  # appears only when listening
deadline = time.time() + 60
listeners, n_conn, n_answered = [], 0, 0
log = open(out + ".log", "a", buffering=1)

def take_connection():
    global n_conn
    conn, _ = srv.accept()
    n_conn += 1
    data, fds = b"", array.array("i")
    while True:
        msg, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(4 * fds.itemsize))
        for level, typ, d in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fds.frombytes(d[: len(d) - len(d) % fds.itemsize])
        if not msg:
            break
        data += msg
        try:  # one state per connection: done once it parses
            json.loads(data)
            break
        except ValueError:
            pass
    conn.close()
    with open("%s-%d.json" % (out, n_conn), "wb") as f:
        f.write(data)
    with open("%s-%d.meta" % (out, n_conn), "w") as f:
        f.write("fds=%d\n" % len(fds))
    listeners.extend(fds)

def answer(fd):
    global n_answered
    req = bytearray(80)  # struct seccomp_notif, zeroed as the kernel wants
    try:
        fcntl.ioctl(fd, NOTIF_RECV, req, True)
    except OSError:
        return  # the process went away (ENOENT) or was interrupted
    nid, pid, _flags, nr = struct.unpack_from("=QIIi", req)
    p = policy[min(n_answered, len(policy) - 1)]
    n_answered += 1
    val, err, flags = 0, 0, 0
    if p == "continue":
        flags = FLAG_CONTINUE
    elif p.startswith("val:"):
        val = int(p[4:])
    else:
        err = -int(p)
    log.write("nr=%d pid=%d -> %s\n" % (nr, pid, p))
    try:
        fcntl.ioctl(fd, NOTIF_SEND, bytearray(struct.pack("=QqiI", nid, val, err, flags)))
    except OSError as e:
        log.write("send failed: %s\n" % e)

while time.time() < deadline:
    if n_conn >= conns and not listeners:
        break
    rd = listeners + ([srv] if n_conn < conns else [])
    r, _, x = select.select(rd, [], rd, 0.5)
    for fd in r + x:
        if fd is srv:
            take_connection()
            continue
        pl = select.poll()
        pl.register(fd, select.POLLIN)
        ev = pl.poll(0)
        if ev and ev[0][1] & select.POLLIN:
            answer(fd)
        elif ev and ev[0][1] & (select.POLLHUP | select.POLLERR):
            listeners.remove(fd)  # every process with the filter is gone
            os.close(fd)
EOF
  AGENT_SOCK=$T/$name.sock
  bg "agent-$name" "$PYTHON" "$T/agent.py" "$AGENT_SOCK" "$T/$name" "$conns" "$@"
  wait_for 10 test -S "$AGENT_SOCK"
}

# _notify_mkdir_profile — mkdir/mkdirat go to the agent at AGENT_SOCK
_notify_mkdir_profile() {
  _seccomp '{defaultAction: "SCMP_ACT_ALLOW", listenerPath: $s,
             listenerMetadata: "MKNOD=/dev/null;id=42",
             syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY"}]}' \
    --arg s "$AGENT_SOCK"
}

# ---------------------------------------------------------------- errno

# An allowlist: every syscall of this architecture but mkdir/mkdirat is
# allowed; those get defaultErrnoRet. Also a long profile (binary tree).
test_seccomp_allowlist_default_errno() {
  local h=/usr/include/x86_64-linux-gnu/asm/unistd_64.h
  if [ "$(uname -m)" != x86_64 ] || [ ! -f "$h" ]; then skip "needs x86_64 and its unistd_64.h"; fi
  sed -n 's/^#define __NR_\([a-z0-9_]*\) .*/\1/p' "$h" | grep -vx 'mkdir\|mkdirat' |
    jq -R . | jq -cs . >"$T/names.json"
  [ "$(jq length "$T/names.json")" -gt 300 ] || fail "could not list the syscalls"
  _seccomp '{defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 28,
             architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
             syscalls: [{names: $n, action: "SCMP_ACT_ALLOW"}]}' --argjson n "$(cat "$T/names.json")"
  run_in sh -c 'mkdir /dev/shm/d || echo MKDIR-FAILED; touch /dev/shm/f && echo TOUCH-OK'
  assert_ok
  assert_contains "$OUT" MKDIR-FAILED
  assert_contains "$OUT" TOUCH-OK
  assert_contains "$ERR" "No space left on device" "defaultErrnoRet 28 (ENOSPC)"
}

# Conditions on arguments: EQ on kill's signal, MASKED_EQ on chmod's mode.
test_seccomp_argument_conditions() {
  _seccomp '{defaultAction: "SCMP_ACT_ALLOW", syscalls: [
      {names: ["kill"], action: "SCMP_ACT_ERRNO", errnoRet: 1,
       args: [{index: 1, value: 10, op: "SCMP_CMP_EQ"}]},
      {names: ["chmod"], action: "SCMP_ACT_ERRNO", errnoRet: 28,
       args: [{index: 1, value: 7, valueTwo: 7, op: "SCMP_CMP_MASKED_EQ"}]},
      {names: ["fchmodat", "fchmodat2"], action: "SCMP_ACT_ERRNO", errnoRet: 28,
       args: [{index: 2, value: 7, valueTwo: 7, op: "SCMP_CMP_MASKED_EQ"}]}]}'
  run_in sh -c 'trap "echo GOT-USR2" USR2
                kill -USR1 $$ || echo USR1-REFUSED
                kill -USR2 $$; echo after-usr2
                touch /dev/shm/f
                chmod 777 /dev/shm/f || echo MODE-777-REFUSED
                chmod 750 /dev/shm/f && echo MODE-750-OK
                ls -l /dev/shm/f'
  assert_ok
  assert_contains "$OUT" USR1-REFUSED "kill with signal 10"
  assert_contains "$OUT" GOT-USR2 "kill with signal 12 (not matched)"
  assert_contains "$OUT" MODE-777-REFUSED "chmod mode & 7 == 7"
  assert_contains "$OUT" MODE-750-OK "chmod mode & 7 == 0"
  assert_contains "$OUT" "-rwxr-x---" "the mode chmod set"
  assert_contains "$ERR" "Operation not permitted" "errnoRet 1"
  assert_contains "$ERR" "No space left on device" "errnoRet 28"
}

# Two conditions on one argument: runc adds them as separate rules (either
# matches); hull does the same.
test_seccomp_same_argument_twice() {
  _seccomp '{defaultAction: "SCMP_ACT_ALLOW", syscalls: [
      {names: ["kill"], action: "SCMP_ACT_ERRNO",
       args: [{index: 1, value: 10, op: "SCMP_CMP_EQ"}, {index: 1, value: 12, op: "SCMP_CMP_EQ"}]}]}'
  run_in sh -c 'trap "echo GOT-HUP" HUP
                kill -USR1 $$ || echo USR1-REFUSED
                kill -USR2 $$ || echo USR2-REFUSED
                kill -HUP $$; echo end'
  assert_ok
  assert_contains "$OUT" USR1-REFUSED
  assert_contains "$OUT" USR2-REFUSED
  assert_contains "$OUT" GOT-HUP
}

# ---------------------------------------------------------------- kill

# Every kill-like action ends the process with SIGSYS: exit 128+31.
test_seccomp_kill_actions_sigsys() {
  local a
  for a in SCMP_ACT_KILL_PROCESS SCMP_ACT_KILL_THREAD SCMP_ACT_TRAP; do
    _seccomp '{defaultAction: "SCMP_ACT_ALLOW",
               syscalls: [{names: ["uname"], action: $a}]}' --arg a "$a"
    run_in uname -a
    assert_rc 159
    assert_eq "" "$OUT" "$a: output of uname"
  done
  # control: without the rule uname works
  _seccomp '{defaultAction: "SCMP_ACT_ALLOW"}'
  run_in uname -s
  assert_ok
  assert_out Linux
}

# A killed child process: its parent (the shell, PID 1) sees SIGSYS.
# (not uname here: busybox sh calls it when it starts)
test_seccomp_kill_in_child_process() {
  _seccomp '{defaultAction: "SCMP_ACT_ALLOW",
             syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_KILL_PROCESS"}]}'
  run_in sh -c '(mkdir /dev/shm/d); echo "child-status=$?"'
  assert_ok
  assert_out child-status=159
}

# ---------------------------------------------------------------- names

test_seccomp_unknown_syscall_names_accepted() {
  _seccomp '{defaultAction: "SCMP_ACT_ALLOW", syscalls: [
      {names: ["no_such_syscall_xyz", "mkdir", "mkdirat", "another_fake_call"],
       action: "SCMP_ACT_ERRNO", errnoRet: 28},
      {names: ["socketcall", "_llseek", "arm_fadvise64_64"], action: "SCMP_ACT_ERRNO"},
      {names: ["also_unknown"], action: "SCMP_ACT_KILL"}]}'
  run_in sh -c 'mkdir /dev/shm/d || echo MKDIR-REFUSED; echo end'
  assert_ok
  assert_contains "$OUT" MKDIR-REFUSED "the known names of the entry still apply"
  assert_contains "$OUT" end
  assert_contains "$ERR" "No space left on device"
}

test_seccomp_architectures() {
  [ "$(uname -m)" = x86_64 ] || skip "the list is x86_64's"
  _seccomp '{defaultAction: "SCMP_ACT_ALLOW",
             architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
             syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 28}]}'
  run_in sh -c 'mkdir /dev/shm/d || echo MKDIR-REFUSED'
  assert_ok
  assert_out MKDIR-REFUSED
}

# ---------------------------------------------------------------- flags

test_seccomp_flags() {
  known_quirk runc "1.1 refuses every seccomp flag" && return 0
  _seccomp '{defaultAction: "SCMP_ACT_ALLOW",
             flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                     "SECCOMP_FILTER_FLAG_TSYNC"],
             syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_LOG"},
                        {names: ["rmdir"], action: "SCMP_ACT_ERRNO", errnoRet: 28}]}'
  run_in sh -c 'mkdir /dev/shm/d && echo MKDIR-LOGGED-OK; rmdir /dev/shm/d || echo RMDIR-REFUSED'
  assert_ok
  assert_contains "$OUT" MKDIR-LOGGED-OK "SCMP_ACT_LOG lets the call run"
  assert_contains "$OUT" RMDIR-REFUSED
  # an unknown flag fails create
  known_quirk crun "accepts unknown seccomp flags" && return 0
  _seccomp '{defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_BOGUS"]}'
  assert_fails SECCOMP_FILTER_FLAG_BOGUS rt create --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}

# ---------------------------------------------------------------- errors

# _bad_profile SUBSTRING JQ — create fails, names the culprit (and
# seccomp), leaves nothing
_bad_profile() {
  local want=$1; shift
  _seccomp "$@"
  if known_quirk crun "some seccomp messages name neither the value nor seccomp"; then
    assert_fails "" rt create --bundle "$BUNDLE" "$(newid)"
  else
    assert_fails "$want" rt create --bundle "$BUNDLE" "$(newid)"
    local all="${OUT}${ERR}"
    assert_contains "${all,,}" seccomp "the message"
  fi
  assert_no_leftovers
}

test_seccomp_bad_profiles_fail_create() {
  _bad_profile SCMP_ACT_FOO '{defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{names: ["getcwd"], action: "SCMP_ACT_ERRNO"}, {names: ["chmod"], action: "SCMP_ACT_FOO"}]}'
  _bad_profile SCMP_CMP_FOO '{defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{names: ["kill"], action: "SCMP_ACT_ERRNO",
                  args: [{index: 1, value: 10, op: "SCMP_CMP_FOO"}]}]}'
  _bad_profile SCMP_ARCH_FOO '{defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_FOO"]}'
  # the same profiles with everything right run
  _seccomp '{defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{names: ["kill"], action: "SCMP_ACT_ERRNO", args: [{index: 1, value: 10, op: "SCMP_CMP_EQ"}]}]}'
  run_in true
  assert_ok
}

# SCMP_ACT_NOTIFY needs a listener: without listenerPath create fails.
test_seccomp_notify_needs_listener_path() {
  known_quirk crun "accepts SCMP_ACT_NOTIFY without listenerPath" && return 0
  _seccomp '{defaultAction: "SCMP_ACT_ALLOW",
             syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY"}]}'
  assert_fails listenerPath rt create --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}

# ---------------------------------------------------------------- exec

test_seccomp_applies_to_exec() {
  _seccomp '{defaultAction: "SCMP_ACT_ALLOW",
             syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 28}]}'
  set_args sleep 600
  CID=$(newid)
  must rt run -d --bundle "$BUNDLE" "$CID"
  try rt exec "$CID" sh -c 'grep "^Seccomp:" /proc/self/status; mkdir /dev/shm/x || echo MKDIR-REFUSED'
  assert_ok
  assert_contains "$OUT" "Seccomp:	2" "seccomp mode of the exec'd process"
  assert_contains "$OUT" MKDIR-REFUSED
  assert_contains "$ERR" "No space left on device"
}

# noNewPrivileges false and a non-root user without CAP_SYS_ADMIN: the
# filter must be loaded before the capabilities are dropped.
test_seccomp_without_no_new_privileges() {
  cfg '.process.noNewPrivileges = false | .process.user = {uid: 1000, gid: 1000}'
  _seccomp '{defaultAction: "SCMP_ACT_ALLOW",
             syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 28}]}'
  run_in sh -c 'grep "^NoNewPrivs:" /proc/self/status; grep "^Seccomp:" /proc/self/status
                grep "^CapEff:" /proc/self/status
                mkdir /dev/shm/d || echo MKDIR-REFUSED; id -u'
  assert_ok
  assert_contains "$OUT" "NoNewPrivs:	0"
  assert_contains "$OUT" "Seccomp:	2"
  assert_contains "$OUT" "CapEff:	0000000000000000" "capabilities of uid 1000"
  assert_contains "$OUT" MKDIR-REFUSED
  assert_contains "$ERR" "No space left on device"
  assert_contains "$OUT" 1000
}

# In a user namespace: loading needs CAP_SYS_ADMIN there (or
# no_new_privs), which the container's root has until the end.
test_seccomp_in_user_namespace() {
  cfg_userns
  cfg '.process.noNewPrivileges = false'
  _seccomp '{defaultAction: "SCMP_ACT_ALLOW",
             syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 28}]}'
  run_in sh -c 'grep "^Seccomp:" /proc/self/status; mkdir /dev/shm/d || echo MKDIR-REFUSED'
  assert_ok
  assert_contains "$OUT" "Seccomp:	2"
  assert_contains "$OUT" MKDIR-REFUSED
}

# ---------------------------------------------------------------- notify

# _check_payload FILE ID STATUS — the container process state
_check_payload() {
  local j; j=$(cat "$1")
  log "agent payload: $j"
  assert_json "$j" '.fds == ["seccompFd"]' "payload fds"
  assert_json "$j" '(.ociVersion | type) == "string" and (.ociVersion | length) > 0'
  assert_json "$j" '.metadata == "MKNOD=/dev/null;id=42"' "payload metadata"
  assert_json "$j" ".state.id == \"$2\"" "payload state.id"
  assert_eq "fds=1" "$(cat "${1%.json}.meta")" "descriptors received"
  known_quirk crun "1.8 sends pid 0, bundle \".\" and the status of start" && return 0
  assert_json "$j" '(.pid | type) == "number" and .pid > 0' "payload pid"
  assert_json "$j" ".state.status == \"$3\"" "payload state.status"
  assert_json "$j" "(.state.bundle | rtrimstr(\"/\")) == \"$BUNDLE\"" "payload state.bundle"
  assert_json "$j" '(.state.pid | type) == "number" and .state.pid > 0' "payload state.pid"
}

# create hands the listener to the agent (state "creating"); after start
# the agent answers: the first mkdir fails with its errno, the second runs.
test_seccomp_notify_agent_create_start() {
  _agent ag 1 28 continue
  _notify_mkdir_profile
  share
  set_args sh -c 'mkdir /dev/shm/a 2>/share/err-a || echo A-REFUSED >>/share/out
                  mkdir /dev/shm/b && echo B-CREATED >>/share/out
                  echo done >>/share/out'
  local id; id=$(newid)
  must rt create --bundle "$BUNDLE" "$id"
  if known_quirk crun "1.8 hands the listener over at start"; then
    must rt start "$id"
    wait_for 10 test -s "$T/ag-1.json"
    _check_payload "$T/ag-1.json" "$id" creating
  else
    wait_for 10 test -s "$T/ag-1.json"
    _check_payload "$T/ag-1.json" "$id" creating
    local pid; pid=$(pid_of "$id")
    assert_json "$(cat "$T/ag-1.json")" ".pid == $pid and .state.pid == $pid" "pids"
    # nothing was notified before the program ran
    assert_eq "" "$(cat "$T/ag.log" 2>/dev/null)" "agent log after create"
    must rt start "$id"
  fi
  wait_for 20 grep -q "done" "$SHARE/out"
  assert_contains "$(cat "$SHARE/out")" A-REFUSED
  assert_contains "$(cat "$SHARE/out")" B-CREATED
  assert_contains "$(cat "$SHARE/err-a")" "No space left on device" "errno from the agent"
  assert_contains "$(cat "$T/ag.log")" "-> 28"
  assert_contains "$(cat "$T/ag.log")" "-> continue"
}

# exec: a second connection, state "running", the init's pid in state.
test_seccomp_notify_exec() {
  _agent ag 2 28
  _notify_mkdir_profile
  set_args sleep 600
  CID=$(newid)
  must rt run -d --bundle "$BUNDLE" "$CID"
  wait_for 10 test -s "$T/ag-1.json"
  local pid; pid=$(pid_of "$CID")
  try rt exec "$CID" sh -c 'mkdir /dev/shm/x || echo MKDIR-REFUSED'
  assert_ok
  assert_out MKDIR-REFUSED
  assert_contains "$ERR" "No space left on device"
  assert_file "$T/ag-2.json"
  _check_payload "$T/ag-2.json" "$CID" running
  known_quirk crun "1.8 sends pid 0" && return 0
  assert_json "$(cat "$T/ag-2.json")" ".state.pid == $pid" "state.pid is the container's init"
  assert_json "$(cat "$T/ag-2.json")" ".pid != $pid" "pid is the exec'd process"
}

# The agent is not there: create fails and leaves nothing.
test_seccomp_notify_agent_missing_fails_create() {
  AGENT_SOCK=$T/nobody.sock
  _notify_mkdir_profile
  assert_fails "" rt create --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}
