/* The OCI config.json of a container, generated at each start from its
 * record: the image's config merged with the run options ("Config"), the
 * host options ("HostConfig"). The base is hull-runtime's default spec
 * (runc's example: mounts of /proc /dev /sys ..., masked and read-only
 * paths) with docker's defaults on top: its capability set, a seccomp
 * profile, a writable root, the container's own hostname/hosts/resolv.conf. */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fs.h"
#include "../common/json.h"
#include "../spec/spec.h"
#include "engine.h"

const char *const engine_default_caps[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
    "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL", "CAP_AUDIT_WRITE", NULL};

/* "net_admin" / "NET_ADMIN" / "CAP_NET_ADMIN" → "CAP_NET_ADMIN". */
static int cap_canon(const char *in, char *out, size_t len, struct hull_error *e) {
  char buf[64];
  if (strlen(in) >= sizeof buf - 4)
    return hull_err(e, EINVAL, "capability \"%.64s\": unknown", in);
  snprintf(buf, sizeof buf, "%s%s", strncasecmp(in, "CAP_", 4) ? "CAP_" : "", in);
  for (char *p = buf; *p; p++)
    *p = (char)toupper((unsigned char)*p);
  if (!strcmp(buf, "CAP_ALL")) {
    snprintf(out, len, "ALL");
    return 0;
  }
  if (cap_number_from_name(buf) < 0)
    return hull_err(e, EINVAL, "capability \"%s\": unknown", in);
  snprintf(out, len, "%s", buf);
  return 0;
}

static bool in_list(json_t *arr, const char *s) {
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) if (!strcmp(json_string_value(v), s)) return true;
  return false;
}

static int build_caps(json_t *host, json_t **out, struct hull_error *e) {
  json_t *caps = json_array();
  json_t *add = json_object_get(host, "CapAdd"), *drop = json_object_get(host, "CapDrop");
  bool drop_all = false, add_all = false;
  char c[64];
  size_t i;
  json_t *v;
  json_array_foreach(drop, i, v) {
    if (cap_canon(json_string_value(v), c, sizeof c, e) < 0)
      goto bad;
    drop_all |= !strcmp(c, "ALL");
  }
  json_array_foreach(add, i, v) {
    if (cap_canon(json_string_value(v), c, sizeof c, e) < 0)
      goto bad;
    add_all |= !strcmp(c, "ALL");
  }
  if (add_all) {
    for (int n = 0; n <= cap_last_known(); n++)
      if (cap_name_from_number(n))
        json_array_append_new(caps, json_string(cap_name_from_number(n)));
  } else if (!drop_all) {
    for (const char *const *p = engine_default_caps; *p; p++)
      json_array_append_new(caps, json_string(*p));
  }
  json_array_foreach(add, i, v) {
    cap_canon(json_string_value(v), c, sizeof c, e);
    if (strcmp(c, "ALL") && !in_list(caps, c))
      json_array_append_new(caps, json_string(c));
  }
  json_array_foreach(drop, i, v) {
    cap_canon(json_string_value(v), c, sizeof c, e);
    for (size_t j = 0; j < json_array_size(caps); j++)
      if (!strcmp(json_string_value(json_array_get(caps, j)), c))
        json_array_remove(caps, j--);
  }
  *out = caps;
  return 0;
bad:
  json_decref(caps);
  return -EINVAL;
}

