# t_exec.sh — `exec` into a running container.

runs_in_vm

# (these look at the exec'd process from the host)
process_only test_exec_joins_every_namespace_and_cgroup test_exec_detach_pid_file \
  test_exec_process_dies_with_container

# _running — start a container running `sleep 600` as CID (pid CPID)
_running() {
  set_args sleep 600
  CID=$(newid)
  must rt run -d --bundle "$BUNDLE" "$CID"
  CPID=$(pid_of "$CID")
}

test_exec_joins_every_namespace_and_cgroup() {
  _running
  local ns want got
  try rt exec "$CID" sh -c 'for n in pid net ipc uts mnt cgroup user; do echo "$n $(readlink /proc/self/ns/$n)"; done'
  assert_ok
  for ns in pid net ipc uts mnt cgroup user; do
    want="$ns $(host_ns "$CPID" "$ns")"
    got=$(grep "^$ns " <<<"$OUT")
    assert_eq "$want" "$got" "namespace of the exec'd process"
  done
  # same cgroups as the container's init (host view)
  must rt exec -d --pid-file "$T/e.pid" "$CID" sleep 600
  local epid; epid=$(cat "$T/e.pid")
  assert_eq "$(cat /proc/"$CPID"/cgroup)" "$(cat /proc/"$epid"/cgroup)" "cgroups of the exec'd process"
  assert_eq "$(readlink /proc/"$CPID"/root)" "$(readlink /proc/"$epid"/root)" "root of the exec'd process"
}

test_exec_sees_container_view() {
  cfg '.hostname = "exec-host"'
  _running
  try rt exec "$CID" sh -c 'hostname; echo $$; cat /proc/1/cmdline | tr "\0" " "; echo; ls /etc/passwd'
  assert_ok
  local lines; mapfile -t lines <<<"$OUT"
  assert_eq exec-host "${lines[0]}" hostname
  assert_ne 1 "${lines[1]}" "pid of the exec'd shell"
  [ "${lines[1]}" -lt 100 ] || fail "pid ${lines[1]} is not from the container's pid namespace"
  assert_eq "sleep 600 " "${lines[2]}" "/proc/1/cmdline seen by exec"
  assert_eq /etc/passwd "${lines[3]}" "root file system"
}

test_exec_stdio_and_exit_code() {
  _running
  try rt exec "$CID" sh -c 'echo exec-out; echo exec-err >&2; exit 7'
  assert_rc 7
  assert_out exec-out
  assert_contains "$ERR" exec-err
  try rt exec "$CID" true
  assert_rc 0
  # container still running after execs
  assert_status "$CID" running
}

test_exec_stdin() {
  _running
  echo exec-input >"$T/in"
  rt exec "$CID" sh -c 'read l; echo "got:$l"' <"$T/in" >"$T/o" 2>"$T/e"
  assert_eq 0 $? "exit code"
  assert_eq got:exec-input "$(cat "$T/o")" stdout
}

test_exec_killed_by_signal_exit_code() {
  _running
  try rt exec "$CID" sh -c 'kill -KILL $$'
  assert_rc 137
}

test_exec_process_json() {
  _running
  cat >"$T/process.json" <<'EOF'
{
  "terminal": false,
  "user": { "uid": 1000, "gid": 1000, "additionalGids": [ 7 ] },
  "args": [ "sh", "-c", "echo \"$A|$(pwd)|$(id -u)|$(id -g)|$(id -G)\"" ],
  "env": [ "PATH=/bin:/usr/bin", "A=from-process-json" ],
  "cwd": "/tmp",
  "noNewPrivileges": true
}
EOF
  try rt exec --process "$T/process.json" "$CID"
  assert_ok
  assert_match "$OUT" '^from-process-json\|/tmp\|1000\|1000\|.*\b7\b' "process.json exec"
}

test_exec_process_json_bad_fails() {
  _running
  echo '{"args": ' >"$T/process.json"
  assert_fails "" rt exec --process "$T/process.json" "$CID"
  assert_status "$CID" running
}

