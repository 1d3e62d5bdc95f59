/* Running CNI plugins (see cni.h). */
#include "cni.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/ids.h"
#include "../common/fs.h"
#include "../common/json.h"

#define CNI_OUT_MAX (1u << 20)
#define CNI_ERR_MAX (64u << 10)
#define CNI_TIMEOUT_MS 120000

static bool plain_name(const char *s) {
  return s && *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

static int find_plugin(const char *paths, const char *type, char *out, size_t len,
                       struct hull_error *e) {
  if (!plain_name(type))
    return hull_err(e, EINVAL, "CNI plugin type \"%s\": not a plain name", type ? type : "");
  _cleanup_free_ char *copy = strdup(paths ? paths : "");
  if (!copy)
    return hull_err(e, ENOMEM, "CNI_PATH");
  char *save = NULL;
  for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
    snprintf(out, len, "%s/%s", d, type);
    if (access(out, X_OK) == 0)
      return 0;
  }
  return hull_err(e, ENOENT, "CNI plugin %s: not found in %s", type, paths ? paths : "(none)");
}

/* Feed in to fd 0, gather fds 1 and 2, within the deadline. Takes the
 * three descriptors (all closed on return); on an error the plugin is
 * killed, so the caller's waitpid cannot hang. A plugin that stops
 * reading its input is an EPIPE here, not a SIGPIPE for us. */
