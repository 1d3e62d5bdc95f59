# t_console.sh — terminals: --console-socket for create and exec -t.

runs_in_vm

_tty_cfg() { cfg '.process.terminal = true'; }

test_console_socket_create_start() {
  _tty_cfg
  set_args sh -c 'tty; for f in 0 1 2; do [ -t $f ] && echo "fd$f-is-tty"; done; echo END-OF-TEST'
  console_recv rcv "$T/console.sock" END-OF-TEST
  local rpid=$BGPID id; id=$(newid)
  must rt create --console-socket "$T/console.sock" --bundle "$BUNDLE" "$id"
  must rt start "$id"
  bg_wait "$rpid" 30
  assert_rc 0
  local out; out=$(cat "$T/rcv.tty")
  assert_contains "$(cat "$T/rcv.tty.meta")" "fds=1" "received descriptors"
  # a VM container's terminal on the host is a host pty relayed to the guest's
  if [ "$ISOLATION" = vm ]; then
    assert_match "$(cat "$T/rcv.tty.meta")" "link=/dev/(pts/)?ptmx" "received a pty master"
  else
    assert_contains "$(cat "$T/rcv.tty.meta")" "link=/dev/pts/ptmx" "received a pty master"
  fi
  assert_match "$out" '(^|
)/dev/(pts/[0-9]+|console)
' "tty output"
  assert_contains "$out" "fd0-is-tty
fd1-is-tty
fd2-is-tty
END-OF-TEST"
}

test_console_size() {
  _tty_cfg
  cfg '.process.consoleSize = {height: 37, width: 101}'
  set_args sh -c 'stty size; echo END-OF-TEST'
  console_recv rcv "$T/console.sock" END-OF-TEST
  local rpid=$BGPID id; id=$(newid)
  must rt create --console-socket "$T/console.sock" --bundle "$BUNDLE" "$id"
  must rt start "$id"
  bg_wait "$rpid" 30
  assert_contains "$(cat "$T/rcv.tty")" "37 101
END-OF-TEST" "stty size"
}

test_console_input() {
  _tty_cfg
  set_args sh -c 'read line; echo "got:$line"; echo END-OF-TEST'
  bg rcv "$PYTHON" "$LIB_DIR/console-recv.py" "$T/console.sock" "$T/rcv.tty" END-OF-TEST $'typed-line\n'
  local rpid=$BGPID id; id=$(newid)
  wait_for 10 test -S "$T/console.sock"
  must rt create --console-socket "$T/console.sock" --bundle "$BUNDLE" "$id"
  must rt start "$id"
  bg_wait "$rpid" 30
  assert_contains "$(cat "$T/rcv.tty")" "got:typed-line" "container output"
}

test_console_is_controlling_terminal() {
  _tty_cfg
  set_args sh -c 'cat /proc/self/stat | cut -d" " -f7; ls -l /proc/self/fd/0 | sed "s/.*-> //"; echo END-OF-TEST'
  console_recv rcv "$T/console.sock" END-OF-TEST
  local rpid=$BGPID id; id=$(newid)
  must rt create --console-socket "$T/console.sock" --bundle "$BUNDLE" "$id"
  must rt start "$id"
  bg_wait "$rpid" 30
  local lines; mapfile -t lines <"$T/rcv.tty"
  # field 7 of stat is tty_nr: non-zero when there is a controlling tty
  assert_match "${lines[0]:-}" '^[1-9][0-9]*$' "tty_nr of the container process (non-zero)"
}

test_exec_detached_tty_console_socket() {
  set_args sleep 600
  local id; id=$(newid)
  must rt run -d --bundle "$BUNDLE" "$id"
  console_recv rcv "$T/exec.sock" END-OF-TEST
  local rpid=$BGPID
  must rt exec -d -t --console-socket "$T/exec.sock" "$id" sh -c 'tty; echo END-OF-TEST'
  bg_wait "$rpid" 30
  assert_match "$(cat "$T/rcv.tty")" '/dev/pts/[0-9]+
END-OF-TEST' "exec -d -t output"
}

test_terminal_detached_without_console_socket_fails() {
  _tty_cfg
  set_args sleep 600
  assert_fails "" rt create --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}

test_console_socket_missing_fails() {
  _tty_cfg
  set_args sleep 600
  assert_fails "" rt create --console-socket "$T/no-such.sock" --bundle "$BUNDLE" "$(newid)"
  assert_no_leftovers
}