/* Look NAME up in the root's /etc/passwd or /etc/group (field 3 = id). */
static int lookup_id(int rootfd, const char *file, const char *name, long *id,
                     long *gid) {
  _cleanup_close_ int fd = fs_open_in_root(rootfd, file, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    return -ENOENT;
  /* passwd and group files are small: one read of the first 1 MiB */
  size_t cap = 1 << 20;
  _cleanup_free_ char *text = malloc(cap + 1);
  if (!text)
    return -ENOMEM;
  ssize_t n = pread(fd, text, cap, 0);
  if (n < 0)
    return -errno;
  text[n] = '\0';
  size_t nl = strlen(name);
  for (char *line = text, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    if (strncmp(line, name, nl) || line[nl] != ':')
      continue;
    char *f = line + nl + 1;
    f = strchr(f, ':'); /* skip the password */
    if (!f)
      return -EINVAL;
    *id = strtol(f + 1, &f, 10);
    if (gid && *f == ':')
      *gid = strtol(f + 1, NULL, 10);
    return 0;
  }
  return -ENOENT;
}

static bool all_digits(const char *s) {
  if (!*s)
    return false;
  for (; *s; s++)
    if (!isdigit((unsigned char)*s))
      return false;
  return true;
}

int engine_lookup_user(const char *user, const char *rootfs, long *uid_out,
                       long *gid_out, struct hull_error *e) {
  _cleanup_free_ char *u = strdup(user);
  if (!u)
    return hull_errno(e, ENOMEM, "user %s", user);
  char *g = strchr(u, ':');
  if (g)
    *g++ = '\0';
  _cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  long uid = 0, gid = -1, pgid = 0;
  if (all_digits(u)) {
    uid = strtol(u, NULL, 10);
  } else if (rootfd < 0 || lookup_id(rootfd, "/etc/passwd", u, &uid, &pgid) < 0) {
    return hull_err(e, ENOENT, "user \"%s\": not found in the image's /etc/passwd", u);
  } else {
    gid = pgid;
  }
  if (g) {
    if (all_digits(g))
      gid = strtol(g, NULL, 10);
    else if (rootfd < 0 || lookup_id(rootfd, "/etc/group", g, &gid, NULL) < 0)
      return hull_err(e, ENOENT, "group \"%s\": not found in the image's /etc/group", g);
  }
  if (gid < 0)
    gid = 0;
  if (uid < 0 || uid > 0xfffffffeL || gid > 0xfffffffeL)
    return hull_err(e, EINVAL, "user \"%s\": id out of range", user);
  *uid_out = uid;
  *gid_out = gid;
  return 0;
}

static int resolve_user(const char *user, const char *rootfs, json_t *proc,
                        struct hull_error *e) {
  if (!user || !*user)
    return 0;
  long uid, gid;
  int r = engine_lookup_user(user, rootfs, &uid, &gid, e);
  if (r < 0)
    return r;
  json_object_set_new(proc, "user", json_pack("{s:I, s:I}", "uid", (json_int_t)uid,
                                              "gid", (json_int_t)gid));
  return 0;
}

static json_t *mount_obj(const char *dest, const char *type, const char *src,
                         const char *opts) {
  json_t *o = json_pack("{s:s, s:s, s:s}", "destination", dest, "type", type, "source", src);
  json_t *a = json_array();
  _cleanup_free_ char *copy = strdup(opts ? opts : "");
  char *save = NULL;
  for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
    json_array_append_new(a, json_string(t));
  json_object_set_new(o, "options", a);
  return o;
}

/* Remove mounts at dest from the default set (a volume or tmpfs replaces
 * them). */
static void drop_mount(json_t *mounts, const char *dest) {
  for (size_t i = 0; i < json_array_size(mounts); i++) {
    const char *d = json_string_value(json_object_get(json_array_get(mounts, i), "destination"));
    if (d && !strcmp(d, dest))
      json_array_remove(mounts, i--);
  }
}

static int write_file_in(const char *cdir, const char *name, const char *text,
                         struct hull_error *e) {
  _cleanup_close_ int d = open(cdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (d < 0)
    return hull_errno(e, errno, "container directory %s", cdir);
  return fs_atomic_write(d, name, text, strlen(text), false, e);
}

static int security_opts(json_t *host, json_t *proc, json_t *linux_, json_t *caps,
                         struct hull_error *e) {
  json_t *opts = json_object_get(host, "SecurityOpt");
  bool seccomp_set = false;
  size_t i;
  json_t *v;
  json_array_foreach(opts, i, v) {
    const char *s = json_string_value(v);
    if (!strncmp(s, "seccomp=", 8) || !strncmp(s, "seccomp:", 8)) {
      seccomp_set = true;
      if (!strcmp(s + 8, "unconfined"))
        continue;
      _cleanup_free_ char *text = NULL;
      size_t len;
      int r = fs_read_file(s + 8, &text, &len, e);
      if (r < 0)
        return hull_err(e, -r, "--security-opt seccomp: %s: %s", s + 8, strerror(-r));
      json_error_t je;
      json_t *prof = hjson_loadb(text, len, 0, NULL, &je);
      if (!prof)
        return hull_err(e, EINVAL, "--security-opt seccomp: %s: line %d: %s", s + 8,
                        je.line, je.text);
      json_object_set_new(linux_, "seccomp", prof);
    } else if (!strcmp(s, "no-new-privileges") || !strcmp(s, "no-new-privileges=true") ||
               !strcmp(s, "no-new-privileges:true")) {
      json_object_set_new(proc, "noNewPrivileges", json_true());
    } else if (!strcmp(s, "no-new-privileges=false") ||
               !strcmp(s, "no-new-privileges:false")) {
      json_object_set_new(proc, "noNewPrivileges", json_false());
    } else if (!strcmp(s, "apparmor=unconfined") || !strcmp(s, "label=disable")) {
      continue;
    } else {
      return hull_err(e, EINVAL,
                      "--security-opt \"%s\": not supported (seccomp=FILE|unconfined, "
                      "no-new-privileges)",
                      s);
    }
  }
  if (!seccomp_set)
    json_object_set_new(linux_, "seccomp", seccomp_default_profile(caps));
  return 0;
}

int spec_generate(json_t *cfg, const char *id, const char *cdir, const char *rootfs,
                  const char *volumes_dir, json_t **out, struct hull_error *e) {
  _cleanup_free_ char *base = spec_default_json(false);
  json_error_t je;
  json_t *spec = base ? hjson_loadb(base, strlen(base), HJSON_WRAP_UINT64, NULL, &je) : NULL;
  if (!spec)
    return hull_err(e, ENOMEM, "container %.12s: default spec", id);
  json_t *conf = json_object_get(cfg, "Config"), *host = json_object_get(cfg, "HostConfig");
  json_t *proc = json_object_get(spec, "process");
  json_t *linux_ = json_object_get(spec, "linux");
  json_t *mounts = json_object_get(spec, "mounts");
  int r;

  /* process */
  json_t *args = json_array();
  json_array_extend(args, json_object_get(conf, "Entrypoint"));
  json_array_extend(args, json_object_get(conf, "Cmd"));
  if (!json_array_size(args)) {
    json_decref(args);
    json_decref(spec);
    return hull_err(e, EINVAL,
                    "container %.12s: no command: the image has no Cmd or Entrypoint "
                    "and none was given",
                    id);
  }
  json_object_set_new(proc, "args", args);
  bool tty = json_is_true(json_object_get(conf, "Tty"));
  json_object_set_new(proc, "terminal", json_boolean(tty));
  json_t *env = json_array();
  json_t *cenv = json_object_get(conf, "Env");
  bool has_path = false, has_term = false, has_host = false;
  size_t i;
  json_t *v;
  json_array_foreach(cenv, i, v) {
    const char *s = json_string_value(v);
    has_path |= !strncmp(s, "PATH=", 5);
    has_term |= !strncmp(s, "TERM=", 5);
    has_host |= !strncmp(s, "HOSTNAME=", 9);
  }
  if (!has_path)
    json_array_append_new(
        env, json_string("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
  const char *hostname = json_string_value(json_object_get(conf, "Hostname"));
  char shortid[ENGINE_SHORT_ID + 1];
  snprintf(shortid, sizeof shortid, "%s", id);
  if (!hostname || !*hostname)
    hostname = shortid;
  if (!has_host) {
    char hb[300];
    snprintf(hb, sizeof hb, "HOSTNAME=%s", hostname);
    json_array_append_new(env, json_string(hb));
  }
  if (tty && !has_term)
    json_array_append_new(env, json_string("TERM=xterm"));
  json_array_extend(env, cenv);
  json_object_set_new(proc, "env", env);
  const char *wd = json_string_value(json_object_get(conf, "WorkingDir"));
  json_object_set_new(proc, "cwd", json_string(wd && *wd ? wd : "/"));
  if ((r = resolve_user(json_string_value(json_object_get(conf, "User")), rootfs, proc, e)) < 0)
    goto fail;
  json_object_set_new(proc, "noNewPrivileges", json_false());
  /* open files: as many as hull may have (docker gives the daemon's
   * limit); raising the hard limit would need CAP_SYS_RESOURCE */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 1048576)
    rl.rlim_max = 1048576;
  json_object_set_new(proc, "rlimits",
                      json_pack("[{s:s, s:I, s:I}]", "type", "RLIMIT_NOFILE", "hard",
                                (json_int_t)rl.rlim_max, "soft", (json_int_t)rl.rlim_max));
  json_t *caps;
  if ((r = build_caps(host, &caps, e)) < 0)
    goto fail;
  json_object_set_new(proc, "capabilities",
                      json_pack("{s:O, s:O, s:O}", "bounding", caps, "effective", caps,
                                "permitted", caps));
  r = security_opts(host, proc, linux_, caps, e);
  json_decref(caps);
  if (r < 0)
    goto fail;

  /* root, hostname */
  json_object_set_new(spec, "root", json_pack("{s:s, s:b}", "path", rootfs, "readonly",
                                              json_is_true(json_object_get(host, "ReadonlyRootfs"))));
  json_object_set_new(spec, "hostname", json_string(hostname));

  /* network: none → a namespace of its own (loopback only); host → the
   * host's; a network → the namespace hull keeps for it (SandboxKey);
   * container:ID → that container's (its SandboxKey, its hosts and
   * resolv.conf) */
  const char *net = json_string_value(json_object_get(host, "NetworkMode"));
  bool host_net = net && !strcmp(net, "host");
  const char *nspath = json_string_value(
      json_object_get(json_object_get(cfg, "NetworkSettings"), "SandboxKey"));
  {
    json_t *ns = json_object_get(linux_, "namespaces");
    for (size_t j = 0; j < json_array_size(ns); j++) {
      json_t *n = json_array_get(ns, j);
      if (strcmp(json_string_value(json_object_get(n, "type")), "network"))
        continue;
      if (host_net)
        json_array_remove(ns, j--);
      else if (nspath && (engine_net_is_cni(net) || !strncmp(net, "container:", 10)))
        json_object_set_new(n, "path", json_string(nspath));
    }
  }
  json_array_append_new(json_object_get(linux_, "namespaces"), json_pack("{s:s}", "type", "cgroup"));

  /* the container's own /etc/hostname, /etc/hosts, /etc/resolv.conf
   * (hosts gets its address when its networks are up: engine_net_up) */
  {
    char text[600];
    snprintf(text, sizeof text, "%s\n", hostname);
    if ((r = write_file_in(cdir, "hostname", text, e)) < 0)
      goto fail;
    _cleanup_free_ char *hosts = NULL, *resolv = NULL, *host_resolv = NULL, *host_hosts = NULL;
    size_t len;
    struct hull_error ig;
    if (fs_read_file("/etc/resolv.conf", &host_resolv, &len, &ig) < 0)
      host_resolv = NULL;
    if (host_net && fs_read_file("/etc/hosts", &host_hosts, &len, &ig) == 0)
      hosts = strdup(host_hosts); /* docker: the host's own, as is */
    else
      hosts = engine_hosts_text(cfg, hostname, NULL);
    resolv = engine_resolv_text(cfg, host_resolv, host_net);
    if (!hosts || !resolv) {
      r = hull_err(e, ENOMEM, "hosts");
      goto fail;
    }
    if ((r = write_file_in(cdir, "hosts", hosts, e)) < 0 ||
        (r = write_file_in(cdir, "resolv.conf", resolv, e)) < 0)
      goto fail;
    static const char *const files[] = {"hostname", "hosts", "resolv.conf"};
    static const char *const shared[] = {NULL, "HostsPath", "ResolvConfPath"};
    for (int k = 0; k < 3; k++) {
      char src[4096], dst[64];
      const char *other = shared[k] ? json_string_value(json_object_get(cfg, shared[k])) : NULL;
      snprintf(src, sizeof src, "%s/%s", cdir, files[k]);
      if (other) /* container:ID shares that one's files */
        snprintf(src, sizeof src, "%s", other);
      snprintf(dst, sizeof dst, "/etc/%s", files[k]);
      json_array_append_new(mounts, mount_obj(dst, "bind", src, "rbind,rprivate"));
    }
  }

  /* volumes and binds */
  json_t *binds = json_object_get(host, "Binds");
  json_array_foreach(binds, i, v) {
    struct volume_spec vs;
    if ((r = parse_volume_spec(json_string_value(v), &vs, e)) < 0)
      goto fail;
    char *src = NULL;
    if (vs.is_bind) {
      src = strdup(vs.source);
      if (access(src, F_OK) < 0) {
        r = hull_errno(e, errno, "volume %s: host path %s", json_string_value(v), src);
        free(src);
        volume_spec_free(&vs);
        goto fail;
      }
    } else {
      r = volume_create(volumes_dir, vs.source, &src, e); /* existing is fine */
      if (r < 0) {
        volume_spec_free(&vs);
        goto fail;
      }
    }
    drop_mount(mounts, vs.target);
    json_array_append_new(mounts, mount_obj(vs.target, "bind", src,
                                            vs.readonly ? "rbind,ro" : "rbind"));
    free(src);
    volume_spec_free(&vs);
  }
  json_t *tmpfs = json_object_get(host, "Tmpfs");
  const char *dest;
  json_object_foreach(tmpfs, dest, v) {
    char opts[1024];
    const char *o = json_string_value(v);
    snprintf(opts, sizeof opts, "nosuid,nodev,noexec%s%s", o && *o ? "," : "", o ? o : "");
    drop_mount(mounts, dest);
    json_array_append_new(mounts, mount_obj(dest, "tmpfs", "tmpfs", opts));
  }

  /* resources */
  json_t *res = json_object_get(linux_, "resources");
  json_int_t mem = json_integer_value(json_object_get(host, "Memory"));
  if (mem > 0)
    json_object_set_new(res, "memory", json_pack("{s:I}", "limit", mem));
  json_int_t ncpu = json_integer_value(json_object_get(host, "NanoCpus"));
  if (ncpu > 0)
    json_object_set_new(res, "cpu", json_pack("{s:I, s:I}", "quota",
                                              (json_int_t)(ncpu / 10000), "period",
                                              (json_int_t)100000));
  json_int_t pids = json_integer_value(json_object_get(host, "PidsLimit"));
  if (pids > 0)
    json_object_set_new(res, "pids", json_pack("{s:I}", "limit", pids));
  /* docker's default devices: the runtime makes null, zero, full, random,
   * urandom, tty, ptmx; allow them (and pts) in the device cgroup */
  {
    json_t *dev = json_object_get(res, "devices");
    static const struct { const char *t; int maj, min; } allow[] = {
        {"c", 1, 3}, {"c", 1, 5}, {"c", 1, 7}, {"c", 1, 8}, {"c", 1, 9},
        {"c", 5, 0}, {"c", 5, 2}, {"c", 136, -1}, {"c", 10, 200}};
    for (size_t k = 0; k < sizeof allow / sizeof *allow; k++)
    {
      json_t *d = json_pack("{s:b, s:s, s:i, s:s}", "allow", 1, "type", allow[k].t,
                            "major", allow[k].maj, "access", "rwm");
      if (allow[k].min >= 0) /* no minor: all of them */
        json_object_set_new(d, "minor", json_integer(allow[k].min));
      json_array_append_new(dev, d);
    }
  }

  /* labels as annotations, and the isolation */
  json_t *ann = json_object();
  json_t *labels = json_object_get(conf, "Labels");
  const char *k;
  json_object_foreach(labels, k, v) if (json_is_string(v)) json_object_set(ann, k, v);
  const char *iso = json_string_value(json_object_get(cfg, "Isolation"));
  json_object_set_new(ann, "org.hull.isolation", json_string(iso ? iso : "process"));
  json_object_set_new(spec, "annotations", ann);
  *out = spec;
  return 0;
fail:
  json_decref(spec);
  return r;
}
