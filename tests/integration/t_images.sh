# t_images.sh — hull's image store through the `hull` command line:
# import, images, inspect, save/load (docker-archive and OCI), tag, rmi,
# hostile layers, wrong digests, a load killed half-way, whiteouts and
# overlay mounts of many layers. Each test has its own store ($T/store).

HULL_BIN=$(dirname "$RUNTIME")/hull

# hull ARGS... — the engine with this test's store.
hull() {
  log "+ hull $*"
  timeout -k 5 "$RT_TIMEOUT" "$HULL_BIN" --root "$T/store" "$@"
}
# hull_at STORE ARGS...
hull_at() {
  local root=$1; shift
  log "+ hull --root $root $*"
  timeout -k 5 "$RT_TIMEOUT" "$HULL_BIN" --root "$root" "$@"
}

# mkarchive OUT FORMAT SPEC-JSON — an image archive built with python's
# tarfile from a description: {"name": "x:y", "layers": [[ENTRY...]...],
# "bad_diff_id": bool, "bad_blob": bool}; ENTRY = ["file", path, text],
# ["dir", path], ["symlink", path, target], ["hardlink", path, target],
# ["raw", path, text] (a file whose name is not cleaned: "../x", "/x").
# FORMAT: docker (legacy <dir>/layer.tar, a repeated layer a symlink to its
# first copy, as docker save writes) or oci.
mkarchive() {
  "$PYTHON" - "$@" <<'PY' || fail "mkarchive failed"
import hashlib, io, json, sys, tarfile, time
out, fmt, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
def layer(entries):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e[1]); ti.mtime = 1700000000
            data = None
            if e[0] in ("file", "raw"):
                data = e[2].encode(); ti.size = len(data); ti.mode = 0o644
            elif e[0] == "dir":
                ti.type = tarfile.DIRTYPE; ti.mode = 0o755
            elif e[0] == "symlink":
                ti.type = tarfile.SYMTYPE; ti.linkname = e[2]
            elif e[0] == "hardlink":
                ti.type = tarfile.LNKTYPE; ti.linkname = e[2]
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return b.getvalue()
layers = [layer(l) for l in spec["layers"]]
diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
if spec.get("bad_diff_id"):
    diff_ids[-1] = "sha256:" + "0" * 64
config = json.dumps({"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
    "config": {"Cmd": ["sh"]}, "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
def add(t, name, data):
    ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 1700000000
    t.addfile(ti, io.BytesIO(data))
sha = lambda d: hashlib.sha256(d).hexdigest()
with tarfile.open(out, "w") as t:
    if fmt == "docker":
        # as docker save does: a directory per layer, a repeated layer a
        # symlink to the first copy
        names, first = [], {}
        for i, l in enumerate(layers):
            d = "%d%s" % (i, sha(l)[:20])
            if sha(l) in first:
                ti = tarfile.TarInfo(d + "/layer.tar"); ti.type = tarfile.SYMTYPE
                ti.linkname = "../" + first[sha(l)] + "/layer.tar"; t.addfile(ti)
            else:
                add(t, d + "/layer.tar", l); first[sha(l)] = d
            names.append(d + "/layer.tar")
        add(t, sha(config) + ".json", config)
        add(t, "manifest.json", json.dumps([{"Config": sha(config) + ".json",
            "RepoTags": [spec["name"]], "Layers": names}]).encode())
    else:
        man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + sha(config), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + sha(l), "size": len(l)} for l in layers]}).encode()
        blobs = [config, man] + layers
        for i, b in enumerate(blobs):
            name = sha(b)
            if spec.get("bad_blob") and i == len(blobs) - 1:
                b = b + b"tampered"
            add(t, "blobs/sha256/" + name, b)
        add(t, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add(t, "index.json", json.dumps({"schemaVersion": 2, "manifests": [{"mediaType":
            "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + sha(man), "size": len(man),
            "annotations": {"org.opencontainers.image.ref.name": spec["name"]}}]}).encode())
PY
}

