# t_netdefs.sh — `hull network create/ls/inspect/rm/prune`: network
# definitions (src/net/network.c) through the command line, on the test's
# private store $T/store. Every hull call runs in a network namespace of
# the test's own ($T/netns, unmounted by the runner afterwards, which ends
# it with its links): the routes a subnet is checked against and the
# bridges removed are the test's, never the host's. Subnets: 10.213.0.0/16
# (and the automatic 10.91.N.0/24, free in an empty namespace). Container
# networking (run --network, connect) is tested in t_network.sh.

HULL_BIN=$(dirname "$RUNTIME")/hull

netdefs_setup() {
  [ -x "$HULL_BIN" ] || skip "hull not built"
  : >"$T/netns"
  unshare --net="$T/netns" true || skip "cannot make a network namespace"
  export HULL_DEFAULT_SUBNET=10.213.250.0/24
}

# N ARGS... — hull in the test's network namespace, on its store.
N() {
  nsenter --net="$T/netns" timeout "${RT_TIMEOUT:-60}" "$HULL_BIN" --root "$T/store" \
    --runroot "$STATE" "$@"
}
# NS CMD... — a command in the test's network namespace.
NS() { nsenter --net="$T/netns" "$@"; }

# fails125 SUBSTRING ARGS... — `hull ARGS` fails with 125 and exactly one
# line "hull: ..." on stderr that contains SUBSTRING.
fails125() {
  local want=$1; shift
  try N "$@"
  [ "$RC" -eq 125 ] || fail "hull $*: exit $RC, expected 125 (stderr: ${ERR:0:400})"
  [ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] || fail "hull $*: not one line of error: $ERR"
  [[ "$ERR" == "hull: "* ]] || fail "hull $*: error does not start with 'hull: ': $ERR"
  assert_contains "$ERR" "$want" "error of hull $*"
}

# field NETWORK JQ — one value of `network inspect NETWORK`.
field() { N network inspect "$1" | jq -r ".[0]$2"; }

# fake_record NAME NETWORK NETWORK_ID IP — a stopped container's record
# attached to NETWORK (the record's documented shape, see network.h);
# prints its id.
fake_record() {
  local id
  id=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  mkdir -p "$T/store/containers/$id"
  : >"$T/store/containers/$id/lock"
  jq -n --arg id "$id" --arg name "$1" --arg net "$2" --arg nid "$3" --arg ip "$4" \
    '{Id: $id, Name: $name, Created: "2026-01-01T00:00:00Z",
      State: {Status: "exited", ExitCode: 0},
      NetworkSettings: {Networks: {($net): {NetworkID: $nid, IPAddress: $ip,
        IPPrefixLen: 24, Gateway: "", MacAddress: "02:42:0a:d5:06:02", IfName: "eth0"}}}}' \
    >"$T/store/containers/$id/config.json" || fail "cannot write a record"
  echo "$id"
}

