# t_run.sh — `run`: stdio, exit codes, detach, signal forwarding.

runs_in_vm

test_run_stdout_stderr() {
  run_in sh -c 'echo to-stdout; echo to-stderr >&2; echo more-stdout'
  assert_ok
  assert_eq "to-stdout
more-stdout" "$OUT" stdout
  assert_contains "$ERR" to-stderr stderr
  assert_not_contains "$OUT" to-stderr stdout
}

test_run_stdin_passthrough() {
  set_args sh -c 'read line; echo "got:$line"'
  local id; id=$(newid)
  echo hello-stdin >"$T/in"
  rt run --bundle "$BUNDLE" "$id" <"$T/in" >"$T/o" 2>"$T/e"
  assert_eq 0 $? "exit code"
  assert_eq "got:hello-stdin" "$(cat "$T/o")" stdout
}

test_run_exit_code() {
  run_in sh -c 'exit 42'
  assert_rc 42
  run_in true
  assert_rc 0
  run_in false
  assert_rc 1
  # the container is gone after run returns
  assert_no_leftovers
}

test_run_killed_by_signal_exit_code() {
  # without a pid namespace the shell is not PID 1 and dies of SIGTERM
  cfg '.linux.namespaces |= map(select(.type != "pid"))'
  run_in sh -c 'kill -TERM $$; sleep 5'
  assert_rc 143
}

test_run_killed_externally_exit_code() {
  share
  set_args sh -c 'touch /share/ready; exec sleep 600'
  local id; id=$(newid)
  bg run rt run --bundle "$BUNDLE" "$id"
  local runpid=$BGPID
  wait_for 20 test -e "$SHARE/ready"
  wait_status "$id" running
  must rt kill "$id" KILL
  bg_wait "$runpid" 20
  assert_rc 137
}

test_run_detach() {
  set_args sleep 600
  local id; id=$(newid)
  local t0=$SECONDS
  must rt run -d --bundle "$BUNDLE" "$id"
  [ $((SECONDS - t0)) -lt 20 ] || fail "run -d did not return promptly"
  assert_status "$id" running
  local pid; pid=$(pid_of "$id")
  assert_int_gt "$pid" 0 pid
  kill -0 "$pid" || fail "container pid $pid not alive"
  must rt kill "$id" KILL
  wait_status "$id" stopped
  must rt delete "$id"
  assert_no_leftovers
}

test_run_detach_pid_file() {
  set_args sleep 600
  local id; id=$(newid)
  must rt run -d --pid-file "$T/run.pid" --bundle "$BUNDLE" "$id"
  assert_file "$T/run.pid"
  assert_eq "$(pid_of "$id")" "$(cat "$T/run.pid")" "pid file"
}

test_run_missing_executable_fails() {
  run_in /no/such/binary
  [ "$RC" -ne 0 ] || fail "run of a missing executable succeeded"
  assert_contains "$OUT$ERR" "/no/such/binary" "error message"
  assert_no_leftovers
}

test_run_empty_args_fails() {
  cfg '.process.args = []'
  CID=$(newid)
  assert_fails "" rt run --bundle "$BUNDLE" "$CID"
  assert_no_leftovers
}

test_run_forwards_sigterm() {
  share
  set_args sh -c 'trap "echo got-term > /share/term; exit 0" TERM
                  touch /share/ready
                  while :; do sleep 0.1; done'
  local id; id=$(newid)
  local iso=(); [ "$IS_HULL" = 1 ] && iso=("--isolation=$ISOLATION")
  # the runtime itself (not a timeout wrapper) gets the signal
  bg run "$RUNTIME" --root "$STATE" "${iso[@]}" run --bundle "$BUNDLE" "$id"
  local runpid=$BGPID
  wait_for 20 test -e "$SHARE/ready"
  kill -TERM "$runpid"
  bg_wait "$runpid" 20
  assert_rc 0
  assert_file "$SHARE/term"
  assert_eq got-term "$(cat "$SHARE/term")" marker
}

test_run_forwards_other_signals() {
  share
  set_args sh -c 'trap "echo usr1 >> /share/sig" USR1
                  trap "echo hup >> /share/sig" HUP
                  trap "exit 3" TERM
                  touch /share/ready
                  while :; do sleep 0.1; done'
  local id; id=$(newid)
  local iso=(); [ "$IS_HULL" = 1 ] && iso=("--isolation=$ISOLATION")
  bg run "$RUNTIME" --root "$STATE" "${iso[@]}" run --bundle "$BUNDLE" "$id"
  local runpid=$BGPID
  wait_for 20 test -e "$SHARE/ready"
  kill -USR1 "$runpid"
  wait_for 10 grep -q usr1 "$SHARE/sig"
  kill -HUP "$runpid"
  wait_for 10 grep -q hup "$SHARE/sig"
  kill -TERM "$runpid"
  bg_wait "$runpid" 20
  assert_rc 3
}