# busybox_tar OUT — a tar of the test rootfs (busybox).
busybox_tar() { tar -C "$BUNDLE/rootfs" -cf "$1" . || fail "tar failed"; }

# image_id REF [STORE]
image_id() { hull_at "${2:-$T/store}" image inspect "$1" | jq -r '.[0].Id'; }

# assert_images_empty STORE — `hull images` works and lists nothing (no
# half image is visible).
assert_images_empty() {
  local l
  l=$(hull_at "$1" images -q) || fail "hull images failed on $1"
  [ -z "$l" ] || fail "store $1 lists images: $l"
}

test_images_import_list_inspect() {
  busybox_tar "$T/bb.tar"
  must hull import -c 'CMD ["sh"]' -c 'ENV FOO=bar' "$T/bb.tar" busybox:latest
  assert_match "$OUT" '^sha256:[0-9a-f]{64}$' "import prints the id"
  local id=$OUT
  must hull images
  assert_match "$OUT" 'REPOSITORY +TAG +IMAGE ID +CREATED +SIZE' "images header"
  assert_match "$OUT" "busybox +latest +${id:7:12} " "images row"
  must hull images -q
  assert_out "${id:7:12}"
  must hull images --format json
  assert_json "$OUT" '.[0].RepoTags == ["busybox:latest"]' "images json"
  must hull image inspect busybox
  assert_json "$OUT" ".[0].Id == \"$id\"" "inspect Id"
  assert_json "$OUT" '.[0].Config.Cmd == ["sh"] and .[0].Config.Env == ["FOO=bar"]' "inspect Config"
  assert_json "$OUT" '.[0].Os == "linux" and .[0].Architecture == "amd64"' "inspect os/arch"
  assert_json "$OUT" ".[0].RootFS.Layers == [\"sha256:$(sha "$T/bb.tar")\"]" "diff_id is the tar's digest"
  assert_json "$OUT" '.[0].Size > 1000000' "inspect Size"
  # by id, by prefix, from stdin without a name
  must hull image inspect "${id:7:8}"
  must sh -c '"$0" --root "$1" import - <"$2"' "$HULL_BIN" "$T/store" "$T/bb.tar"
  assert_fails "no such image" hull image inspect nosuch:tag
  assert_rc 125
  # compressed root file systems: the same layer (diff_id) each time
  gzip -k "$T/bb.tar" && xz -k "$T/bb.tar" || fail "compress"
  local f
  for f in bb.tar.gz bb.tar.xz; do
    must hull import "$T/$f" "c:${f##*.}"
    must hull image inspect "c:${f##*.}"
    assert_json "$OUT" ".[0].RootFS.Layers == [\"sha256:$(sha "$T/bb.tar")\"]" "$f diff_id"
  done
  assert_eq 1 "$(find "$T/store/image/layers" -mindepth 1 -maxdepth 1 | wc -l)" "one shared layer"
  printf 'not a tar at all' >"$T/junk"
  assert_fails "not a tar" hull import "$T/junk" junk:1
  assert_rc 125
}

