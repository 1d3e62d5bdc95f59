# t_registry.sh — hull pull and hull push against Debian's docker-registry
# (started here on 127.0.0.1 with its own config and storage under $T),
# with skopeo as the independent peer, and against registry-fake.py for
# what a real registry will not do (token auth flow, errors, cut-off and
# corrupt blobs). Traffic goes to 127.0.0.1 only.

HULL=$(dirname "$RUNTIME")/hull

# H STORE ARGS... — hull on a store of this test
H() { local st=$1; shift; log "+ hull[$st] $*"; timeout -k 5 120 "$HULL" --root "$T/$st" --runroot "$T/run" "$@"; }

reg_need() {
  [ -x "$HULL" ] || skip "hull is not built"
  command -v docker-registry >/dev/null || skip "docker-registry is not installed (scripts/setup installs it)"
}

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# reg_start [AUTH-YAML] — docker-registry on 127.0.0.1:$REG_PORT; REG=host:port
reg_start() {
  REG_PORT=$(free_port)
  REG=127.0.0.1:$REG_PORT
  mkdir -p "$T/registry"
  cat >"$T/registry.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $T/registry
http:
  addr: $REG
${1:-}
EOF
  bg registry docker-registry serve "$T/registry.yml"
  wait_for 20 curl -s -o /dev/null "http://$REG/v2/" || true
  poll 20 sh -c "curl -s -o /dev/null -w '%{http_code}' http://$REG/v2/ | grep -q '^[24]'" ||
    fail "docker-registry did not come up: $(cat "$T/registry.err")"
}

# an image in store s1, from a busybox rootfs (plus EXTRA_MB of noise)
make_image() {
  local extra=${1:-0}
  "$LIB_DIR/../lib/mkrootfs" "$T/rootfs" >/dev/null 2>&1 || fail "mkrootfs failed"
  [ "$extra" -gt 0 ] && head -c $((extra << 20)) /dev/urandom >"$T/rootfs/noise"
  tar -C "$T/rootfs" -cf "$T/rootfs.tar" .
  must H s1 import "$T/rootfs.tar" busybox:latest
  IMG_ID=$OUT
}

assert_no_images() { # STORE
  must H "$1" images -q
  assert_out ""
}

test_registry_push_pull_round_trip() {
  reg_need
  reg_start
  make_image
  must H s1 push -q busybox:latest "$REG/team/app:v2"
  must H s2 pull -q "$REG/team/app:v2"
  assert_eq "$IMG_ID" "$OUT" "pulled image id"
  must H s2 image inspect "$REG/team/app:v2"
  assert_json "$OUT" ".[0].RepoTags | index(\"$REG/team/app:v2\") != null" "name"
  assert_json "$OUT" ".[0].Id == \"$IMG_ID\"" "id"
  # the content: the same files as the image that was pushed
  must H s2 save -o "$T/pulled.tar" "$REG/team/app:v2"
  must H s1 save -o "$T/pushed.tar" busybox:latest
  mkdir -p "$T/a" "$T/b"
  tar -C "$T/a" -xf "$T/pulled.tar" && tar -C "$T/b" -xf "$T/pushed.tar"
  assert_eq "$(cd "$T/b" && find . -type f -name '*.tar' -exec sha256sum {} + | sort)" \
    "$(cd "$T/a" && find . -type f -name '*.tar' -exec sha256sum {} + | sort)" "layer tars"
  # a second push finds every blob there already
  must H s1 push busybox:latest "$REG/team/app:v2"
  assert_contains "$ERR" "already in the registry" "existence check"
  # a push to another repository mounts the blobs instead of uploading
  must H s2 push "$REG/team/app:v2" "$REG/other/app:v1"
  assert_contains "$ERR" "mounted from team/app" "cross-repository mount"
}

