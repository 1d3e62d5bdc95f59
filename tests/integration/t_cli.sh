# t_cli.sh — spec, features, --log, general command line behaviour.

test_spec_writes_a_runnable_config() {
  mkdir -p "$T/specdir"
  (cd "$T/specdir" && rt spec) || fail "spec failed"
  local f=$T/specdir/config.json
  assert_file "$f"
  local j; j=$(cat "$f")
  assert_json "$j" '.ociVersion | test("^1\\.")' "spec ociVersion"
  assert_json "$j" '.root.path == "rootfs"' "spec root.path"
  assert_json "$j" '.process.args | type == "array" and length > 0' "spec process.args"
  assert_json "$j" '[.linux.namespaces[].type] | index("pid") != null and index("mount") != null' "spec namespaces"
  assert_json "$j" '[.mounts[].destination] | index("/proc") != null and index("/dev") != null' "spec mounts"
  # add a rootfs, switch the terminal off, and run it as written otherwise
  cp -a "$BUNDLE/rootfs" "$T/specdir/rootfs"
  jq '.process.terminal = false | .process.args = ["sh", "-c", "echo spec-ok; hostname"]' "$f" >"$f.new" && mv "$f.new" "$f"
  CID=$(newid)
  try rt run --bundle "$T/specdir" "$CID"
  assert_ok
  assert_eq spec-ok "$(head -n1 <<<"$OUT")" "output of the spec's container"
}

test_spec_bundle_option() {
  mkdir -p "$T/other"
  must rt spec --bundle "$T/other"
  assert_file "$T/other/config.json"
  jq -e . "$T/other/config.json" >/dev/null || fail "spec --bundle wrote invalid JSON"
}

test_spec_rootless() {
  mkdir -p "$T/rl"
  must rt spec --rootless --bundle "$T/rl"
  local j; j=$(cat "$T/rl/config.json")
  assert_json "$j" '[.linux.namespaces[].type] | index("user") != null' "rootless spec has a user namespace"
  known_quirk crun "rootless spec run as root has no uidMappings" ||
    assert_json "$j" '.linux.uidMappings | length > 0' "rootless spec uidMappings"
}

test_spec_refuses_to_overwrite() {
  mkdir -p "$T/ow"
  echo '{"keep": true}' >"$T/ow/config.json"
  try rt spec --bundle "$T/ow"
  known_quirk crun "spec overwrites an existing config.json" && return 0
  assert_ne 0 "$RC" "exit code of spec over an existing config.json"
  assert_eq '{"keep": true}' "$(cat "$T/ow/config.json")" "existing config.json"
}

test_features() {
  known_quirk crun "1.8 has no features command" && return 0
  must rt features
  local j=$OUT
  assert_json "$j" '.ociVersionMin | test("^1\\.")' "features.ociVersionMin"
  assert_json "$j" '.ociVersionMax | test("^1\\.")' "features.ociVersionMax"
  assert_json "$j" '.hooks | type == "array" and (["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] - . == [])' "features.hooks"
  assert_json "$j" '.mountOptions | type == "array" and index("ro") != null and index("bind") != null and index("nosuid") != null' "features.mountOptions"
  assert_json "$j" '.linux.namespaces | type == "array" and (["pid", "network", "ipc", "uts", "mount", "user", "cgroup"] - . == [])' "features.linux.namespaces"
  assert_json "$j" '.linux.capabilities | type == "array" and index("CAP_SYS_ADMIN") != null' "features.linux.capabilities"
}

test_log_json_records_errors() {
  : >"$T/log.json"
  assert_fails "" rt --log "$T/log.json" --log-format json start no-such-container
  [ -s "$T/log.json" ] || fail "--log file is empty after a failed command"
  local line n=0
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    n=$((n + 1))
    jq -e 'type == "object"' <<<"$line" >/dev/null 2>&1 || fail "log line is not a JSON object: $line"
  done <"$T/log.json"
  [ "$n" -gt 0 ] || fail "no log lines"
  jq -se 'map(select(.level == "error" and (.msg | type == "string" and length > 0))) | length > 0' \
    "$T/log.json" >/dev/null || fail "no {level: error, msg} line in: $(cat "$T/log.json")"
}

test_log_json_create_failure_names_the_problem() {
  cfg '.root.path = "no-such-rootfs"'
  assert_fails "" rt --log "$T/log.json" --log-format json create --bundle "$BUNDLE" "$(newid)"
  jq -se 'map(select(.level == "error")) | map(.msg) | join(" ") | test("no-such-rootfs")' \
    "$T/log.json" >/dev/null || fail "error log does not mention the rootfs: $(cat "$T/log.json")"
  assert_no_leftovers
}

test_log_text_format() {
  assert_fails "" rt --log "$T/log.txt" start no-such-container
  [ -s "$T/log.txt" ] || fail "--log file is empty after a failed command"
}

test_version() {
  must rt --version
  [ -n "$OUT" ] || fail "--version printed nothing"
  assert_match "$OUT" '[0-9]+\.[0-9]+' "--version output"
}

test_unknown_command_fails() {
  assert_fails "" rt no-such-command
}

test_root_directory_is_created() {
  local saved=$STATE
  STATE=$T/deep/nested/state
  set_args true
  must rt run --bundle "$BUNDLE" "$(newid)"
  [ -d "$STATE" ] || fail "state root $STATE was not created"
  STATE=$saved
}

test_state_dir_private() {
  set_args sleep 600
  local id; id=$(newid)
  must rt create --bundle "$BUNDLE" "$id"
  # the state root is not writable by others
  local mode; mode=$(stat -c %a "$STATE")
  [ $((8#$mode & 8#022)) -eq 0 ] || fail "state root $STATE has mode $mode"
}