test_images_save_load_roundtrip() {
  busybox_tar "$T/bb.tar"
  must hull import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest
  local id; id=$(image_id busybox)
  local fmt
  for fmt in docker-archive oci-archive; do
    must hull save --format "$fmt" -o "$T/$fmt.tar" busybox:latest
    must hull_at "$T/s-$fmt" load -i "$T/$fmt.tar"
    assert_out "Loaded image: busybox:latest"
    assert_eq "$id" "$(image_id busybox "$T/s-$fmt")" "$fmt: image id after load"
    assert_eq "$(hull image inspect busybox | jq -c '.[0] | [.RepoDigests, .RootFS, .Config]')" \
      "$(hull_at "$T/s-$fmt" image inspect busybox | jq -c '.[0] | [.RepoDigests, .RootFS, .Config]')" "$fmt: inspect"
    # the unpacked files are the same, modes and owners included
    local a b
    a=$(ls -d "$T"/store/image/layers/*/diff) b=$(ls -d "$T"/s-$fmt/image/layers/*/diff)
    diff -r --no-dereference "$a" "$b" >&"$LOG_FD" || fail "$fmt: unpacked layers differ"
    assert_eq "$(cd "$a" && find . -printf '%p %m %u %g %s %l\n' | sort | sha256sum)" \
      "$(cd "$b" && find . -printf '%p %m %u %g %s %l\n' | sort | sha256sum)" "$fmt: metadata"
    diff -r --no-dereference "$BUNDLE/rootfs" "$a" >&"$LOG_FD" || fail "import changed files"
  done
  # stdin, quiet, and a gzip'ed archive
  gzip -c "$T/docker-archive.tar" >"$T/d.tar.gz"
  must sh -c '"$0" --root "$1" load -q <"$2"' "$HULL_BIN" "$T/s-gz" "$T/d.tar.gz"
  assert_out "Loaded image: busybox:latest"
  assert_eq "$id" "$(image_id busybox "$T/s-gz")" "gzip archive"
}

test_images_tag_rmi() {
  busybox_tar "$T/bb.tar"
  must hull import "$T/bb.tar" busybox
  local id; id=$(image_id busybox:latest)
  must hull tag busybox localhost:5000/team/app:v2
  must hull tag "${id:7:12}" other
  must hull images --format json
  assert_json "$OUT" '.[0].RepoTags | sort == ["busybox:latest", "localhost:5000/team/app:v2", "other:latest"]' "tags"
  assert_fails "invalid reference" hull tag busybox 'Bad/Name:x'
  assert_rc 125
  assert_fails "bad tag" hull tag busybox 'ok:bad tag!'
  assert_fails "no such image" hull tag nosuch x
  assert_fails "referenced by 3 names" hull rmi "${id:7:12}"
  must hull rmi other
  assert_out "Untagged: other:latest"
  must hull image rm localhost:5000/team/app:v2
  must hull rmi busybox
  assert_contains "$OUT" "Untagged: busybox:latest"
  assert_contains "$OUT" "Deleted: $id"
  assert_images_empty "$T/store"
  # the blobs and layers went with the image
  assert_eq "" "$(find "$T/store/image/layers" "$T/store/image/blobs/sha256" "$T/store/image/l" -mindepth 1)" "store emptied"
  assert_fails "no such image" hull rmi busybox
}

# A hostile layer is refused with a clear error, writes nothing outside
# the store, and leaves no image.
hostile() {
  local what=$1 want=$2 layers=$3
  log "--- hostile: $what"
  mkarchive "$T/h.tar" docker "{\"name\": \"evil:latest\", \"layers\": $layers}"
  assert_fails "$want" hull load -i "$T/h.tar"
  assert_rc 125
  [ "$(wc -l <<<"$ERR")" -eq 1 ] || fail "$what: error is not one line: $ERR"
  assert_images_empty "$T/store"
}

