# t_network.sh — containers on networks: the default bridge network and
# user networks (CNI bridge + host-local + portmap + firewall), names in
# /etc/hosts, published ports from 127.0.0.1, none / host / container:,
# --ip, --dns*, --add-host, connect / disconnect, and what is left after
# rm, a killed monitor and `system prune`: no interface, rule, lease or
# namespace. Traffic goes only to 127.0.0.1 and to the containers these
# tests create (subnets 10.214.N.0/24, made and removed here).

runs_in_vm
# host network, sharing another container's stack and connect/disconnect
# while running do not exist for VM containers (clear errors, tested in
# test_net_vm_refusals)
process_only test_net_host test_net_container_shares test_net_connect_disconnect
vm_only test_net_vm_refusals

HULL_BIN=$(dirname "$RUNTIME")/hull
H() { timeout "${RT_TIMEOUT:-60}" "$HULL_BIN" --root "$T/store" --runroot "$STATE" "$@"; }

net_cleanup() {
  local ids n br
  ids=$(H ps -aq --no-trunc 2>/dev/null)
  # shellcheck disable=SC2086
  [ -z "$ids" ] || H rm -f $ids >/dev/null 2>&1
  for n in $NETS; do
    br=$(H network inspect "$n" 2>/dev/null | jq -r '.[0].Options["com.docker.network.bridge.name"]')
    H network rm "$n" >/dev/null 2>&1
    [ -n "$br" ] && [ "$br" != null ] && ip link del "$br" >/dev/null 2>&1
  done
  return 0
}

net_setup() {
  [ -x "$HULL_BIN" ] || skip "hull not built"
  [ "$IS_HULL" = 1 ] || skip "hull engine tests need hull-runtime's library"
  [ -x /usr/lib/cni/bridge ] || skip "CNI plugins not installed (containernetworking-plugins)"
  NETS=""
  trap net_cleanup EXIT
  "$(dirname "$MKBUNDLE")/mkrootfs" "$T/rootfs" >/dev/null || fail "mkrootfs failed"
  mkdir -p "$T/rootfs/w" && echo "hello from hull" >"$T/rootfs/w/index.html"
  tar -C "$T/rootfs" -cf "$T/rootfs.tar" . || fail "tar failed"
  must H import -c 'CMD ["sh"]' "$T/rootfs.tar" busybox
  ISO="--isolation=$ISOLATION"
}

# mknet NAME N [ARGS...] — a user network on 10.214.N.0/24.
mknet() {
  local name=$1 n=$2; shift 2
  NETS="$NETS $name"
  must H network create --subnet "10.214.$n.0/24" "$@" "$name"
}

ip_of() { H inspect -f '{{.NetworkSettings.IPAddress}}' "$1"; }
bridge_of() { H network inspect "$1" | jq -r '.[0].Options["com.docker.network.bridge.name"]'; }
# fetch URL — from the host (curl: no proxy, short timeout)
fetch() { curl -s --noproxy "*" -m 3 "$1" 2>/dev/null; }
_fetch_ok() { [ "$(fetch "$1")" = "hello from hull" ]; }
# server NAME ARGS... — a detached busybox httpd on port 8080 serving /w.
server() {
  local name=$1; shift
  must H run -d --name "$name" $ISO "$@" busybox httpd -f -p 8080 -h /w
}

# assert_no_net_leftovers ID [BRIDGE] [NETWORK] [IP] — nothing of the container's networking is left.
_net_settled() {
  [ -z "$(ls -A "$STATE/netns" 2>/dev/null)" ] &&
    [ -z "$(ls -A "$T/store/networks/cache/results" 2>/dev/null)" ]
}
assert_no_net_leftovers() {
  local id=$1 br=${2:-} net=${3:-} ip=${4:-}
  # after `run --rm` the exit is told first, the network given back just after
  wait_for 20 _net_settled
  assert_eq "" "$(ls -A "$STATE/netns" 2>/dev/null)" "network namespace files left"
  [ -z "$id" ] || assert_eq "" "$(iptables-save 2>/dev/null | grep -F "$id")" "iptables rules left"
  # the firewall plugin's rules name the address, not the container
  [ -z "$ip" ] || assert_eq "" "$(iptables-save 2>/dev/null | grep -E -- "-[sd] $ip/32 ")" \
    "iptables rules for $ip left"
  if [ -n "$br" ]; then
    assert_eq "" "$(ip -o link show master "$br" 2>/dev/null)" "interfaces left on $br"
  fi
  if [ -n "$net" ] && [ "$net" != hull ]; then
    assert_eq "" "$(ls "$T/store/networks/ipam/$net" 2>/dev/null | grep -E '^[0-9]+\.')" \
      "address leases left on $net"
  fi
  # the default network's leases are shared by every store: those of this
  # container (a lease file holds the container's id)
  if [ -n "$id" ]; then
    assert_eq "" "$(grep -lF "$id" /var/lib/cni/networks/hull/* 2>/dev/null)" "address leases left on hull"
  fi
  assert_eq "" "$(ls -A "$T/store/networks/cache/results" 2>/dev/null)" "CNI cache entries left"
}

