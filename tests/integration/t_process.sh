# t_process.sh — the container process: pid, hostname, env, cwd, user,
# umask, rlimits, capabilities.

runs_in_vm

process_only test_pid_file_is_host_pid_of_init

test_pid_file_is_host_pid_of_init() {
  set_args sleep 600
  local id; id=$(newid)
  must rt create --pid-file "$T/c.pid" --bundle "$BUNDLE" "$id"
  assert_file "$T/c.pid"
  local pid; pid=$(cat "$T/c.pid")
  assert_match "$pid" '^[0-9]+$' "pid file content"
  assert_eq "$(pid_of "$id")" "$pid" "pid file vs state.pid"
  must rt start "$id"
  # the process in the pid file is the container's sleep, in another pid ns
  wait_for 10 grep -q sleep "/proc/$pid/cmdline"
  assert_ne "$(host_ns $$ pid)" "$(host_ns "$pid" pid)" "pid namespace of the container"
  assert_eq "$pid" "$(pid_of "$id")" "pid after start"
}

test_pid_file_relative() {
  set_args sleep 600
  local id; id=$(newid)
  (cd "$T" && rt create --pid-file rel.pid --bundle "$BUNDLE" "$id") || fail "create failed"
  known_quirk crun "relative --pid-file is relative to the bundle" && return 0
  assert_file "$T/rel.pid"
  assert_eq "$(pid_of "$id")" "$(cat "$T/rel.pid")" "relative pid file"
}

test_pid_one() {
  run_in sh -c 'echo $$'
  assert_ok
  assert_out 1
}

test_hostname() {
  cfg '.hostname = "it-host-name"'
  run_in hostname
  assert_ok
  assert_out it-host-name
  run_in cat /proc/sys/kernel/hostname
  assert_out it-host-name
  # the host's hostname is untouched
  assert_ne it-host-name "$(hostname)" "host hostname"
}

test_domainname() {
  known_quirk runc "1.1 ignores domainname" && return 0
  cfg '.domainname = "it.example.org"'
  run_in cat /proc/sys/kernel/domainname
  assert_ok
  assert_out it.example.org
  assert_ne it.example.org "$(cat /proc/sys/kernel/domainname)" "host domainname"
}

test_hostname_without_uts_namespace_fails() {
  cfg '.linux.namespaces |= map(select(.type != "uts")) | .hostname = "nope-host"'
  local before; before=$(hostname)
  assert_fails "" rt run --bundle "$BUNDLE" "$(newid)"
  assert_eq "$before" "$(hostname)" "host hostname"
  assert_no_leftovers
}

test_env() {
  cfg '.process.env = ["PATH=/bin:/usr/bin", "FOO=bar baz", "EMPTY=", "EQ=a=b"]'
  run_in sh -c 'echo "$FOO|$EMPTY|$EQ|$PATH"; env | sort'
  assert_ok
  assert_eq "bar baz||a=b|/bin:/usr/bin" "$(head -n1 <<<"$OUT")" "env values"
  assert_not_contains "$OUT" "TERM=" "environment (no inherited TERM)"
  assert_not_contains "$OUT" "RT_TIMEOUT" "environment (nothing from the runtime's env)"
}

test_cwd() {
  cfg '.process.cwd = "/usr/bin"'
  run_in pwd
  assert_ok
  assert_out /usr/bin
}

test_cwd_created_if_missing() {
  cfg '.process.cwd = "/tmp/new/dir" | .root.readonly = false'
  run_in pwd
  assert_ok
  assert_out /tmp/new/dir
}

test_relative_cwd_fails() {
  cfg '.process.cwd = "relative/dir"'
  known_quirk crun "accepts a relative cwd" && return 0
  assert_fails "" rt run --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}

test_user_uid_gid_additional_gids() {
  cfg '.process.user = {uid: 1000, gid: 1001, additionalGids: [5, 100, 2000]}'
  run_in sh -c 'id -u; id -g; id -G'
  assert_ok
  local lines; mapfile -t lines <<<"$OUT"
  assert_eq 1000 "${lines[0]}" uid
  assert_eq 1001 "${lines[1]}" gid
  local g
  for g in 1001 5 100 2000; do
    [[ " ${lines[2]} " == *" $g "* ]] || fail "id -G '${lines[2]}' lacks $g"
  done
  run_in sh -c 'grep -E "^(Uid|Gid|Groups):" /proc/self/status'
  assert_match "$OUT" 'Uid:[[:space:]]+1000[[:space:]]+1000[[:space:]]+1000[[:space:]]+1000' "status Uid"
  assert_match "$OUT" 'Gid:[[:space:]]+1001[[:space:]]+1001[[:space:]]+1001[[:space:]]+1001' "status Gid"
}

