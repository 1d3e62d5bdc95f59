# Hardening settings that are not capabilities, seccomp or cgroups:
# personality, AppArmor/SELinux labels, Intel RDT, rlimits hull cannot
# raise. Each is applied where the host has it and refused (or warned
# about) with a clear message where it does not.

test_personality_linux32() {
  known_quirk runc "1.1 ignores linux.personality" && return 0
  cfg '.linux.personality = {domain: "LINUX32"}'
  run_in uname -m
  assert_ok
  assert_match "$OUT" '^i[3-6]86$' "uname -m with the LINUX32 personality"
}

test_personality_unknown_domain_fails() {
  known_quirk runc "1.1 ignores linux.personality" && return 0
  cfg '.linux.personality = {domain: "BSD"}'
  assert_fails "personality" rt run --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}

test_apparmor_profile_without_apparmor_fails() {
  [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] &&
    skip "AppArmor is enabled on this host"
  known_quirk runc "ignores the profile when AppArmor is off" && return 0
  known_quirk crun "ignores the profile when AppArmor is off" && return 0
  cfg '.process.apparmorProfile = "hull-test"'
  assert_fails "apparmor" rt run --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}

test_intel_rdt_refused() {
  [ -d /sys/fs/resctrl/info ] && skip "this host has resctrl"
  cfg '.linux.intelRdt = {closID: "hull"}'
  known_quirk runc "ignores intelRdt without resctrl" && return 0
  assert_fails "intelRdt" rt run --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}

test_raising_hard_rlimit_names_the_limit() {
  # CAP_SYS_RESOURCE is withheld on the test machines: a hard limit above
  # the current one cannot be set.
  local hard
  hard=$(ulimit -Hn)
  [ "$hard" = unlimited ] && skip "hard nofile limit is unlimited here"
  capsh --has-p=cap_sys_resource 2>/dev/null && skip "CAP_SYS_RESOURCE is held"
  cfg ".process.rlimits = [{type: \"RLIMIT_NOFILE\", soft: 1024, hard: $((hard + 1))}]"
  local want=RLIMIT_NOFILE
  known_quirk runc "names the limit by number (type 7)" && want="rlimit type 7"
  assert_fails "$want" rt run --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}

test_features_report_seccomp_and_lsm() {
  [ "$IS_HULL" = 1 ] || skip "hull's features document"
  must rt features
  assert_json "$OUT" '.linux.seccomp.enabled == true'
  local aa=false
  [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] && aa=true
  assert_json "$OUT" ".linux.apparmor.enabled == $aa"
}