test_net_default_network() {
  net_setup
  try H run --rm $ISO busybox sh -c 'ip -4 -o addr show eth0; ip route; cat /etc/hosts'
  assert_ok
  local subnet
  subnet=$(H network inspect hull | jq -r '.[0].IPAM.Config[0].Subnet')
  assert_eq 10.90.0.0/16 "$subnet" "default subnet"
  assert_match "$OUT" 'inet 10\.90\.[0-9]+\.[0-9]+/16' "address on the default network"
  assert_match "$OUT" 'default via 10\.90\.0\.1' "default route"
  local addr
  addr=$(printf '%s\n' "$OUT" | sed -n 's/.*inet \(10\.90\.[0-9.]*\)\/16.*/\1/p')
  assert_match "$OUT" "$addr[[:space:]]" "its own address in /etc/hosts"
  # a detached one: its rules exist while it runs, and none after rm
  must H run -d --name d $ISO busybox sleep 600
  local id ip
  id=$(H inspect -f '{{.Id}}' d)
  ip=$(ip_of d)
  assert_match "$(iptables-save | grep -E -- "-[sd] $ip/32 ")" . "firewall rules for $ip while it runs"
  assert_match "$(grep -lF "$id" /var/lib/cni/networks/hull/* 2>/dev/null)" . "its lease while it runs"
  must H rm -f d
  assert_no_net_leftovers "$id" hull0 hull "$ip"
  # `bridge` is the default network's other name
  try H run --rm --network bridge $ISO busybox true
  assert_ok
}

test_net_names_between_containers() {
  net_setup
  mknet tnet 11
  server web --network tnet --network-alias www
  local ip
  ip=$(ip_of web)
  assert_match "$ip" '^10\.214\.11\.[0-9]+$' "server address on the subnet"
  wait_for 60 _fetch_ok "http://$ip:8080/"
  try H run --rm --network tnet $ISO busybox sh -c 'cat /etc/hosts; wget -q -O- http://web:8080/; wget -q -O- http://www:8080/'
  assert_ok
  assert_eq 2 "$(grep -c "hello from hull" <<<"$OUT")" "the server by name and by alias"
  assert_match "$OUT" "$ip[[:space:]]+.*web" "the server's name in the client's /etc/hosts"
  # the server learns a client's name while the client runs, and loses it after
  must H run -d --name client --network tnet $ISO busybox sleep 600
  local cip
  cip=$(ip_of client)
  must H exec web cat /etc/hosts
  assert_match "$OUT" "$cip[[:space:]].*[[:space:]]client([[:space:]]|\$)" "the client in the server's /etc/hosts"
  must H rm -f client
  must H exec web cat /etc/hosts
  assert_not_contains "$OUT" "$cip"
  assert_eq 1 "$(printf '%s\n' "$OUT" | grep -c "10\.214\.11\.")" "only the server's own line left"
  local id br
  id=$(H inspect web | jq -r '.[0].Id')
  br=$(bridge_of tnet)
  must H rm -f web
  assert_no_net_leftovers "$id" "$br" tnet
}

# two containers started at once (compose-style) still know each other
test_net_names_concurrent_starts() {
  net_setup
  mknet cnet 17
  must H create --name a --network cnet $ISO busybox sleep 600
  must H create --name b --network cnet $ISO busybox sleep 600
  bg sa H start a
  bg sb H start b
  wait
  local ipa ipb
  ipa=$(ip_of a)
  ipb=$(ip_of b)
  must H exec a cat /etc/hosts
  assert_match "$OUT" "$ipb[[:space:]].*[[:space:]]b([[:space:]]|\$)" "a's /etc/hosts names b"
  must H exec b cat /etc/hosts
  assert_match "$OUT" "$ipa[[:space:]].*[[:space:]]a([[:space:]]|\$)" "b's /etc/hosts names a"
}