test_registry_skopeo_is_the_peer() {
  reg_need
  command -v skopeo >/dev/null || skip "skopeo is not installed"
  reg_start
  make_image
  # skopeo copies hull's image into the registry (as Docker schema 2 too)
  must H s1 save --format oci-archive -o "$T/oci.tar" busybox:latest
  must skopeo copy --dest-tls-verify=false "oci-archive:$T/oci.tar" "docker://$REG/sk/oci:1"
  must skopeo copy --dest-tls-verify=false --format v2s2 "oci-archive:$T/oci.tar" "docker://$REG/sk/v2s2:1"
  must H s2 pull -q "$REG/sk/oci:1"
  assert_eq "$IMG_ID" "$OUT" "image id pulled from skopeo's copy"
  must H s3 pull -q "$REG/sk/v2s2:1"
  assert_eq "$IMG_ID" "$OUT" "image id pulled from skopeo's Docker schema 2 copy"
  # the same layer compressed: a store that has it unpacked still gets the
  # blob the manifest names, so the pulled image saves and pushes
  must skopeo copy --dest-tls-verify=false --dest-compress "oci-archive:$T/oci.tar" "docker://$REG/sk/gz:1"
  must H s1 pull -q "$REG/sk/gz:1"
  must H s1 save -o "$T/gz.tar" "$REG/sk/gz:1"
  must H s1 push -q "$REG/sk/gz:1" "$REG/sk/gz-again:1"
  # what hull pushes, skopeo reads
  must H s1 push -q busybox:latest "$REG/hull/pushed:7"
  must skopeo inspect --tls-verify=false "docker://$REG/hull/pushed:7"
  local sk_digest; sk_digest=$(echo "$OUT" | jq -r .Digest)
  must H s1 image inspect busybox:latest
  must skopeo inspect --tls-verify=false --config "docker://$REG/hull/pushed:7"
  assert_json "$OUT" '.rootfs.diff_ids | length == 1' "config read by skopeo"
  must curl -sf -o /dev/null -H "Accept: application/vnd.oci.image.manifest.v1+json" \
    "http://$REG/v2/hull/pushed/manifests/$sk_digest"
}

test_registry_index_selects_platform() {
  reg_need
  reg_start
  make_image
  must H s1 push busybox:latest "$REG/multi/app:amd"
  local amd=$OUT
  # a second image stands for the arm64 one
  echo other >"$T/rootfs/other" && tar -C "$T/rootfs" -cf "$T/other.tar" .
  must H s1 import "$T/other.tar" other:latest
  local other_id=$OUT
  must H s1 push other:latest "$REG/multi/app:arm"
  local arm=$OUT
  manifest_size() {
    curl -s -H "Accept: application/vnd.oci.image.manifest.v1+json" \
      "http://$REG/v2/multi/app/manifests/$1" | wc -c
  }
  jq -n --arg a "$amd" --argjson asz "$(manifest_size "$amd")" \
    --arg r "$arm" --argjson rs "$(manifest_size "$arm")" '{schemaVersion: 2,
     mediaType: "application/vnd.oci.image.index.v1+json",
     manifests: [
       {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $r, size: $rs,
        platform: {os: "linux", architecture: "arm64", variant: "v8"}},
       {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $a, size: $asz,
        platform: {os: "linux", architecture: "amd64"}}]}' >"$T/index.json"
  must curl -sf -X PUT -H "Content-Type: application/vnd.oci.image.index.v1+json" \
    --data-binary "@$T/index.json" "http://$REG/v2/multi/app/manifests/latest"
  must H s2 pull -q "$REG/multi/app:latest"
  assert_eq "$IMG_ID" "$OUT" "linux/amd64 picked from the index by default"
  must H s3 pull -q --platform linux/arm64/v8 "$REG/multi/app:latest"
  assert_eq "$other_id" "$OUT" "linux/arm64/v8 picked with --platform"
  try H s4 pull --platform linux/s390x "$REG/multi/app:latest"
  [ "$RC" -ne 0 ] || fail "a platform the index lacks was pulled"
  assert_contains "$ERR" "no image for linux/s390x" "reason"
  assert_no_images s4
}