test_user_without_additional_gids_has_no_groups() {
  cfg '.process.user = {uid: 1000, gid: 1000}'
  run_in sh -c 'grep "^Groups:" /proc/self/status'
  assert_ok
  # no supplementary groups inherited from the runtime (root has group 0)
  assert_match "$OUT" '^Groups:[[:space:]]*(1000)?[[:space:]]*$' "supplementary groups"
}

test_umask() {
  cfg '.process.user.umask = 23'   # 0027
  run_in sh -c 'umask; touch /dev/shm/f; stat -c %a /dev/shm/f'
  assert_ok
  assert_eq "0027
640" "$OUT" "umask and resulting mode"
}

test_default_umask() {
  run_in sh -c umask
  assert_ok
  assert_out 0022
}

test_rlimits() {
  cfg '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 777, hard: 888},
                           {type: "RLIMIT_NPROC", soft: 333, hard: 444}]'
  run_in sh -c 'ulimit -n; ulimit -Hn; ulimit -u; ulimit -Hu'
  assert_ok
  assert_eq "777 888 333 444" "$(echo $OUT)" "nofile soft/hard, nproc soft/hard"
}

test_bad_rlimit_fails() {
  cfg '.process.rlimits = [{type: "RLIMIT_BOGUS", soft: 1, hard: 1}]'
  assert_fails "" rt run --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}

test_capabilities_and_no_new_privileges() {
  run_in sh -c 'grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):" /proc/self/status'
  assert_ok
  # CAP_KILL(5) CAP_NET_BIND_SERVICE(10) CAP_AUDIT_WRITE(29)
  assert_match "$OUT" 'CapEff:[[:space:]]+0000000020000420' CapEff
  assert_match "$OUT" 'CapPrm:[[:space:]]+0000000020000420' CapPrm
  assert_match "$OUT" 'CapBnd:[[:space:]]+0000000020000420' CapBnd
  assert_match "$OUT" 'CapAmb:[[:space:]]+0000000000000000' CapAmb
  assert_match "$OUT" 'NoNewPrivs:[[:space:]]+1' NoNewPrivs
}

test_capabilities_ambient_for_non_root() {
  cfg '.process.user = {uid: 1000, gid: 1000}
       | .process.capabilities = {bounding: ["CAP_NET_RAW", "CAP_CHOWN"], effective: ["CAP_NET_RAW"],
          permitted: ["CAP_NET_RAW"], inheritable: ["CAP_NET_RAW"], ambient: ["CAP_NET_RAW"]}
       | .process.noNewPrivileges = false'
  run_in sh -c 'grep -E "^(CapEff|CapBnd|CapAmb|NoNewPrivs):" /proc/self/status'
  assert_ok
  # CAP_CHOWN(0) CAP_NET_RAW(13)
  assert_match "$OUT" 'CapEff:[[:space:]]+0000000000002000' CapEff
  assert_match "$OUT" 'CapBnd:[[:space:]]+0000000000002001' CapBnd
  assert_match "$OUT" 'CapAmb:[[:space:]]+0000000000002000' CapAmb
  assert_match "$OUT" 'NoNewPrivs:[[:space:]]+0' NoNewPrivs
}

test_no_capabilities_means_chown_fails() {
  cfg '.root.readonly = false'
  run_in sh -c 'touch /f && chown 1000 /f'
  [ "$RC" -ne 0 ] || fail "chown without CAP_CHOWN succeeded"
  cfg '.process.capabilities.bounding += ["CAP_CHOWN"] | .process.capabilities.effective += ["CAP_CHOWN"]
       | .process.capabilities.permitted += ["CAP_CHOWN"]'
  run_in sh -c 'touch /g && chown 1000 /g && stat -c %u /g'
  assert_ok
  assert_out 1000
}

test_oom_score_adj() {
  cfg '.process.oomScoreAdj = 123'
  run_in cat /proc/self/oom_score_adj
  assert_ok
  assert_out 123
}