test_net_publish() {
  net_setup
  local port=$((20000 + RANDOM % 20000))
  server web -p "127.0.0.1:$port:8080"
  wait_for 60 _fetch_ok "http://127.0.0.1:$port/"
  must H port web
  assert_eq "8080/tcp -> 127.0.0.1:$port" "$OUT"
  must H port web 8080
  assert_eq "127.0.0.1:$port" "$OUT"
  must H ps
  assert_contains "$OUT" "127.0.0.1:$port->8080/tcp"
  must H ps --format '{{.Names}} {{.Ports}} {{.Networks}}'
  assert_eq "web 127.0.0.1:$port->8080/tcp hull" "$OUT" "ps --format with a template"
  # the port is held: a second container cannot take it, and leaves nothing
  try H run --rm $ISO -p "127.0.0.1:$port:8080" busybox true
  assert_rc 125
  assert_contains "$ERR" "already in use"
  assert_eq 1 "$(H ps -aq | wc -l)" "containers after the refused run"
  # -P: the exposed port on a free host port
  must H run -d --name web2 $ISO --expose 8080 -P busybox httpd -f -p 8080 -h /w
  local p2
  p2=$(H port web2 8080 | sed 's/.*://')
  assert_match "$p2" '^[0-9]+$' "-P gave a port"
  wait_for 60 _fetch_ok "http://127.0.0.1:$p2/"
  local id id2
  id=$(H inspect web | jq -r '.[0].Id')
  id2=$(H inspect web2 | jq -r '.[0].Id')
  must H rm -f web web2
  assert_no_net_leftovers "$id" hull0 hull
  assert_no_net_leftovers "$id2" hull0 hull
  ! _fetch_ok "http://127.0.0.1:$port/" || fail "the published port still answers after rm"
}

test_net_none() {
  net_setup
  try H run --rm --network none $ISO busybox sh -c 'ls /sys/class/net'
  assert_ok
  assert_eq lo "$OUT" "only loopback with --network none"
  assert_eq "" "$(ls -A "$STATE/netns" 2>/dev/null)" "no network namespace file for none"
}

test_net_fixed_ip_dns_hosts() {
  net_setup
  mknet fixed 12
  try H run --rm --network fixed --ip 10.214.12.77 $ISO --dns 10.214.12.53 --dns-search hull.test \
    --add-host db.test:10.214.12.99 --hostname myhost busybox sh -c \
    'ip -4 -o addr show eth0; cat /etc/resolv.conf /etc/hosts; hostname'
  assert_ok
  assert_contains "$OUT" "inet 10.214.12.77/24"
  assert_contains "$OUT" "nameserver 10.214.12.53"
  assert_contains "$OUT" "search hull.test"
  assert_match "$OUT" "10\.214\.12\.99[[:space:]]+db\.test" "--add-host"
  assert_match "$OUT" "10\.214\.12\.77[[:space:]]+myhost" "own name at its address"
  assert_not_contains "$OUT" "nameserver 127."
  # an address outside the subnet, or the gateway: refused before anything
  try H run --rm --network fixed --ip 10.214.99.5 $ISO busybox true
  assert_rc 125
  assert_contains "$ERR" "10.214.99.5"
  try H run --rm --network fixed --ip 10.214.12.1 $ISO busybox true
  assert_rc 125
  # an address taken: refused at start, nothing left
  must H run -d --name a --network fixed --ip 10.214.12.80 $ISO busybox sleep 600
  try H run --rm --network fixed --ip 10.214.12.80 $ISO busybox true
  assert_rc 125
  assert_contains "$ERR" "10.214.12.80"
  local id
  id=$(H inspect a | jq -r '.[0].Id')
  must H rm -f a
  assert_no_net_leftovers "$id" "$(bridge_of fixed)" fixed
}

test_net_host() {
  net_setup
  try H run --rm --network host $ISO busybox sh -c 'ls /sys/class/net | sort'
  assert_ok
  assert_eq "$(ls /sys/class/net | sort)" "$OUT" "the host's interfaces"
}