test_images_hostile_layers() {
  local canary=/tmp/hull-canary-$$
  rm -rf "$canary" "$T/evil" /evil-hull-$$
  hostile "dot-dot" '".." refused' '[[["raw", "../evil", "x"]]]'
  hostile "dot-dot deep" '".." refused' '[[["dir", "a"], ["raw", "a/../../evil", "x"]]]'
  hostile "absolute" "absolute path refused" "[[[\"raw\", \"/evil-hull-$$\", \"x\"]]]"
  hostile "symlink then write" "symlink" "[[[\"symlink\", \"l\", \"$canary\"], [\"file\", \"l/file\", \"x\"]]]"
  hostile "symlink dir then write" "symlink" "[[[\"symlink\", \"l\", \"../../../..$canary\"], [\"file\", \"l/x\", \"x\"]]]"
  hostile "hardlink outside" "hardlink" '[[["hardlink", "pw", "../../etc/passwd"]]]'
  hostile "hardlink absolute" "hardlink" '[[["hardlink", "pw", "/etc/passwd"]]]'
  hostile "hardlink to missing" "not in the layer" '[[["hardlink", "pw", "etc/passwd"]]]'
  assert_no_file "$canary"
  assert_no_file "$T/evil"
  assert_no_file "/evil-hull-$$"
  # a symlink pointing outside is fine as long as nothing goes through it
  mkarchive "$T/ok.tar" docker "{\"name\": \"ok:1\", \"layers\": [[[\"symlink\", \"l\", \"$canary\"], [\"file\", \"f\", \"x\"]]]}"
  must hull load -i "$T/ok.tar"
  assert_no_file "$canary"
}

test_images_wrong_digests() {
  # a config whose diff_id is not the layer's
  mkarchive "$T/d.tar" docker '{"name": "w:1", "bad_diff_id": true, "layers": [[["file", "f", "x"]]]}'
  assert_fails "diff_id mismatch" hull load -i "$T/d.tar"
  assert_rc 125
  # an OCI blob whose content is not its name
  mkarchive "$T/o.tar" oci '{"name": "w:2", "bad_blob": true, "layers": [[["file", "f", "x"]]]}'
  assert_fails "digest mismatch" hull load -i "$T/o.tar"
  # manifest.json that is not JSON; one naming a missing blob
  mkdir -p "$T/a" && echo '{nope' >"$T/a/manifest.json"
  tar -C "$T/a" -cf "$T/bad.tar" manifest.json
  assert_fails "manifest.json: not JSON" hull load -i "$T/bad.tar"
  echo '[{"Config": "missing.json", "RepoTags": ["m:1"], "Layers": []}]' >"$T/a/manifest.json"
  tar -C "$T/a" -cf "$T/bad.tar" manifest.json
  assert_fails "does not hold" hull load -i "$T/bad.tar"
  printf 'garbage' >"$T/g.tar"
  assert_fails "" hull load -i "$T/g.tar"
  assert_rc 125
  assert_images_empty "$T/store"
}

test_images_load_killed() {
  # a layer large enough that the load is caught in the middle
  mkdir -p "$T/big/data"
  head -c 300M /dev/urandom >"$T/big/data/blob" || skip "no space for a 300 MB layer"
  tar -C "$T/big" -cf "$T/big.tar" . && rm -rf "$T/big"
  must hull import "$T/big.tar" big:1
  must hull save -o "$T/big-archive.tar" big:1
  must hull rmi big:1
  rm -f "$T/big.tar"
  local i
  for i in 1 2; do
    bg load "$HULL_BIN" --root "$T/store" load -i "$T/big-archive.tar"
    local pid=$BGPID
    # kill once the layer is on its way in (blob, then unpacking)
    poll 30 sh -c "find '$T/store/image/tmp' -mindepth 2 | grep -q ." || fail "load never started writing"
    [ "$i" = 2 ] && poll 30 sh -c "find '$T/store/image/tmp' -path '*layer-*' | grep -q ."
    kill -9 "$pid"; wait "$pid" 2>/dev/null
    must hull images -q
    assert_out ""
  done
  # prune removes the blobs the killed loads left
  must hull image prune
  assert_eq "" "$(find "$T/store/image/blobs/sha256" "$T/store/image/layers" "$T/store/image/tmp" -mindepth 1)" "after prune"
  # the next load cleans the leftovers and succeeds
  must hull load -i "$T/big-archive.tar"
  assert_out "Loaded image: big:1"
  assert_eq "" "$(ls "$T/store/image/tmp")" "leftovers in tmp"
  assert_eq 1 "$(ls "$T/store/image/layers" | wc -l)" "layers"
  must hull rmi big:1
  assert_eq "" "$(ls "$T/store/image/blobs/sha256")" "unreferenced blobs removed"
}