static int relay(pid_t pid, int in, const char *config, int out, int err,
                 char **obuf, size_t *olen, char **ebuf, size_t *elen) {
  size_t off = 0, clen = strlen(config);
  long long deadline = hull_now_ms() + CNI_TIMEOUT_MS;
  struct sigaction ign = {.sa_handler = SIG_IGN}, old;
  sigaction(SIGPIPE, &ign, &old);
  int rc = 0;
  *obuf = calloc(1, CNI_OUT_MAX + 1);
  *ebuf = calloc(1, CNI_ERR_MAX + 1);
  if (!*obuf || !*ebuf)
    rc = -ENOMEM;
  fcntl(in, F_SETFL, O_NONBLOCK);
  while (rc == 0 && (out >= 0 || err >= 0)) {
    struct pollfd p[3] = {{.fd = in, .events = POLLOUT},
                          {.fd = out, .events = POLLIN},
                          {.fd = err, .events = POLLIN}};
    long long left = deadline - hull_now_ms();
    if (left <= 0) {
      rc = -ETIMEDOUT;
      break;
    }
    if (poll(p, 3, (int)left) < 0 && errno != EINTR) {
      rc = -errno;
      break;
    }
    if (in >= 0 && (p[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = write(in, config + off, clen - off);
      if (n > 0)
        off += (size_t)n;
      if ((n < 0 && errno != EAGAIN) || off == clen) {
        close(in);
        in = -1;
      }
    }
    int *fds[2] = {&out, &err};
    char *bufs[2] = {*obuf, *ebuf};
    size_t *lens[2] = {olen, elen};
    size_t caps[2] = {CNI_OUT_MAX, CNI_ERR_MAX};
    for (int k = 0; k < 2; k++) {
      if (*fds[k] < 0 || !(p[k + 1].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      char tmp[4096];
      ssize_t n = read(*fds[k], tmp, sizeof tmp);
      if (n <= 0) {
        close(*fds[k]);
        *fds[k] = -1;
        continue;
      }
      size_t room = caps[k] - *lens[k];
      size_t take = (size_t)n < room ? (size_t)n : room;
      memcpy(bufs[k] + *lens[k], tmp, take);
      *lens[k] += take;
    }
  }
  if (rc < 0)
    kill(pid, SIGKILL);
  int fds[3] = {in, out, err};
  for (int k = 0; k < 3; k++)
    if (fds[k] >= 0)
      close(fds[k]);
  sigaction(SIGPIPE, &old, NULL);
  return rc;
}

/* The last line of a plugin's stderr, one printable line. */
static void last_line(const char *buf, size_t len, char *out, size_t cap) {
  while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
    len--;
  size_t start = len;
  while (start && buf[start - 1] != '\n')
    start--;
  size_t n = 0;
  for (size_t i = start; i < len && n + 1 < cap; i++)
    out[n++] = (unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f ? buf[i] : '?';
  out[n] = 0;
}

int cni_exec(const struct cni_env *env, const char *type, const char *command,
             const struct cni_args *a, const char *config, json_t **out,
             struct hull_error *e) {
  char path[PATH_MAX];
  int r = find_plugin(env->plugin_path, type, path, sizeof path, e);
  if (r < 0)
    return r;
  int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
  if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0) {
    int err = errno;
    for (int k = 0; k < 2; k++) {
      if (pin[k] >= 0) close(pin[k]);
      if (pout[k] >= 0) close(pout[k]);
    }
    return hull_errno(e, err, "CNI plugin %s: pipes", type);
  }
  char *envp[8];
  size_t n = 0;
  char buf[6][PATH_MAX + 32];
  snprintf(buf[0], sizeof buf[0], "CNI_COMMAND=%s", command);
  snprintf(buf[1], sizeof buf[1], "CNI_CONTAINERID=%s", a->container_id);
  snprintf(buf[2], sizeof buf[2], "CNI_NETNS=%s", a->netns ? a->netns : "");
  snprintf(buf[3], sizeof buf[3], "CNI_IFNAME=%s", a->ifname);
  snprintf(buf[4], sizeof buf[4], "CNI_PATH=%s", env->plugin_path ? env->plugin_path : "");
  snprintf(buf[5], sizeof buf[5], "CNI_ARGS=%s", a->cni_args ? a->cni_args : "");
  for (int k = 0; k < 6; k++)
    envp[n++] = buf[k];
  envp[n++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  envp[n] = NULL;
  pid_t pid = fork();
  if (pid == 0) {
    if (dup2(pin[0], 0) < 0 || dup2(pout[1], 1) < 0 || dup2(perr[1], 2) < 0)
      _exit(127);
    char *argv[] = {(char *)type, NULL};
    execve(path, argv, envp);
    _exit(127);
  }
  int err = errno;
  close(pin[0]);
  close(pout[1]);
  close(perr[1]);
  if (pid < 0) {
    close(pin[1]);
    close(pout[0]);
    close(perr[0]);
    return hull_errno(e, err, "CNI plugin %s: fork", type);
  }
  _cleanup_free_ char *obuf = NULL, *ebuf = NULL;
  size_t olen = 0, elen = 0;
  int rr = relay(pid, pin[1], config, pout[0], perr[0], &obuf, &olen, &ebuf, &elen);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (rr == -ETIMEDOUT)
    return hull_err(e, ETIMEDOUT, "CNI plugin %s %s: no answer within %d s", type, command,
                    CNI_TIMEOUT_MS / 1000);
  if (rr < 0)
    return hull_errno(e, -rr, "CNI plugin %s %s", type, command);
  json_error_t je;
  json_t *res = olen ? hjson_loadb(obuf, olen, 0, NULL, &je) : NULL;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    /* the plugin's own words: {"code", "msg", "details"} */
    const char *msg = json_string_value(json_object_get(res, "msg"));
    const char *det = json_string_value(json_object_get(res, "details"));
    json_int_t code = json_integer_value(json_object_get(res, "code"));
    char line[512];
    last_line(ebuf, elen, line, sizeof line);
    if (msg)
      r = hull_err(e, EIO, "CNI plugin %s %s: %s%s%s (code %lld)", type, command, msg,
                   det && *det ? ": " : "", det ? det : "", (long long)code);
    else
      r = hull_err(e, EIO, "CNI plugin %s %s: exit status %d%s%s", type, command,
                   WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                   *line ? ": " : "", line);
    json_decref(res);
    return r;
  }
  if (out) {
    if (olen && !res)
      return hull_err(e, EPROTO, "CNI plugin %s %s: its result is not JSON", type, command);
    *out = res;
  } else {
    json_decref(res);
  }
  return 0;
}

/* ---- the list */

/* The config a plugin gets: its own object, with the list's name and
 * version, the previous result, and the runtime config it asks for. */
static char *plugin_config(json_t *conflist, json_t *plugin, json_t *prev,
                           const struct cni_args *a) {
  json_t *c = json_deep_copy(plugin);
  json_object_set(c, "name", json_object_get(conflist, "name"));
  json_object_set(c, "cniVersion", json_object_get(conflist, "cniVersion"));
  if (prev)
    json_object_set(c, "prevResult", prev);
  json_t *caps = json_object_get(plugin, "capabilities");
  if (a->runtime_config && json_is_object(caps)) {
    json_t *rc = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(caps, k, v) {
      json_t *val = json_object_get(a->runtime_config, k);
      if (json_is_true(v) && val)
        json_object_set(rc, k, val);
    }
    if (json_object_size(rc))
      json_object_set_new(c, "runtimeConfig", rc);
    else
      json_decref(rc);
  }
  char *text = hjson_dumps(c);
  json_decref(c);
  return text;
}

static int check_list(json_t *conflist, struct hull_error *e) {
  const char *name = json_string_value(json_object_get(conflist, "name"));
  json_t *plugins = json_object_get(conflist, "plugins");
  if (!name || !plain_name(name))
    return hull_err(e, EINVAL, "CNI network list: \"name\" must be a plain name");
  if (!json_is_string(json_object_get(conflist, "cniVersion")))
    return hull_err(e, EINVAL, "CNI network %s: \"cniVersion\" missing", name);
  if (!json_is_array(plugins) || !json_array_size(plugins))
    return hull_err(e, EINVAL, "CNI network %s: \"plugins\" must list at least one plugin", name);
  size_t i;
  json_t *p;
  json_array_foreach(plugins, i, p) if (!plain_name(json_string_value(json_object_get(p, "type"))))
      return hull_err(e, EINVAL, "CNI network %s: plugins[%zu].type must be a plain name",
                      name, i);
  return 0;
}

static void cache_name(json_t *conflist, const struct cni_args *a, char *out, size_t len) {
  snprintf(out, len, "%s-%s-%s", json_string_value(json_object_get(conflist, "name")),
           a->container_id, a->ifname);
}

static int cache_dir_open(const struct cni_env *env, struct hull_error *e) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s/results", env->cache_dir);
  if (mkdir(env->cache_dir, 0700) < 0 && errno != EEXIST)
    return hull_errno(e, errno, "CNI cache %s", env->cache_dir);
  if (mkdir(dir, 0700) < 0 && errno != EEXIST)
    return hull_errno(e, errno, "CNI cache %s", dir);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return fd < 0 ? hull_errno(e, errno, "CNI cache %s", dir) : fd;
}

/* The cache entry of an ADD: {"kind","containerId","ifName","config" (the
 * list ADD ran), "runtimeConfig" (what it was given), "result"}. */
static json_t *cache_load(const struct cni_env *env, json_t *conflist,
                          const struct cni_args *a) {
  struct hull_error ignored;
  _cleanup_close_ int dfd = cache_dir_open(env, &ignored);
  if (dfd < 0)
    return NULL;
  char name[512];
  cache_name(conflist, a, name, sizeof name);
  _cleanup_free_ char *text = NULL;
  size_t len;
  if (fs_read_file_at(dfd, name, &text, &len, &ignored) < 0)
    return NULL;
  json_error_t je;
  json_t *j = hjson_loadb(text, len, 0, NULL, &je);
  if (!json_is_object(j)) {
    json_decref(j);
    return NULL;
  }
  return j;
}

int cni_cache_walk(const struct cni_env *env, cni_cache_fn *fn, void *arg) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s/results", env->cache_dir);
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  struct dirent *de;
  int r = 0;
  while (!r && (de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    _cleanup_free_ char *text = NULL;
    size_t len;
    struct hull_error ignored;
    if (fs_read_file_at(dirfd(d), de->d_name, &text, &len, &ignored) < 0)
      continue;
    json_error_t je;
    json_t *j = hjson_loadb(text, len, 0, NULL, &je);
    json_t *list = json_object_get(j, "config");
    const char *id = json_string_value(json_object_get(j, "containerId"));
    const char *ifn = json_string_value(json_object_get(j, "ifName"));
    const char *net = json_string_value(json_object_get(list, "name"));
    if (id && ifn && net && json_is_array(json_object_get(list, "plugins")))
      r = fn(net, id, ifn, list, arg);
    json_decref(j);
  }
  closedir(d);
  return r;
}

/* What ADD ran, as its cache entry recorded it: the list (*list; the
 * caller's when there is no entry) and the runtimeConfig (in *da, the
 * caller's when given). DEL and CHECK run exactly that: portmap finds
 * its rules by the mappings. Returns the entry (NULL: none). */
static json_t *as_added(const struct cni_env *env, json_t *conflist, const struct cni_args *a,
                        json_t **list, struct cni_args *da) {
  json_t *entry = cache_load(env, conflist, a);
  json_t *cached_list = json_object_get(entry, "config");
  *da = *a;
  if (!da->runtime_config && json_is_object(json_object_get(entry, "runtimeConfig")))
    da->runtime_config = json_object_get(entry, "runtimeConfig");
  *list = conflist;
  if (cached_list && json_is_array(json_object_get(cached_list, "plugins")) &&
      !strcmp(json_string_value(json_object_get(cached_list, "name")) ?: "",
              json_string_value(json_object_get(conflist, "name")) ?: "") &&
      check_list(cached_list, &(struct hull_error){0}) == 0)
    *list = cached_list;
  return entry;
}

int cni_del(const struct cni_env *env, json_t *conflist, const struct cni_args *a,
            struct hull_error *e) {
  int r = check_list(conflist, e);
  if (r < 0)
    return r;
  struct cni_args da;
  json_t *entry = as_added(env, conflist, a, &conflist, &da);
  json_t *prev = json_object_get(entry, "result");
  json_t *plugins = json_object_get(conflist, "plugins");
  int first = 0;
  struct hull_error one;
  /* every plugin gets its DEL, in reverse: one failing must not leave the
   * others' resources behind */
  for (size_t i = json_array_size(plugins); i-- > 0;) {
    json_t *p = json_array_get(plugins, i);
    _cleanup_free_ char *cfg = plugin_config(conflist, p, prev, &da);
    if (!cfg) {
      json_decref(entry);
      return hull_err(e, ENOMEM, "CNI DEL");
    }
    r = cni_exec(env, json_string_value(json_object_get(p, "type")), "DEL", &da, cfg, NULL, &one);
    if (r < 0 && !first) {
      first = r;
      *e = one;
    }
  }
  if (first) {
    json_decref(entry);
    return first;
  }
  _cleanup_close_ int dfd = cache_dir_open(env, e);
  if (dfd >= 0) {
    char name[512];
    cache_name(conflist, a, name, sizeof name);
    unlinkat(dfd, name, 0);
  }
  json_decref(entry);
  return 0;
}

int cni_add(const struct cni_env *env, json_t *conflist, const struct cni_args *a,
            json_t **result, struct hull_error *e) {
  int r = check_list(conflist, e);
  if (r < 0)
    return r;
  json_t *plugins = json_object_get(conflist, "plugins");
  json_t *prev = NULL;
  size_t i;
  json_t *p;
  json_array_foreach(plugins, i, p) {
    _cleanup_free_ char *cfg = plugin_config(conflist, p, prev, a);
    json_t *res = NULL;
    r = cfg ? cni_exec(env, json_string_value(json_object_get(p, "type")), "ADD", a, cfg,
                       &res, e)
            : hull_err(e, ENOMEM, "CNI ADD");
    if (r == 0 && !res)
      r = hull_err(e, EPROTO, "CNI plugin %s ADD: no result",
                   json_string_value(json_object_get(p, "type")));
    if (r < 0) {
      /* roll back what the earlier plugins made */
      struct hull_error ignored;
      json_decref(res);
      json_decref(prev);
      cni_del(env, conflist, a, &ignored);
      return hull_err_prefix(e, "network %s",
                             json_string_value(json_object_get(conflist, "name")));
    }
    json_decref(prev);
    prev = res;
  }
  /* kept for DEL after a crash or a reboot */
  _cleanup_close_ int dfd = cache_dir_open(env, e);
  if (dfd < 0) {
    json_decref(prev);
    return dfd;
  }
  json_t *entry = json_pack("{s:s,s:s,s:s,s:O,s:O}", "kind", "cniCacheV1", "containerId",
                            a->container_id, "ifName", a->ifname, "config", conflist,
                            "result", prev);
  if (a->runtime_config)
    json_object_set(entry, "runtimeConfig", a->runtime_config);
  _cleanup_free_ char *text = hjson_dumps(entry);
  json_decref(entry);
  char name[512];
  cache_name(conflist, a, name, sizeof name);
  if (!text || (r = fs_atomic_write(dfd, name, text, strlen(text), true, e)) < 0) {
    struct hull_error ignored;
    cni_del(env, conflist, a, &ignored);
    json_decref(prev);
    return text ? r : hull_err(e, ENOMEM, "CNI cache");
  }
  *result = prev;
  return 0;
}

int cni_check(const struct cni_env *env, json_t *conflist, const struct cni_args *a,
              struct hull_error *e) {
  int r = check_list(conflist, e);
  if (r < 0)
    return r;
  struct cni_args da;
  json_t *entry = as_added(env, conflist, a, &conflist, &da);
  json_t *prev = json_object_get(entry, "result");
  if (!prev) {
    json_decref(entry);
    return hull_err(e, ENOENT, "network %s: no cached result for container %s",
                    json_string_value(json_object_get(conflist, "name")), a->container_id);
  }
  json_t *plugins = json_object_get(conflist, "plugins");
  size_t i;
  json_t *p;
  json_array_foreach(plugins, i, p) {
    _cleanup_free_ char *cfg = plugin_config(conflist, p, prev, &da);
    r = cfg ? cni_exec(env, json_string_value(json_object_get(p, "type")), "CHECK", &da, cfg,
                       NULL, e)
            : hull_err(e, ENOMEM, "CNI CHECK");
    if (r < 0)
      break;
  }
  json_decref(entry);
  return r;
}

/* ---- results */

int cni_result_parse(json_t *result, struct cni_result *out, struct hull_error *e) {
  memset(out, 0, sizeof *out);
  if (!json_is_object(result))
    return hull_err(e, EPROTO, "CNI result: not an object");
  json_t *ips = json_object_get(result, "ips");
  json_t *ifs = json_object_get(result, "interfaces");
  if (ips && !json_is_array(ips))
    return hull_err(e, EPROTO, "CNI result: \"ips\" is not an array");
  size_t n = json_array_size(ips);
  out->ips = calloc(n ? n : 1, sizeof *out->ips);
  if (!out->ips)
    return hull_err(e, ENOMEM, "CNI result");
  size_t i;
  json_t *ip;
  json_array_foreach(ips, i, ip) {
    const char *addr = json_string_value(json_object_get(ip, "address"));
    const char *gw = json_string_value(json_object_get(ip, "gateway"));
    json_t *iface = json_object_get(ip, "interface");
    if (!addr || !strchr(addr, '/') || strlen(addr) >= sizeof out->ips[i].address) {
      cni_result_free(out);
      return hull_err(e, EPROTO, "CNI result: ips[%zu].address must be an address/prefix", i);
    }
    if (gw && strlen(gw) >= sizeof out->ips[i].gateway) {
      cni_result_free(out);
      return hull_err(e, EPROTO, "CNI result: ips[%zu].gateway too long", i);
    }
    json_int_t k = json_is_integer(iface) ? json_integer_value(iface) : -1;
    if (k >= (json_int_t)json_array_size(ifs) || k < -1) {
      cni_result_free(out);
      return hull_err(e, EPROTO, "CNI result: ips[%zu].interface %lld: no such interface", i,
                      (long long)k);
    }
    snprintf(out->ips[i].address, sizeof out->ips[i].address, "%s", addr);
    snprintf(out->ips[i].gateway, sizeof out->ips[i].gateway, "%s", gw ? gw : "");
    out->ips[i].interface = (int)k;
    out->n_ips++;
  }
  out->routes = json_object_get(result, "routes");
  out->dns = json_object_get(result, "dns");
  return 0;
}

void cni_result_free(struct cni_result *r) {
  free(r->ips);
  memset(r, 0, sizeof *r);
}