test_netdefs_create_ls_inspect_rm() {
  netdefs_setup
  must N network create --subnet 10.213.1.0/24 --gateway 10.213.1.254 --label team=web \
    --label tier=front frontnet
  assert_match "$OUT" '^[0-9a-f]{64}$' "create prints the id"
  local id=$OUT
  must N network create --internal --subnet 10.213.2.0/24 backnet
  local bid=$OUT

  must N network ls
  assert_eq 3 "$(wc -l <<<"$OUT")" "lines of network ls"
  assert_match "$(sed -n 1p <<<"$OUT")" '^NETWORK ID +NAME +DRIVER +SUBNET$' "ls header"
  assert_match "$(sed -n 2p <<<"$OUT")" "^${bid:0:12} +backnet +bridge +10\.213\.2\.0/24$" "ls (sorted)"
  assert_match "$(sed -n 3p <<<"$OUT")" "^${id:0:12} +frontnet +bridge +10\.213\.1\.0/24$" "ls"
  must N network ls -q
  assert_out "${bid:0:12}
${id:0:12}"
  must N network ls -q --no-trunc
  assert_out "$bid
$id"
  must N network ls --format json
  assert_json "$OUT" 'map(.Name) == ["backnet", "frontnet"]'
  assert_json "$OUT" ".[1].Id == \"$id\" and .[1].Subnet == \"10.213.1.0/24\" and .[1].Gateway == \"10.213.1.254\""
  assert_json "$OUT" '.[0].Internal == true and .[1].Internal == false and .[1].Driver == "bridge"'

  must N network inspect frontnet
  assert_json "$OUT" "length == 1 and .[0].Name == \"frontnet\" and .[0].Id == \"$id\""
  assert_json "$OUT" '.[0].Driver == "bridge" and .[0].Internal == false and .[0].Scope == "local"'
  assert_json "$OUT" '.[0].IPAM.Config == [{"Subnet": "10.213.1.0/24", "Gateway": "10.213.1.254"}]'
  assert_json "$OUT" '.[0].Labels == {"team": "web", "tier": "front"} and .[0].Containers == {}'
  assert_json "$OUT" ".[0].Options[\"com.docker.network.bridge.name\"] == \"hull-${id:0:10}\""
  assert_json "$OUT" '.[0].Created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")'
  # by id prefix, several at once
  must N network inspect "${id:0:12}" backnet
  assert_json "$OUT" 'length == 2 and .[0].Name == "frontnet" and .[1].Internal == true'
  # a missing one: an error, the others still shown
  try N network inspect frontnet nosuch
  assert_rc 125
  assert_json "$OUT" 'length == 1'
  assert_eq "hull: network nosuch: no such network" "$ERR" "inspect of a missing network"

  # the definitions are CNI network configuration lists
  local f=$T/store/networks/frontnet.conflist
  assert_json "$(cat "$f")" '.cniVersion == "1.0.0" and .name == "frontnet" and [.plugins[].type] == ["bridge", "portmap", "firewall"]'
  assert_json "$(cat "$f")" '.plugins[0].isGateway and .plugins[0].ipMasq and .plugins[0].ipam.routes == [{"dst": "0.0.0.0/0"}]'
  assert_json "$(cat "$f")" ".plugins[0].ipam.dataDir == \"$T/store/networks/ipam\""
  assert_json "$(cat "$T/store/networks/backnet.conflist")" '[.plugins[].type] == ["bridge", "firewall"] and .plugins[0].isGateway == false and .plugins[0].ipMasq == false and (.plugins[0].ipam | has("routes") | not)'

  must N network rm frontnet "${bid:0:12}"
  assert_out "frontnet
${bid:0:12}"
  must N network ls -q
  assert_out ""
  assert_no_file "$f"
  fails125 "network frontnet: no such network" network rm frontnet
}

test_netdefs_auto_subnet() {
  netdefs_setup
  must N network create a1
  must N network create a2
  must N network create --subnet 10.91.2.0/24 taken
  must N network create a3
  assert_eq 10.91.0.0/24 "$(field a1 .IPAM.Config[0].Subnet)" "first automatic subnet"
  assert_eq 10.91.0.1 "$(field a1 .IPAM.Config[0].Gateway)" "its gateway"
  assert_eq 10.91.1.0/24 "$(field a2 .IPAM.Config[0].Subnet)" "second automatic subnet"
  assert_eq 10.91.3.0/24 "$(field a3 .IPAM.Config[0].Subnet)" "automatic subnet after a taken one"
  # a route of the host is skipped too
  NS ip link add hnd-route type bridge || fail "cannot add a bridge in the test's namespace"
  NS ip addr add 10.91.4.1/23 dev hnd-route || fail "ip addr add"
  NS ip link set hnd-route up || fail "ip link set up"
  must N network create a4
  assert_eq 10.91.6.0/24 "$(field a4 .IPAM.Config[0].Subnet)" "automatic subnet past a route"
}