test_images_whiteouts_and_mount() {
  mkarchive "$T/w.tar" oci '{"name": "wh:1", "layers": [
    [["dir", "a"], ["file", "a/gone", "1"], ["file", "a/kept", "2"], ["dir", "d"], ["file", "d/old", "3"]],
    [["file", "a/.wh.gone", ""], ["dir", "d"], ["file", "d/.wh..wh..opq", ""], ["file", "d/new", "4"]]]}'
  must hull load -i "$T/w.tar"
  local top
  top=$(hull image inspect wh:1 | jq -r '.[0].RootFS.Layers[1]' | cut -c8-)
  local L=$T/store/image/layers/$top/diff
  assert_eq "character special file 0,0" "$(stat -c '%F %t,%T' "$L/a/gone")" "whiteout"
  assert_eq "y" "$("$PYTHON" -c 'import os,sys; print(os.getxattr(sys.argv[1], "trusted.overlay.opaque").decode())' "$L/d")" "opaque xattr"
  assert_no_file "$L/d/.wh..wh..opq"
  must hull image mount wh:1 "$T/c"
  assert_eq "kept" "$(ls "$T/c/merged/a")" "whiteout hides the file"
  assert_eq "new" "$(ls "$T/c/merged/d")" "opaque directory hides the lower one"
  echo x >"$T/c/merged/written" || fail "write in the overlay"
  assert_file "$T/c/upper/written"
  must hull image umount "$T/c"
  must hull image umount "$T/c"  # idempotent
  assert_no_file "$T/c/merged/a"
}

test_images_many_layers_mount() {
  local i layers="" sep=""
  for i in $(seq 1 120); do
    layers="${layers}${sep}[[\"file\", \"f$i\", \"$i\"]]"; sep=", "
  done
  mkarchive "$T/m.tar" oci "{\"name\": \"many:1\", \"layers\": [$layers]}"
  must hull load -i "$T/m.tar"
  must hull image mount many:1 "$T/c"
  assert_eq 120 "$(ls "$T/c/merged" | wc -l)" "files of 120 layers"
  assert_eq 120 "$(cat "$T/c/merged/f120")"
  must hull image umount "$T/c"
  # the same layer twice (overlay refuses a lowerdir twice)
  mkarchive "$T/d.tar" docker '{"name": "dup:1", "layers": [[["file", "a", "1"]], [["file", "b", "2"]], [["file", "a", "1"]]]}'
  must hull load -i "$T/d.tar"
  must hull image mount dup:1 "$T/d"
  assert_eq "a b" "$(ls "$T/d/merged" | tr '\n' ' ' | sed 's/ $//')" "files of a repeated layer"
  must hull image umount "$T/d"
  # scratch: no layer at all
  mkarchive "$T/s.tar" oci '{"name": "scratch:1", "layers": []}'
  must hull load -i "$T/s.tar"
  must hull image mount scratch:1 "$T/s"
  assert_eq "" "$(ls "$T/s/merged")" "scratch is empty"
  must hull image umount "$T/s"
  # read-only (no upper): overlay wants two lowers, empty ones fill in
  must hull image mount --read-only scratch:1 "$T/r"
  must hull image umount "$T/r"
  must hull image mount --read-only dup:1 "$T/r2"
  assert_fails "" touch "$T/r2/merged/new"
  must hull image umount "$T/r2"
}