test_net_container_shares() {
  net_setup
  server web
  local ip
  ip=$(ip_of web)
  wait_for 30 _fetch_ok "http://$ip:8080/"
  try H run --rm --network container:web $ISO busybox sh -c 'ip -4 -o addr show eth0; wget -q -O- http://127.0.0.1:8080/'
  assert_ok
  assert_contains "$OUT" "inet $ip/"
  assert_contains "$OUT" "hello from hull"
  # web goes: its joiner refused to start without it
  must H stop -t 1 web
  try H run --rm --network container:web $ISO busybox true
  assert_rc 125
  assert_contains "$ERR" "not running"
}

test_net_connect_disconnect() {
  net_setup
  mknet neta 13
  mknet netb 14
  must H run -d --name busyctr --network neta $ISO busybox sleep 600
  must H network connect netb busyctr
  must H exec busyctr ip -4 -o addr
  assert_match "$OUT" 'eth1 +inet 10\.214\.14\.' "eth1 on netb"
  try H network rm netb
  assert_rc 125
  assert_contains "$ERR" "in use by container busyctr"
  must H network disconnect netb busyctr
  must H exec busyctr ls /sys/class/net
  assert_not_contains "$OUT" eth1
  must H network rm netb
  local id
  id=$(H inspect busyctr | jq -r '.[0].Id')
  must H rm -f busyctr
  assert_no_net_leftovers "$id" "$(bridge_of neta)" neta
}

test_net_killed_monitor() {
  net_setup
  mknet knet 15
  local port=$((20000 + RANDOM % 20000))
  must H run -d --name k --network knet -p "127.0.0.1:$port:8080" $ISO busybox sleep 600
  local id mpid cpid
  id=$(H inspect k | jq -r '.[0].Id')
  mpid=$(H inspect k | jq -r '.[0].State.MonitorPid')
  cpid=$(H inspect k | jq -r '.[0].State.Pid')
  kill -9 "$mpid"
  # the next command finds the monitor dead, ends what it ran (a VM's
  # supervisor outlives it) and gives the network back
  wait_for 20 _state_is_exited k
  must H ps -a
  wait_for 10 pid_dead "$cpid"
  assert_no_net_leftovers "$id" "$(bridge_of knet)" knet
  must H start k
  assert_match "$(ip_of k)" '^10\.214\.15\.' "a new address after the restart"
  mpid=$(H inspect k | jq -r '.[0].State.MonitorPid')
  local br
  br=$(bridge_of knet)
  kill -9 "$mpid"
  # `system prune` cleans up and removes it (and the network nobody uses)
  sleep 0.5
  must H system prune
  assert_eq "" "$(H ps -aq)" "containers after system prune"
  assert_no_net_leftovers "$id" "$br" knet
}
_state_is_exited() { [ "$(H inspect "$1" 2>/dev/null | jq -r '.[0].State.Status')" = exited ]; }

test_net_errors() {
  net_setup
  try H run --rm $ISO --network nosuchnet busybox true
  assert_rc 125
  assert_contains "$ERR" nosuchnet
  try H run --rm $ISO -p 99999:80 busybox true
  assert_rc 125
  try H run --rm $ISO --network none -p 8080:80 busybox true
  assert_rc 125
  # a plugin that is missing: a clear error, nothing half-configured
  mknet miss 16
  CNI_PATH=/nonexistent-cni try H run --rm $ISO --network miss busybox true
  assert_rc 125
  assert_contains "$ERR" "not found"
  assert_eq "" "$(H ps -aq)" "containers left"
  assert_no_net_leftovers "" "$(bridge_of miss)" miss
}

test_net_vm_refusals() {
  net_setup
  try H run --rm $ISO --network host busybox true
  assert_rc 125
  assert_contains "$ERR" "VM isolation"
  must H run -d --name p --isolation=process busybox sleep 600
  try H run --rm $ISO --network container:p busybox true
  assert_rc 125
  assert_contains "$ERR" "VM isolation"
  # no hot-plug on the micro-VM: refused while it runs, taken at the next start
  mknet vmnet 18
  must H run -d --name v $ISO busybox sleep 600
  try H network connect vmnet v
  assert_rc 125
  assert_contains "$ERR" "stop it, connect it, start it"
  try H network disconnect hull v
  assert_rc 125
  assert_contains "$ERR" "stop it first"
  must H stop -t 0 v
  must H network connect vmnet v
  must H start v
  must H exec v ip -4 -o addr
  assert_match "$OUT" 'eth1 +inet 10\.214\.18\.' "eth1 on vmnet after the restart"
}
