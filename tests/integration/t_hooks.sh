# t_hooks.sh — OCI hooks: order, state on stdin, env, failures, timeouts.

# _hook_setup — $T/hook.sh on the host and /hook.sh in the rootfs: each
# call appends "NAME STATE-JSON ENV" to the log given as $2; the log is
# $SHARE/hooks.log on the host, /share/hooks.log inside the container.
_hook_setup() {
  share
  cat >"$T/hook.sh" <<'EOF'
#!/bin/sh
state=$(cat)
printf '%s %s %s\n' "$1" "$state" "${HOOK_ENV:-unset}" >> "$2"
EOF
  chmod 755 "$T/hook.sh"
  cp "$T/hook.sh" "$BUNDLE/rootfs/hook.sh"
  HLOG=$SHARE/hooks.log
}

# _hook KIND PATH LOG [EXTRA-JQ-OBJECT] — append a hook of KIND
_hook() {
  cfg ".hooks.$1 += [{path: \$p, args: [\"hook\", \"$1\", \$l], env: [\"HOOK_ENV=env-$1\"]} + ${4:-{\}}]" \
    --arg p "$2" --arg l "$3"
}

_all_hooks() {
  _hook prestart "$T/hook.sh" "$HLOG"
  _hook createRuntime "$T/hook.sh" "$HLOG"
  _hook createContainer "$T/hook.sh" "$HLOG"
  _hook startContainer /hook.sh /share/hooks.log
  _hook poststart "$T/hook.sh" "$HLOG"
  _hook poststop "$T/hook.sh" "$HLOG"
}

# _check_start_order — the create hooks in spec order, then startContainer
# (before the process is executed) and poststart (after it is).
_check_start_order() {
  local names; names=$(_hook_names)
  assert_eq "prestart createRuntime createContainer" "$(cut -d' ' -f1-3 <<<"$names")" "create hooks"
  assert_contains " $names " " startContainer " "hooks"
  assert_contains " $names " " poststart " "hooks"
  if ! known_quirk runc "poststart does not wait for startContainer" &&
     ! known_quirk crun "poststart does not wait for startContainer"; then
    assert_eq "prestart createRuntime createContainer startContainer poststart" "$names" "hook order"
  fi
}

_hook_names() { cut -d' ' -f1 "$HLOG" 2>/dev/null | tr '\n' ' ' | sed 's/ $//'; }
_hook_json() { grep "^$1 " "$HLOG" | head -n1 | cut -d' ' -f2- | sed 's/ [^ ]*$//'; }
_hook_env() { grep "^$1 " "$HLOG" | head -n1 | awk '{print $NF}'; }

test_hooks_called_in_order_with_state() {
  _hook_setup
  _all_hooks
  set_args sleep 600
  local id; id=$(newid)
  must rt create --bundle "$BUNDLE" "$id"
  known_quirk runc "1.1 runs poststart hooks at create" ||
    assert_eq "prestart createRuntime createContainer" "$(_hook_names)" "hooks after create"
  must rt start "$id"
  wait_for 10 grep -q '^startContainer ' "$HLOG"
  _check_start_order
  must rt kill "$id" KILL
  wait_status "$id" stopped
  assert_eq 0 "$(grep -c '^poststop ' "$HLOG")" "poststop before delete"
  must rt delete "$id"
  assert_eq poststop "$(tail -n1 "$HLOG" | cut -d' ' -f1)" "last hook after delete"
  assert_eq 6 "$(wc -l <"$HLOG")" "number of hook calls"

  local h j pid
  pid=""
  for h in prestart createRuntime createContainer startContainer poststart poststop; do
    j=$(_hook_json "$h")
    assert_json "$j" ".id == \"$id\"" "$h state.id"
    assert_json "$j" '.ociVersion | type == "string"' "$h state.ociVersion"
    assert_eq "env-$h" "$(_hook_env "$h")" "$h env"
  done
  # hooks run in the runtime's namespaces see the host view of the state
  # (those run in the container's see pid/bundle differently in runc/crun)
  for h in prestart createRuntime poststart poststop; do
    assert_json "$(_hook_json "$h")" ".bundle == \"$BUNDLE\"" "$h state.bundle"
  done
  for h in prestart createRuntime; do
    assert_json "$(_hook_json "$h")" '.status == "created" or .status == "creating"' "$h state.status"
  done
  for h in prestart createRuntime poststart; do
    j=$(_hook_json "$h")
    assert_json "$j" '.pid > 0' "$h state.pid"
    [ -z "$pid" ] && pid=$(jq .pid <<<"$j")
    assert_eq "$pid" "$(jq .pid <<<"$j")" "$h state.pid (same container pid)"
  done
  known_quirk runc "1.1 runs poststart hooks at create" ||
    assert_json "$(_hook_json poststart)" '.status == "running"' "poststart state.status"
  assert_json "$(_hook_json poststop)" '.status == "stopped"' "poststop state.status"
}

test_hooks_run_before_and_after_the_process() {
  _hook_setup
  # the container process writes a marker line into the same log
  set_args sh -c 'echo process >> /share/hooks.log'
  _hook prestart "$T/hook.sh" "$HLOG"
  _hook startContainer /hook.sh /share/hooks.log
  _hook poststop "$T/hook.sh" "$HLOG"
  local id; id=$(newid)
  must rt create --bundle "$BUNDLE" "$id"
  must rt start "$id"
  wait_status "$id" stopped
  must rt delete "$id"
  assert_eq "prestart startContainer process poststop" "$(_hook_names)" "order of hooks and process"
}