test_images_prune_and_in_use() {
  busybox_tar "$T/bb.tar"
  must hull import "$T/bb.tar" a:1
  local id; id=$(image_id a:1)
  must hull import -c 'CMD ["true"]' "$T/bb.tar" a:1  # a:1 moves: the first is dangling
  must hull images
  assert_contains "$OUT" "<none>"
  must hull image prune
  assert_contains "$OUT" "Deleted: $id"
  must hull images -q
  assert_eq 1 "$(wc -l <<<"$OUT")" "one image left"
  # a container record naming the image (as the engine writes it) keeps
  # it: rmi refuses, prune -a skips it, rmi -f removes it
  local used; used=$(image_id a:1)
  local cid; cid=$(printf 'c0ffee%058d' 0)
  mkdir -p "$T/store/containers/$cid"
  printf '{"Image": "%s", "Name": "web"}\n' "$used" >"$T/store/containers/$cid/config.json"
  assert_fails "in use by container web" hull rmi a:1
  assert_rc 125
  must hull image prune -a
  assert_out ""
  must hull rmi -f a:1
  assert_contains "$OUT" "Deleted: $used"
}

test_images_concurrent_loads() {
  busybox_tar "$T/bb.tar"
  must hull import "$T/bb.tar" bb:1
  must hull save -o "$T/bb-archive.tar" bb:1
  must hull rmi bb:1
  local i pids=()
  for i in 1 2 3 4; do
    bg "load$i" "$HULL_BIN" --root "$T/store" load -q -i "$T/bb-archive.tar"
    pids+=("$BGPID")
  done
  for i in 1 2 3 4; do
    bg_wait "${pids[$((i - 1))]}" 60
    assert_eq 0 "$RC" "load $i exit status ($(cat "$T/load$i.err"))"
    assert_eq "Loaded image: bb:1" "$(cat "$T/load$i.out")" "load $i"
  done
  # one layer, one short link, nothing left in tmp
  assert_eq 1 "$(find "$T/store/image/layers" -mindepth 1 -maxdepth 1 | wc -l)" "layers"
  assert_eq 1 "$(find "$T/store/image/l" -mindepth 1 | wc -l)" "short links"
  assert_eq "" "$(find "$T/store/image/tmp" -mindepth 1)" "leftovers"
}

# a store whose own path holds "/layers/": layers are still found by
# their own path's end
test_images_store_path_with_layers() {
  [ -x "$HULL_BIN" ] || skip "hull not built"
  "$(dirname "$MKBUNDLE")/mkrootfs" "$T/rootfs" >/dev/null || fail "mkrootfs failed"
  tar -C "$T/rootfs" -cf "$T/rootfs.tar" . || fail "tar failed"
  local S=("$HULL_BIN" --root "$T/layers/store" --runroot "$STATE")
  must "${S[@]}" import "$T/rootfs.tar" busybox
  must "${S[@]}" run --rm --network none busybox echo ran
  assert_out ran
  must "${S[@]}" system df
}

# collecting garbage when a named image cannot be read (here its manifest
# is damaged) removes nothing: what that image uses is not known
test_images_gc_keeps_what_it_cannot_read() {
  [ -x "$HULL_BIN" ] || skip "hull not built"
  "$(dirname "$MKBUNDLE")/mkrootfs" "$T/rootfs" >/dev/null || fail "mkrootfs failed"
  tar -C "$T/rootfs" -cf "$T/a.tar" . || fail "tar failed"
  mkdir -p "$T/b" && echo b >"$T/b/file" && tar -C "$T/b" -cf "$T/b.tar" .
  local S=("$HULL_BIN" --root "$T/store" --runroot "$STATE")
  must "${S[@]}" import "$T/a.tar" a
  must "${S[@]}" import "$T/b.tar" b
  local man layers
  man=$(jq -r '.images[] | select(.names[0] == "a:latest") | .manifest' "$T/store/image/index.json")
  layers=$(ls "$T/store/image/layers" | wc -l)
  printf 'not a manifest' >"$T/store/image/blobs/sha256/${man#sha256:}"
  must "${S[@]}" rmi b
  assert_eq "$layers" "$(ls "$T/store/image/layers" | wc -l)" "layers after a collection that could not read image a"
}
