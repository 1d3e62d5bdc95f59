# t_lifecycle.sh — create, start, state, kill, delete, list and their errors.

runs_in_vm

# (these look at host-side processes and cgroups of the container)
process_only test_delete_force_running test_kill_by_name_and_number test_delete_removes_cgroups \
  test_ps_lists_container_processes

test_create_state_start_kill_delete() {
  set_args sleep 600
  cfg '.annotations = {"org.example.key": "value-1", "other": "2"}'
  local id; id=$(newid)
  must rt create --bundle "$BUNDLE" "$id"
  must rt state "$id"
  local st=$OUT
  assert_json "$st" '.ociVersion | type == "string" and length > 0' "state.ociVersion"
  assert_json "$st" ".id == \"$id\"" "state.id"
  assert_json "$st" '.status == "created"' "state.status"
  assert_json "$st" '.pid | type == "number" and . > 0' "state.pid"
  assert_json "$st" ".bundle == \"$BUNDLE\"" "state.bundle"
  assert_json "$st" '.annotations["org.example.key"] == "value-1" and .annotations.other == "2"' "state.annotations"
  local pid; pid=$(jq -r .pid <<<"$st")
  kill -0 "$pid" 2>/dev/null || fail "created container's pid $pid is not alive"

  must rt start "$id"
  assert_status "$id" running
  assert_eq "$pid" "$(pid_of "$id")" "pid after start"

  must rt kill "$id" KILL
  wait_status "$id" stopped
  must rt delete "$id"
  assert_fails "" rt state "$id"
  assert_no_leftovers
}

test_process_runs_only_after_start() {
  share
  set_args sh -c 'touch /share/started; exec sleep 600'
  local id; id=$(newid)
  must rt create --bundle "$BUNDLE" "$id"
  assert_status "$id" created
  sleep 0.5
  assert_no_file "$SHARE/started"
  must rt start "$id"
  wait_for 10 test -e "$SHARE/started"
  assert_status "$id" running
}

test_start_returns_while_process_runs() {
  set_args sleep 600
  local id; id=$(newid)
  must rt create --bundle "$BUNDLE" "$id"
  local t0=$SECONDS
  must rt start "$id"
  [ $((SECONDS - t0)) -lt 20 ] || fail "start waited for the process"
  assert_status "$id" running
}

test_stopped_after_exit() {
  share
  set_args sh -c 'echo done > /share/done'
  local id; id=$(newid)
  must rt create --bundle "$BUNDLE" "$id"
  must rt start "$id"
  wait_for 10 test -e "$SHARE/done"
  wait_status "$id" stopped
  must rt delete "$id"
  assert_no_leftovers
}

# a container that traps signals writes each one's name to /share/sig
_sig_container() {
  share
  set_args sh -c 'for s in HUP USR1 USR2 TERM; do trap "echo $s >> /share/sig" $s; done
                  touch /share/ready
                  while :; do sleep 0.1; done'
  CID=$(newid)
  must rt create --bundle "$BUNDLE" "$CID"
  must rt start "$CID"
  wait_for 20 test -e "$SHARE/ready"
}

_last_sig() { [ "$(tail -n1 "$SHARE/sig" 2>/dev/null)" = "$1" ]; }

test_kill_signal_forms() {
  _sig_container
  must rt kill "$CID" USR1
  wait_for 10 _last_sig USR1
  must rt kill "$CID" SIGUSR2
  wait_for 10 _last_sig USR2
  must rt kill "$CID" 1
  wait_for 10 _last_sig HUP
  must rt kill "$CID" TERM
  wait_for 10 _last_sig TERM
  # default signal is SIGTERM
  must rt kill "$CID"
  _two_terms() { [ "$(grep -c TERM "$SHARE/sig")" -eq 2 ]; }
  wait_for 10 _two_terms
  assert_status "$CID" running
  assert_eq "USR1 USR2 HUP TERM TERM" "$(tr '\n' ' ' <"$SHARE/sig" | sed 's/ $//')" "signals received"
}

test_kill_bad_signal_fails() {
  _sig_container
  assert_fails "" rt kill "$CID" 999
  known_quirk crun "accepts unknown signal names" ||
    assert_fails "" rt kill "$CID" SIGNOPE
  assert_status "$CID" running
}

test_kill_by_name_and_number() {
  local sig id pid
  for sig in KILL SIGKILL 9; do
    set_args sleep 600
    id=$(newid)
    must rt create --bundle "$BUNDLE" "$id"
    must rt start "$id"
    pid=$(pid_of "$id")
    must rt kill "$id" "$sig"
    wait_status "$id" stopped
    poll 10 pid_dead "$pid" || fail "pid $pid still exists after kill $sig"
    must rt delete "$id"
  done
  assert_no_leftovers
}