test_netdefs_bad_subnets() {
  netdefs_setup
  must N network create --subnet 10.213.0.0/20 base
  fails125 'invalid subnet "10.213.64.0"' network create --subnet 10.213.64.0 x
  fails125 "invalid subnet 10.213.64.1/24: host bits set, did you mean 10.213.64.0/24?" \
    network create --subnet 10.213.64.1/24 x
  fails125 "invalid subnet" network create --subnet 10.213.64.0/33 x
  fails125 "invalid subnet" network create --subnet 10.213.300.0/24 x
  fails125 "invalid subnet" network create --subnet 010.213.64.0/24 x
  fails125 "too small" network create --subnet 10.213.64.0/31 x
  fails125 "IPv6 is not supported" network create --subnet fd00::/64 x
  fails125 "network x: subnet 10.213.4.0/24 overlaps network base (10.213.0.0/20)" \
    network create --subnet 10.213.4.0/24 x
  fails125 "overlaps network base" network create --subnet 10.0.0.0/8 x
  # a route on an interface of the host (the test's namespace)
  NS ip link add hnd-route type bridge || fail "cannot add a bridge in the test's namespace"
  NS ip addr add 10.213.200.1/24 dev hnd-route || fail "ip addr add"
  NS ip link set hnd-route up || fail "ip link set up"
  fails125 "network x: subnet 10.213.200.128/25 overlaps the route to 10.213.200.0/24 on hnd-route" \
    network create --subnet 10.213.200.128/25 x
  # gateways
  fails125 "network x: gateway 10.213.65.1 is not in subnet 10.213.64.0/24" \
    network create --subnet 10.213.64.0/24 --gateway 10.213.65.1 x
  fails125 "is the network address of" network create --subnet 10.213.64.0/24 --gateway 10.213.64.0 x
  fails125 "is the broadcast address of" network create --subnet 10.213.64.0/24 --gateway 10.213.64.255 x
  fails125 "invalid address" network create --subnet 10.213.64.0/24 --gateway 10.213.64 x
  fails125 "--gateway needs --subnet" network create --gateway 10.213.64.1 x
  # nothing was made by the refused ones
  must N network ls -q
  assert_eq 1 "$(wc -l <<<"$OUT")" "networks after refused creates"
  assert_eq "base.conflist" "$(ls -A "$T/store/networks" | grep -v -x -e lock -e ipam -e cache | tr '\n' ' ' | sed 's/ $//')" \
    "files of the networks directory"
  must N network create --subnet 10.213.64.0/24 --gateway 10.213.64.9 x
  assert_eq 10.213.64.9 "$(field x .IPAM.Config[0].Gateway)" "the gateway given"
}

test_netdefs_names() {
  netdefs_setup
  must N network create --subnet 10.213.1.0/24 dup
  fails125 "network dup: already exists" network create --subnet 10.213.2.0/24 dup
  local n
  for n in none host container a:b container:web; do
    fails125 "network $n: the name is reserved" network create "$n"
  done
  fails125 "invalid name" network create -- -x
  fails125 "invalid name" network create "a b"
  fails125 "invalid name" network create ".hidden"
  fails125 "invalid name" network create "$(printf 'n%.0s' {1..65})"
  must N network create "$(printf 'n%.0s' {1..64})"
  must N network create my_net.v2-x
  fails125 "driver macvlan is not supported" network create --driver macvlan x
  must N network create --driver bridge -- x
  # options after the name, as docker takes them
  must N network create late --subnet 10.213.3.0/24 --label k=v
  assert_eq 10.213.3.0/24 "$(field late .IPAM.Config[0].Subnet)" "--subnet after the name"
  must N network rm late
  fails125 "expected KEY=VALUE" network create --label novalue y
  fails125 "one network name is required" network create
  fails125 "one network name is required" network create a b
  fails125 "unknown subcommand" network frob
  fails125 "a subcommand is required" network
  fails125 "network nosuch: no such network" network rm nosuch
  fails125 "at least one network" network rm
  fails125 "network nosuch: no such network" network inspect nosuch
  fails125 "json" network ls --format yaml
  must N network ls -q
  assert_eq 4 "$(wc -l <<<"$OUT")" "networks made"
}

test_netdefs_default() {
  netdefs_setup
  # listing does not make it; it is made on first use (a container) or
  # by create
  must N network ls -q
  assert_out ""
  fails125 "network bridge: no such network" network inspect bridge
  must N network create hull
  assert_eq hull "$(field bridge .Name)" "\"bridge\" is the default network"
  assert_eq 10.213.250.0/24 "$(field hull .IPAM.Config[0].Subnet)" "HULL_DEFAULT_SUBNET"
  assert_eq hull0 "$(field hull '.Options["com.docker.network.bridge.name"]')" "default bridge"
  fails125 "network hull: already exists" network create --subnet 10.213.3.0/24 bridge
  # removed when unused, its bridge with it
  NS ip link add hull0 type bridge || fail "cannot add a bridge in the test's namespace"
  must N network rm bridge
  NS ip link show hull0 >/dev/null 2>&1 && fail "the bridge hull0 is left after network rm"
  must N network ls -q
  assert_out ""
  # made with a subnet of one's choice, "bridge" names it too
  unset HULL_DEFAULT_SUBNET
  must N network create --subnet 10.213.3.0/24 bridge
  assert_eq hull "$(field hull .Name)" "network created as bridge"
  assert_eq 10.213.3.0/24 "$(field bridge .IPAM.Config[0].Subnet)" "default subnet given"
  assert_eq 10.213.3.1 "$(field bridge .IPAM.Config[0].Gateway)" "default gateway"
}