test_hooks_with_run() {
  _hook_setup
  _all_hooks
  run_in true
  assert_ok
  assert_eq poststop "$(tail -n1 "$HLOG" | cut -d' ' -f1)" "last hook of run"
  sed -i '$d' "$HLOG"
  _check_start_order
}

test_poststop_runs_at_delete_of_exited_container() {
  _hook_setup
  _hook poststop "$T/hook.sh" "$HLOG"
  set_args true
  local id; id=$(newid)
  must rt create --bundle "$BUNDLE" "$id"
  must rt start "$id"
  wait_status "$id" stopped
  sleep 0.2
  assert_no_file "$HLOG"
  must rt delete "$id"
  assert_eq poststop "$(_hook_names)" "hooks"
  assert_json "$(_hook_json poststop)" ".id == \"$id\" and .status == \"stopped\"" "poststop state"
}

_failing_hook_leaves_nothing() { # KIND
  share
  set_args sh -c 'touch /share/ran'
  cfg ".hooks.$1 = [{path: \"/bin/sh\", args: [\"sh\", \"-c\", \"cat >/dev/null; echo hook-failed-msg >&2; exit 3\"]}]"
  local id; id=$(newid)
  assert_fails "" rt create --bundle "$BUNDLE" "$id"
  assert_no_leftovers
  assert_no_file "$SHARE/ran"
  assert_fails "" rt run --bundle "$BUNDLE" "$id"
  assert_no_leftovers
  assert_no_file "$SHARE/ran"
}

test_failing_prestart_hook_fails_create() { _failing_hook_leaves_nothing prestart; }
test_failing_createRuntime_hook_fails_create() { _failing_hook_leaves_nothing createRuntime; }
test_failing_createContainer_hook_fails_create() { _failing_hook_leaves_nothing createContainer; }

test_missing_hook_binary_fails_create() {
  cfg '.hooks.prestart = [{path: "/no/such/hook"}]'
  assert_fails "" rt create --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}

test_failing_startContainer_hook_fails_start() {
  share
  set_args sh -c 'touch /share/ran'
  cfg '.hooks.startContainer = [{path: "/bin/sh", args: ["sh", "-c", "cat >/dev/null; exit 3"]}]'
  local id; id=$(newid)
  must rt create --bundle "$BUNDLE" "$id"
  try rt start "$id"
  assert_contains "$OUT$ERR" "hook" "error message of start"
  known_quirk runc "start exits 0 when a startContainer hook fails" ||
    known_quirk crun "start exits 0 when a startContainer hook fails" ||
    assert_ne 0 "$RC" "exit code of start"
  sleep 0.3
  assert_no_file "$SHARE/ran"
}

test_failing_poststop_hook_does_not_block_delete() {
  _hook_setup
  cfg '.hooks.poststop = [{path: "/bin/sh", args: ["sh", "-c", "cat >/dev/null; exit 3"]}]'
  _hook poststop "$T/hook.sh" "$HLOG"
  set_args true
  local id; id=$(newid)
  must rt create --bundle "$BUNDLE" "$id"
  must rt start "$id"
  wait_status "$id" stopped
  try rt delete "$id"
  # the container is gone whatever delete reports, and later hooks ran
  assert_fails "" rt state "$id"
  assert_no_leftovers
  known_quirk runc "stops at the first failing poststop hook" ||
    assert_eq poststop "$(_hook_names)" "the second poststop hook ran"
}

test_hook_timeout_kills_hook_and_fails() {
  cat >"$T/slow.sh" <<EOF
#!/bin/sh
echo \$\$ > $T/slow.pid
exec sleep 120
EOF
  chmod 755 "$T/slow.sh"
  cfg '.hooks.prestart = [{path: $p, timeout: 1}]' --arg p "$T/slow.sh"
  local id; id=$(newid) t0=$SECONDS
  assert_fails "" rt create --bundle "$BUNDLE" "$id"
  [ $((SECONDS - t0)) -lt 20 ] || fail "create took $((SECONDS - t0))s with a 1s hook timeout"
  assert_no_leftovers
  assert_file "$T/slow.pid"
  local hp; hp=$(cat "$T/slow.pid")
  poll 10 pid_dead "$hp" || { kill -9 "$hp"; fail "hanging hook $hp was not killed"; }
}

test_hook_args_and_stdin_state() {
  cat >"$T/args.sh" <<EOF
#!/bin/sh
printf '%s|' "\$0" "\$@" > $T/args.out
cat > $T/stdin.json
EOF
  chmod 755 "$T/args.sh"
  cfg '.hooks.prestart = [{path: $p, args: ["argv0", "a b", "", "c"]}]' --arg p "$T/args.sh"
  set_args true
  local id; id=$(newid)
  must rt create --bundle "$BUNDLE" "$id"
  # a shell script's $0 is its path, not argv[0]; the rest arrive intact
  assert_eq "$T/args.sh|a b||c|" "$(cat "$T/args.out")" "hook arguments"
  assert_json "$(cat "$T/stdin.json")" ".id == \"$id\" and .pid > 0" "hook stdin state"
}