test_kill_created_container() {
  set_args sleep 600
  local id; id=$(newid)
  must rt create --bundle "$BUNDLE" "$id"
  must rt kill "$id" KILL
  wait_status "$id" stopped
  must rt delete "$id"
  assert_no_leftovers
}

test_delete_running_requires_force() {
  set_args sleep 600
  local id; id=$(newid)
  must rt run -d --bundle "$BUNDLE" "$id"
  assert_fails "" rt delete "$id"
  assert_status "$id" running
  must rt delete --force "$id"
  assert_fails "" rt state "$id"
  assert_no_leftovers
}

test_delete_force_running() {
  set_args sleep 600
  local id; id=$(newid)
  must rt run -d --bundle "$BUNDLE" "$id"
  local pid; pid=$(pid_of "$id")
  must rt delete --force "$id"
  poll 10 pid_dead "$pid" || fail "container pid $pid survived delete --force"
  assert_no_leftovers
}

test_delete_created_container() {
  share
  set_args sh -c 'touch /share/started'
  local id; id=$(newid)
  must rt create --bundle "$BUNDLE" "$id"
  must rt delete --force "$id"
  assert_fails "" rt state "$id"
  assert_no_leftovers
  sleep 0.2
  assert_no_file "$SHARE/started"
}

test_delete_nonexistent_fails() {
  assert_fails "" rt delete nope-nope
  # --force on a missing container is not an error for runc/crun
  try rt delete --force nope-nope
  assert_rc 0
}

test_list_formats() {
  set_args sleep 600
  local a b; a=$(newid); b=$(newid)
  must rt create --bundle "$BUNDLE" "$a"
  must rt run -d --bundle "$BUNDLE" "$b"
  must rt list
  assert_contains "$OUT" ID "list header"
  assert_contains "$OUT" STATUS "list header"
  assert_match "$OUT" "(^|
)$a +[0-9]+ +created +$BUNDLE" "list line of $a"
  assert_match "$OUT" "(^|
)$b +[0-9]+ +running +$BUNDLE" "list line of $b"
  must rt list -q
  assert_eq "$(printf '%s\n%s' "$a" "$b")" "$(sort <<<"$OUT")" "list -q"
  must rt list --format json
  assert_json "$OUT" 'type == "array" and length == 2' "list json"
  assert_json "$OUT" "map(select(.id == \"$a\"))[0] | .status == \"created\" and .pid > 0 and .bundle == \"$BUNDLE\"" "list json $a"
  assert_json "$OUT" "map(select(.id == \"$b\"))[0] | .status == \"running\" and .pid > 0" "list json $b"
}

test_list_empty() {
  must rt list -q
  assert_eq "" "$OUT" "list -q of an empty root"
  must rt list --format json
  assert_json "$OUT" '(. == null) or (. == [])' "list json of an empty root"
}

test_start_twice_fails() {
  set_args sleep 600
  local id; id=$(newid)
  must rt create --bundle "$BUNDLE" "$id"
  must rt start "$id"
  assert_fails "" rt start "$id"
  assert_status "$id" running
}

test_start_stopped_fails() {
  set_args true
  local id; id=$(newid)
  must rt create --bundle "$BUNDLE" "$id"
  must rt start "$id"
  wait_status "$id" stopped
  assert_fails "" rt start "$id"
  assert_status "$id" stopped
}

test_start_nonexistent_fails() {
  assert_fails "" rt start no-such-container
}

test_kill_stopped_fails() {
  set_args true
  local id; id=$(newid)
  must rt create --bundle "$BUNDLE" "$id"
  must rt start "$id"
  wait_status "$id" stopped
  assert_fails "" rt kill "$id" KILL
}

test_state_nonexistent_fails() {
  assert_fails "" rt state no-such-container
}

test_duplicate_id_fails() {
  set_args sleep 600
  local id; id=$(newid)
  must rt create --bundle "$BUNDLE" "$id"
  local pid; pid=$(pid_of "$id")
  assert_fails "exist" rt create --bundle "$BUNDLE" "$id"
  assert_status "$id" created
  assert_eq "$pid" "$(pid_of "$id")" "pid of the first container"
  assert_fails "exist" rt run -d --bundle "$BUNDLE" "$id"
  assert_status "$id" created
}

test_bad_ids_fail() {
  local bad
  # (runc also rejects "a b"; crun accepts it)
  for bad in "" "a/b" ".." "." "../x" "a
b"; do
    assert_fails "" rt create --bundle "$BUNDLE" "$bad"
    assert_no_leftovers
  done
  [ ! -e "$T/x" ] || fail "an id escaped the state root"
}