test_netdefs_rm_bridge() {
  netdefs_setup
  must N network create --subnet 10.213.5.0/24 br
  local bridge
  bridge=$(field br '.Options["com.docker.network.bridge.name"]')
  assert_match "$bridge" '^hull-[0-9a-f]{10}$' "bridge name"
  NS ip link add "$bridge" type bridge || fail "cannot add a bridge in the test's namespace"
  NS ip addr add 10.213.5.1/24 dev "$bridge" || fail "ip addr add"
  NS ip link set "$bridge" up || fail "ip link set up"
  NS ip link add hnd-other type bridge || fail "ip link add"
  must N network rm br
  NS ip link show "$bridge" >/dev/null 2>&1 && fail "bridge $bridge is left after network rm"
  NS ip link show hnd-other >/dev/null 2>&1 || fail "network rm removed another link"
  # its subnet is free again (no route left either)
  must N network create --subnet 10.213.5.0/24 br2
  # a network whose bridge was never made goes as well
  must N network rm br2
  return 0
}

test_netdefs_in_use_prune() {
  netdefs_setup
  must N network create --subnet 10.213.6.0/24 used
  local nid=$OUT
  must N network create --subnet 10.213.7.0/24 unused1
  must N network create unused2
  must N network create --subnet 10.213.8.0/24 hull
  local cid
  cid=$(fake_record web used "$nid" 10.213.6.2)
  fails125 "network used: in use by container web" network rm used
  must N network inspect used
  assert_json "$OUT" ".[0].Containers == {\"$cid\": {\"Name\": \"web\", \"MacAddress\": \"02:42:0a:d5:06:02\", \"IPv4Address\": \"10.213.6.2/24\", \"IPv6Address\": \"\"}}"
  # the default network in use, by its other name
  local did
  did=$(fake_record db bridge "" 10.213.8.2)
  fails125 "network hull: in use by container db" network rm hull
  assert_json "$(N network inspect hull)" ".[0].Containers | keys == [\"$did\"]"
  # prune: the unused user networks, never the default one
  must N network prune
  assert_out "unused1
unused2"
  must N network ls --format json
  assert_json "$OUT" 'map(.Name) == ["hull", "used"]'
  rm -rf "$T/store/containers/$did"
  must N network prune
  assert_out ""
  must N network ls -q
  assert_eq 2 "$(wc -l <<<"$OUT")" "networks after prune"
  # the container gone, the network can go
  rm -rf "$T/store/containers/$cid"
  must N network rm used hull
  must N network ls -q
  assert_out ""
}

test_netdefs_concurrent_creates() {
  netdefs_setup
  local i pids=()
  for i in 1 2 3 4 5 6; do
    bg "auto$i" N network create "auto$i"
    pids+=("$BGPID")
  done
  for i in 1 2 3 4; do
    bg "same$i" N network create --subnet "10.213.$((20 + i)).0/24" same
    pids+=("$BGPID")
  done
  local ok=0 pid
  for pid in "${pids[@]}"; do
    bg_wait "$pid" 60
    [ "$RC" -eq 0 ] && ok=$((ok + 1))
  done
  assert_eq 7 "$ok" "concurrent creates that succeeded (6 names + 1 of 4 of one name)"
  grep -l "network same: already exists" "$T"/same*.err | wc -l | grep -qx 3 ||
    fail "the refused creates do not say 'already exists': $(cat "$T"/same*.err)"
  must N network ls --format json
  assert_json "$OUT" 'length == 7 and (map(.Subnet) | unique | length) == 7 and (map(.Bridge) | unique | length) == 7'
}