test_exec_env_cwd_user() {
  _running
  try rt exec -e A=1 -e B="two words" --cwd /usr -u 1000:1001 "$CID" \
    /bin/sh -c 'echo "$A|$B|$(pwd)|$(id -u)|$(id -g)"'
  assert_ok
  assert_out "1|two words|/usr|1000|1001"
}

test_exec_inherits_container_env() {
  cfg '.process.env += ["FROM_CONFIG=yes"]'
  _running
  try rt exec "$CID" sh -c 'echo "$FROM_CONFIG|$PATH"'
  assert_ok
  assert_out "yes|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  try rt exec -e FROM_CONFIG=overridden "$CID" /bin/sh -c 'echo "$FROM_CONFIG|$PATH"'
  if known_quirk crun "exec -e replaces the whole environment"; then
    assert_match "$OUT" '^overridden\|'
  else
    assert_out "overridden|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  fi
}

test_exec_capabilities_and_nnp_match_config() {
  _running
  try rt exec "$CID" sh -c 'grep -E "^(CapEff|CapBnd|NoNewPrivs):" /proc/self/status'
  assert_ok
  assert_match "$OUT" 'CapEff:[[:space:]]+0000000020000420' CapEff
  assert_match "$OUT" 'CapBnd:[[:space:]]+0000000020000420' CapBnd
  known_quirk crun "exec does not apply noNewPrivileges from config" ||
    assert_match "$OUT" 'NoNewPrivs:[[:space:]]+1' NoNewPrivs
}

test_exec_detach_pid_file() {
  _running
  local t0=$SECONDS
  must rt exec -d --pid-file "$T/exec.pid" "$CID" sleep 600
  [ $((SECONDS - t0)) -lt 20 ] || fail "exec -d did not return promptly"
  assert_file "$T/exec.pid"
  local epid; epid=$(cat "$T/exec.pid")
  assert_match "$epid" '^[0-9]+$' "pid file"
  kill -0 "$epid" || fail "exec'd pid $epid is not alive"
  assert_eq "$(host_ns "$CPID" pid)" "$(host_ns "$epid" pid)" "pid namespace of the detached exec"
  assert_match "$(tr '\0' ' ' </proc/"$epid"/cmdline)" '^sleep 600' "cmdline of the detached exec"
  try rt ps --format json "$CID"
  assert_json "$OUT" "index($epid) != null" "ps includes the exec'd pid"
}

test_exec_into_stopped_container_fails() {
  set_args true
  local id; id=$(newid)
  must rt create --bundle "$BUNDLE" "$id"
  must rt start "$id"
  wait_status "$id" stopped
  assert_fails "" rt exec "$id" true
}

test_exec_into_nonexistent_container_fails() {
  assert_fails "" rt exec no-such-container true
}

test_exec_missing_binary_fails() {
  _running
  try rt exec "$CID" /no/such/binary
  assert_ne 0 "$RC" "exit code"
  assert_contains "$OUT$ERR" /no/such/binary "error message"
  assert_status "$CID" running
}

test_exec_process_dies_with_container() {
  _running
  must rt exec -d --pid-file "$T/exec.pid" "$CID" sleep 600
  local epid; epid=$(cat "$T/exec.pid")
  must rt kill "$CID" KILL
  wait_status "$CID" stopped
  poll 10 pid_dead "$epid" || fail "exec'd process $epid survived its container"
}

# uint64 values above INT64_MAX (RLIM_INFINITY) survive every hop: the
# container's config, the exec composed from it, and in a VM the guest's copy
test_exec_keeps_rlim_infinity() {
  set_args sleep 600
  # (jq would round the literal: it is written into the text, last)
  cfg '.process.rlimits = [{type: "RLIMIT_CORE", soft: 4242424242, hard: 4242424242}]'
  sed -i 's/4242424242/18446744073709551615/g' "$BUNDLE/config.json"
  local id; id=$(newid)
  must rt run -d --bundle "$BUNDLE" "$id"
  must rt exec "$id" sh -c 'ulimit -c; ulimit -Hc'
  assert_out "unlimited
unlimited"
}