test_missing_config_fails() {
  rm "$BUNDLE/config.json"
  assert_fails "config.json" rt create --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}

test_malformed_config_fails() {
  printf '{"ociVersion": "1.0.2", "process": {"args": ["sh"' >"$BUNDLE/config.json"
  assert_fails "" rt create --bundle "$BUNDLE" "$(newid)"
  [ -n "$OUT$ERR" ] || fail "no error message for a malformed config.json"
  assert_no_leftovers
}

test_config_not_an_object_fails() {
  echo '[1, 2, 3]' >"$BUNDLE/config.json"
  assert_fails "" rt create --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}

test_unknown_namespace_fails() {
  cfg '.linux.namespaces += [{type: "bogusns"}]'
  assert_fails "bogusns" rt create --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}

test_missing_rootfs_fails() {
  cfg '.root.path = "no-such-rootfs"'
  assert_fails "no-such-rootfs" rt create --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}

test_missing_bundle_fails() {
  assert_fails "" rt create --bundle "$T/no-such-bundle" "$(newid)"
  assert_no_leftovers
}

test_relative_bundle_path() {
  set_args sleep 600
  local id; id=$(newid)
  (cd "$T" && rt create --bundle bundle "$id") || fail "create with a relative bundle failed"
  must rt state "$id"
  assert_json "$OUT" ".bundle == \"$BUNDLE\"" "state.bundle is absolute"
}

test_bundle_defaults_to_cwd() {
  set_args sleep 600
  local id; id=$(newid)
  (cd "$BUNDLE" && rt create "$id") || fail "create without --bundle (cwd) failed"
  must rt state "$id"
  assert_json "$OUT" ".bundle == \"$BUNDLE\"" "state.bundle"
}

test_pause_resume() {
  share
  set_args sh -c 'i=0; while :; do i=$((i+1)); echo $i > /share/tick; sleep 0.05; done'
  local id; id=$(newid)
  must rt run -d --bundle "$BUNDLE" "$id"
  wait_for 10 test -s "$SHARE/tick"
  must rt pause "$id"
  assert_status "$id" paused
  local a b
  sleep 0.1; a=$(cat "$SHARE/tick"); sleep 0.4; b=$(cat "$SHARE/tick")
  assert_eq "$a" "$b" "counter while paused"
  must rt resume "$id"
  assert_status "$id" running
  # (the file is read at every try: a VM's guest may take a moment)
  poll 10 sh -c '[ "$(cat "$1")" != "$2" ]' - "$SHARE/tick" "$b" ||
    fail "counter did not move after resume"
}

test_ps_lists_container_processes() {
  set_args sh -c 'sleep 600 & sleep 600 & wait'
  local id; id=$(newid)
  must rt run -d --bundle "$BUNDLE" "$id"
  local pid; pid=$(pid_of "$id")
  _three() { [ "$(rt ps --format json "$id" 2>/dev/null | jq length)" = 3 ]; }
  poll 10 _three || fail "ps --format json: expected 3 pids, got $(rt ps --format json "$id" 2>&1)"
  must rt ps --format json "$id"
  assert_json "$OUT" "index($pid) != null" "ps json contains the init pid $pid"
  must rt ps "$id"
  assert_contains "$OUT" PID "ps table header"
  assert_contains "$OUT" "$pid" "ps table"
}

# _cgroup_dirs PID — the host directories of PID's cgroups (not roots)
_cgroup_dirs() {
  local n ctrls path mp c
  while IFS=: read -r n ctrls path; do
    [ "$path" != / ] || continue
    if [ -z "$ctrls" ]; then
      mp=$(findmnt -n -t cgroup2 -o TARGET | head -n1)
    else
      c=${ctrls%%,*}
      mp=$(findmnt -n -t cgroup -o TARGET,OPTIONS | awk -v c="$c" '{ n = split($2, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $1; exit } }')
    fi
    [ -n "$mp" ] && [ -d "$mp$path" ] && echo "$mp$path"
  done <"/proc/$1/cgroup"
}

test_delete_removes_cgroups() {
  set_args sleep 600
  cfg '.linux.resources.pids = {limit: 100}'
  local id; id=$(newid)
  must rt run -d --bundle "$BUNDLE" "$id"
  local pid; pid=$(pid_of "$id")
  local dirs; dirs=$(_cgroup_dirs "$pid")
  [ -n "$dirs" ] || fail "the container has no cgroup of its own: $(cat /proc/"$pid"/cgroup)"
  must rt kill "$id" KILL
  wait_status "$id" stopped
  must rt delete "$id"
  local d
  for d in $dirs; do
    poll 5 test ! -d "$d" || fail "cgroup $d left after delete"
  done
}