test_registry_basic_auth() {
  reg_need
  local hash
  hash=$("$PYTHON" -c 'import crypt; print(crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH)))' 2>/dev/null) ||
    skip "no bcrypt in python3's crypt"
  echo "alice:$hash" >"$T/htpasswd"
  reg_start "auth:
  htpasswd:
    realm: hull-test
    path: $T/htpasswd"
  make_image
  try H s1 push busybox:latest "$REG/private/app:1"
  [ "$RC" -ne 0 ] || fail "pushed without credentials"
  assert_contains "$ERR" "authentication required" "reason"
  must H s1 push -q --creds alice:s3cret busybox:latest "$REG/private/app:1"
  try H s2 pull --creds alice:wrong "$REG/private/app:1"
  [ "$RC" -ne 0 ] || fail "pulled with a wrong password"
  assert_contains "$ERR" "HTTP 401" "reason"
  # credentials from an auth file, as podman and docker keep them
  printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG" "$(printf alice:s3cret | base64)" >"$T/auth.json"
  REGISTRY_AUTH_FILE=$T/auth.json must H s2 pull -q "$REG/private/app:1"
  assert_eq "$IMG_ID" "$OUT" "pulled with the auth file's credentials"
}

# fake_start MODE — registry-fake.py serving busybox:latest of store s1
fake_start() {
  rm -rf "$T/layout" "$T/fake.port"
  mkdir -p "$T/layout"
  [ -f "$T/oci.tar" ] || must H s1 save --format oci-archive -o "$T/oci.tar" busybox:latest
  tar -C "$T/layout" -xf "$T/oci.tar"
  bg fake "$PYTHON" "$LIB_DIR/registry-fake.py" "$T/layout" "$T/fake.port" "$1" alice:pw
  wait_for 10 test -s "$T/fake.port"
  FAKE=127.0.0.1:$(cat "$T/fake.port")
}

test_registry_bearer_token_flow() {
  [ -x "$HULL" ] || skip "hull is not built"
  make_image
  fake_start bearer
  try H s2 pull "$FAKE/some/app:1"
  [ "$RC" -ne 0 ] || fail "pulled without a token"
  assert_contains "$ERR" "token request: HTTP 401" "reason"
  must H s2 pull -q --creds alice:pw "$FAKE/some/app:1"
  assert_eq "$IMG_ID" "$OUT" "pulled with a Bearer token"
}

test_registry_misbehaving_registry_leaves_nothing() {
  [ -x "$HULL" ] || skip "hull is not built"
  make_image 1
  local mode want
  for mode in error500 truncate baddigest oversize; do
    case $mode in
      error500) want="storage on fire" ;;
      truncate) want="blob" ;;
      baddigest) want="digest" ;;
      oversize) want="bytes its descriptor says" ;;
    esac
    fake_start "$mode"
    try H s2 pull "$FAKE/bad/app:1"
    [ "$RC" -ne 0 ] || fail "$mode: pull succeeded"
    assert_contains "$ERR" "$want" "$mode: reason"
    [ "$(echo "$ERR" | grep -c '^hull:')" -eq 1 ] || fail "$mode: not one line: $ERR"
    assert_no_images s2
    kill "$BGPID" 2>/dev/null
  done
  # nothing half-done: the next pull from a good registry works
  fake_start ok
  must H s2 pull -q "$FAKE/good/app:1"
  assert_eq "$IMG_ID" "$OUT" "pull after the failures"
}

test_registry_unknown_image() {
  reg_need
  reg_start
  make_image
  try H s2 pull "$REG/nothing/here:1"
  [ "$RC" -ne 0 ] || fail "pulled an image that does not exist"
  assert_contains "$ERR" "MANIFEST_UNKNOWN" "the registry's own words"
  try H s1 push nosuch:image "$REG/x/y:1"
  [ "$RC" -ne 0 ] || fail "pushed an image that does not exist"
  assert_contains "$ERR" "nosuch" "names the image"
}

test_registry_pull_killed_then_clean() {
  reg_need
  reg_start
  make_image 24
  must H s1 push -q busybox:latest "$REG/big/app:1"
  local i delay
  for i in 1 2 3; do
    delay=$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 0.05 + rand() * 0.6 }')
    "$HULL" --root "$T/s2" pull -q "$REG/big/app:1" >/dev/null 2>&1 &
    local p=$!
    sleep "$delay"
    kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    # either the whole image or none of it
    must H s2 images -q
    if [ -n "$OUT" ]; then
      must H s2 image inspect "$REG/big/app:1"
      H s2 rmi -f "$REG/big/app:1" >/dev/null 2>&1
    fi
  done
  must H s2 pull -q "$REG/big/app:1"
  assert_eq "$IMG_ID" "$OUT" "pull after pulls killed with -9"
}
