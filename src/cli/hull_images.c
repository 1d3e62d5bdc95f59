/* The image commands of `hull`: images, image (ls, inspect, rm, tag, load,
 * save, import, prune), load, save, import, tag, rmi. Argument parsing and
 * output only; the work is in src/image/. */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fs.h"
#include "../common/json.h"
#include "../engine/engine.h"
#include "../image/image.h"
#include "hull_cmds.h"

static int fail(struct hull_error *e) {
  fprintf(stderr, "hull: %s\n", e->msg);
  return HULL_EXIT_ERROR;
}

static int usage_err(const char *cmd, const char *msg) {
  fprintf(stderr, "hull %s: %s (hull %s --help)\n", cmd, msg, cmd);
  return HULL_EXIT_ERROR;
}

static struct store *open_store(struct hull_ctx *ctx) {
  struct store *s = NULL;
  struct hull_error e = {0};
  if (store_open(ctx->root, &s, &e) < 0) {
    fail(&e);
    return NULL;
  }
  return s;
}

static const char *short_id(const char *id) {
  static char buf[16];
  snprintf(buf, sizeof buf, "%.12s", strncmp(id, "sha256:", 7) ? id : id + 7);
  return buf;
}

static void human_size(uint64_t n, char *out, size_t len) {
  /* docker's units: decimal */
  const char *u[] = {"B", "kB", "MB", "GB", "TB"};
  double v = (double)n;
  int i = 0;
  while (v >= 1000 && i < 4) {
    v /= 1000;
    i++;
  }
  if (i == 0)
    snprintf(out, len, "%lluB", (unsigned long long)n);
  else
    snprintf(out, len, "%.3g%s", v, u[i]);
}

static void human_ago(long long t, char *out, size_t len) {
  if (t <= 0) {
    snprintf(out, len, "N/A");
    return;
  }
  long long d = (long long)time(NULL) - t;
  if (d < 1)
    snprintf(out, len, "Less than a second ago");
  else if (d < 60)
    snprintf(out, len, "%lld seconds ago", d);
  else if (d < 3600)
    snprintf(out, len, "%lld minute%s ago", d / 60, d / 60 == 1 ? "" : "s");
  else if (d < 86400 * 2)
    snprintf(out, len, "%lld hour%s ago", d / 3600, d / 3600 == 1 ? "" : "s");
  else if (d < 86400 * 14)
    snprintf(out, len, "%lld days ago", d / 86400);
  else if (d < 86400 * 60)
    snprintf(out, len, "%lld weeks ago", d / (86400 * 7));
  else if (d < 86400 * 365 * 2)
    snprintf(out, len, "%lld months ago", d / (86400 * 30));
  else
    snprintf(out, len, "%lld years ago", d / (86400 * 365));
}

/* "repo:tag" -> repo, tag (the tag follows the last ':' after the last '/') */
static void split_name(const char *name, char *repo, size_t rl, char *tag, size_t tl) {
  const char *slash = strrchr(name, '/');
  const char *colon = strrchr(slash ? slash : name, ':');
  const char *at = strchr(name, '@');
  if (at) {
    snprintf(repo, rl, "%.*s", (int)(at - name), name);
    snprintf(tag, tl, "<none>");
  } else if (colon) {
    snprintf(repo, rl, "%.*s", (int)(colon - name), name);
    snprintf(tag, tl, "%s", colon + 1);
  } else {
    snprintf(repo, rl, "%s", name);
    snprintf(tag, tl, "latest");
  }
}

static void rfc3339(long long t, char *out, size_t len) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- images ---- */

static int images_main(struct hull_ctx *ctx, int argc, char **argv, const char *cmd) {
  static const struct option opts[] = {
      {"quiet", no_argument, NULL, 'q'},   {"all", no_argument, NULL, 'a'},
      {"format", required_argument, NULL, 'f'}, {"no-trunc", no_argument, NULL, 'T'},
      {"help", no_argument, NULL, 'h'},   {NULL, 0, NULL, 0}};
  bool quiet = false, json = false, notrunc = false;
  int c;
  while ((c = getopt_long(argc, argv, "+qah", opts, NULL)) != -1) {
    switch (c) {
    case 'q': quiet = true; break;
    case 'a': break; /* no intermediate images in hull's store */
    case 'T': notrunc = true; break;
    case 'f':
      if (!strcmp(optarg, "json"))
        json = true;
      else if (strcmp(optarg, "table"))
        return usage_err(cmd, "--format: json or table");
      break;
    case 'h':
      printf("usage: hull %s [-q] [-a] [--no-trunc] [--format json|table] [REPOSITORY[:TAG]]\n", cmd);
      return 0;
    default: return HULL_EXIT_ERROR;
    }
  }
  const char *filter = optind < argc ? argv[optind] : NULL;
  struct store *s = open_store(ctx);
  if (!s)
    return HULL_EXIT_ERROR;
  struct hull_error e = {0};
  struct image **v;
  size_t n;
  if (image_list(s, &v, &n, &e) < 0) {
    store_close(s);
    return fail(&e);
  }
  json_t *arr = json_array();
  if (!quiet && !json)
    printf("%-40s %-12s %-14s %-16s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
  for (size_t i = 0; i < n; i++) {
    struct image *img = v[i];
    if (filter) {
      bool m = false;
      for (size_t k = 0; k < img->n_names; k++) {
        char repo[512], tag[256];
        split_name(img->names[k], repo, sizeof repo, tag, sizeof tag);
        if (!strcmp(filter, repo) || !strcmp(filter, img->names[k]))
          m = true;
      }
      if (!m)
        continue;
    }
    const char *id = notrunc ? img->id : short_id(img->id);
    if (quiet) {
      printf("%s\n", id);
      continue;
    }
    if (json) {
      json_t *names = json_array();
      for (size_t k = 0; k < img->n_names; k++)
        json_array_append_new(names, json_string(img->names[k]));
      char created[64];
      rfc3339(img->created, created, sizeof created);
      json_array_append_new(arr, json_pack("{s:s,s:o,s:s,s:I,s:s,s:I}", "Id", img->id + 7,
                                           "RepoTags", names, "Digest", img->manifest,
                                           "Created", (json_int_t)img->created,
                                           "CreatedAt", created, "Size",
                                           (json_int_t)img->size));
      continue;
    }
    char ago[64], size[32];
    human_ago(img->created, ago, sizeof ago);
    human_size(img->size, size, sizeof size);
    if (img->n_names == 0)
      printf("%-40s %-12s %-14s %-16s %s\n", "<none>", "<none>", id, ago, size);
    for (size_t k = 0; k < img->n_names; k++) {
      char repo[512], tag[256];
      split_name(img->names[k], repo, sizeof repo, tag, sizeof tag);
      printf("%-40s %-12s %-14s %-16s %s\n", repo, tag, id, ago, size);
    }
  }
  if (json) {
    char *text = json_dumps(arr, JSON_INDENT(4));
    printf("%s\n", text ? text : "[]");
    free(text);
  }
  json_decref(arr);
  image_list_free(v, n);
  store_close(s);
  return 0;
}

int hull_cmd_images(struct hull_ctx *ctx, int argc, char **argv) {
  return images_main(ctx, argc, argv, "images");
}

/* ---- inspect ---- */

static json_t *inspect_json(struct image *img) {
  json_t *tags = json_array(), *digests = json_array();
  for (size_t k = 0; k < img->n_names; k++) {
    json_array_append_new(tags, json_string(img->names[k]));
    char repo[512], tag[256], rd[600];
    split_name(img->names[k], repo, sizeof repo, tag, sizeof tag);
    snprintf(rd, sizeof rd, "%s@%s", repo, img->manifest);
    json_array_append_new(digests, json_string(rd));
  }
  json_t *cfg = img->config;
  json_t *rootfs = json_object_get(cfg, "rootfs");
  json_t *layers = json_object_get(rootfs, "diff_ids");
  json_t *created = json_object_get(cfg, "created");
  json_t *c = json_object_get(cfg, "config");
  return json_pack("{s:s,s:o,s:o,s:O,s:s,s:s,s:O,s:{s:s,s:O},s:I,s:s}", "Id", img->id,
                   "RepoTags", tags, "RepoDigests", digests, "Created",
                   created ? created : json_null(), "Architecture",
                   json_string_value(json_object_get(cfg, "architecture"))
                       ? json_string_value(json_object_get(cfg, "architecture"))
                       : "",
                   "Os",
                   json_string_value(json_object_get(cfg, "os"))
                       ? json_string_value(json_object_get(cfg, "os"))
                       : "",
                   "Config", c ? c : json_null(), "RootFS", "Type", "layers", "Layers",
                   layers ? layers : json_null(), "Size", (json_int_t)img->size,
                   "Digest", img->manifest);
}

static int inspect_main(struct hull_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
    switch (c) {
    case 'f':
      if (strcmp(optarg, "json"))
        return usage_err("image inspect", "--format: only json");
      break;
    case 'h': printf("usage: hull image inspect IMAGE...\n"); return 0;
    default: return HULL_EXIT_ERROR;
    }
  }
  if (optind >= argc)
    return usage_err("image inspect", "requires at least one image");
  struct store *s = open_store(ctx);
  if (!s)
    return HULL_EXIT_ERROR;
  json_t *arr = json_array();
  int rc = 0;
  for (int i = optind; i < argc; i++) {
    struct image *img;
    struct hull_error e = {0};
    if (image_resolve(s, argv[i], &img, &e) < 0) {
      rc = fail(&e);
      continue;
    }
    json_array_append_new(arr, inspect_json(img));
    image_free(img);
  }
  char *text = json_dumps(arr, JSON_INDENT(4));
  printf("%s\n", text ? text : "[]");
  free(text);
  json_decref(arr);
  store_close(s);
  return rc;
}

/* ---- load ---- */

int hull_cmd_load(struct hull_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"input", required_argument, NULL, 'i'},
                                       {"quiet", no_argument, NULL, 'q'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *input = NULL;
  bool quiet = false;
  int c;
  while ((c = getopt_long(argc, argv, "+i:qh", opts, NULL)) != -1) {
    switch (c) {
    case 'i': input = optarg; break;
    case 'q': quiet = true; break;
    case 'h': printf("usage: hull load [-i FILE] [-q]\n"); return 0;
    default: return HULL_EXIT_ERROR;
    }
  }
  if (optind < argc)
    return usage_err("load", "takes no arguments (the archive comes with -i or on stdin)");
  _cleanup_close_ int fd = -1;
  if (input && strcmp(input, "-")) {
    fd = open(input, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      fprintf(stderr, "hull: load %s: %s\n", input, strerror(errno));
      return HULL_EXIT_ERROR;
    }
  } else if (isatty(0)) {
    fprintf(stderr, "hull: load: stdin is a terminal: give an archive with -i FILE or < FILE\n");
    return HULL_EXIT_ERROR;
  }
  struct store *s = open_store(ctx);
  if (!s)
    return HULL_EXIT_ERROR;
  struct progress *p = progress_new(1, quiet || !isatty(1));
  char **loaded = NULL;
  struct hull_error e = {0};
  int r = image_load(s, fd >= 0 ? fd : 0, p, &loaded, &e);
  progress_free(p);
  store_close(s);
  if (r < 0) {
    if (input)
      hull_err_prefix(&e, "load %s", input);
    return fail(&e);
  }
  for (char **l = loaded; l && *l; l++)
    printf("Loaded image%s: %s\n", strncmp(*l, "sha256:", 7) ? "" : " ID", *l);
  free(loaded);
  return 0;
}

/* ---- save ---- */

int hull_cmd_save(struct hull_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                       {"format", required_argument, NULL, 'f'},
                                       {"quiet", no_argument, NULL, 'q'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *output = NULL;
  enum image_format fmt = IMAGE_DOCKER_ARCHIVE;
  int c;
  while ((c = getopt_long(argc, argv, "+o:qh", opts, NULL)) != -1) {
    switch (c) {
    case 'o': output = optarg; break;
    case 'q': break;
    case 'f':
      if (!strcmp(optarg, "docker-archive"))
        fmt = IMAGE_DOCKER_ARCHIVE;
      else if (!strcmp(optarg, "oci-archive"))
        fmt = IMAGE_OCI_ARCHIVE;
      else
        return usage_err("save", "--format: docker-archive or oci-archive");
      break;
    case 'h':
      printf("usage: hull save [-o FILE] [--format docker-archive|oci-archive] IMAGE...\n");
      return 0;
    default: return HULL_EXIT_ERROR;
    }
  }
  if (optind >= argc)
    return usage_err("save", "requires at least one image");
  if (!output && isatty(1)) {
    fprintf(stderr, "hull: save: refusing to write an archive to a terminal: use -o FILE or a redirect\n");
    return HULL_EXIT_ERROR;
  }
  struct store *s = open_store(ctx);
  if (!s)
    return HULL_EXIT_ERROR;
  struct hull_error e = {0};
  int fd = 1;
  char tmp[4096] = "";
  if (output) {
    /* a failed save leaves no half archive under the name asked for */
    snprintf(tmp, sizeof tmp, "%s.hull-tmp", output);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      fprintf(stderr, "hull: save %s: %s\n", output, strerror(errno));
      store_close(s);
      return HULL_EXIT_ERROR;
    }
  }
  int r = image_save(s, argv + optind, (size_t)(argc - optind), fmt, fd, &e);
  store_close(s);
  if (output) {
    if (r == 0 && (fsync(fd) < 0 || rename(tmp, output) < 0))
      r = hull_errno(&e, errno, "save %s", output);
    close(fd);
    if (r < 0)
      unlink(tmp);
  }
  return r < 0 ? fail(&e) : 0;
}

/* ---- import ---- */

/* A Dockerfile instruction of --change: CMD, ENTRYPOINT (JSON or shell
 * form), ENV, LABEL, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL. */
static int apply_change(json_t *cfg, const char *change, struct hull_error *e) {
  while (*change == ' ')
    change++;
  size_t kl = strcspn(change, " \t=");
  char key[32];
  if (kl == 0 || kl >= sizeof key)
    return hull_err(e, EINVAL, "--change \"%s\": no instruction", change);
  for (size_t i = 0; i < kl; i++)
    key[i] = (char)(change[i] >= 'a' && change[i] <= 'z' ? change[i] - 32 : change[i]);
  key[kl] = 0;
  const char *val = change + kl;
  while (*val == ' ' || *val == '\t' || *val == '=')
    val++;
  if (!strcmp(key, "CMD") || !strcmp(key, "ENTRYPOINT")) {
    json_t *v;
    if (*val == '[') {
      json_error_t je;
      v = json_loads(val, 0, &je);
      size_t i;
      json_t *s;
      if (!json_is_array(v))
        goto bad;
      json_array_foreach(v, i, s) if (!json_is_string(s)) {
        json_decref(v);
        goto bad;
      }
    } else {
      v = json_pack("[s,s,s]", "/bin/sh", "-c", val);
    }
    json_object_set_new(cfg, !strcmp(key, "CMD") ? "Cmd" : "Entrypoint", v);
    return 0;
  }
  if (!strcmp(key, "ENV") || !strcmp(key, "LABEL")) {
    const char *eq = strchr(val, '=');
    const char *sp = strchr(val, ' ');
    char k[256];
    const char *vv;
    if (eq && (!sp || eq < sp)) {
      snprintf(k, sizeof k, "%.*s", (int)(eq - val), val);
      vv = eq + 1;
    } else if (sp) {
      snprintf(k, sizeof k, "%.*s", (int)(sp - val), val);
      vv = sp + 1;
    } else
      goto bad;
    if (!strcmp(key, "ENV")) {
      json_t *env = json_object_get(cfg, "Env");
      if (!env)
        json_object_set_new(cfg, "Env", env = json_array());
      char buf[4096];
      snprintf(buf, sizeof buf, "%s=%s", k, vv);
      json_array_append_new(env, json_string(buf));
    } else {
      json_t *l = json_object_get(cfg, "Labels");
      if (!l)
        json_object_set_new(cfg, "Labels", l = json_object());
      json_object_set_new(l, k, json_string(vv));
    }
    return 0;
  }
  if (!strcmp(key, "WORKDIR") || !strcmp(key, "USER") || !strcmp(key, "STOPSIGNAL")) {
    const char *f = !strcmp(key, "WORKDIR") ? "WorkingDir" : !strcmp(key, "USER") ? "User" : "StopSignal";
    json_object_set_new(cfg, f, json_string(val));
    return 0;
  }
  if (!strcmp(key, "EXPOSE") || !strcmp(key, "VOLUME")) {
    const char *f = !strcmp(key, "EXPOSE") ? "ExposedPorts" : "Volumes";
    json_t *o = json_object_get(cfg, f);
    if (!o)
      json_object_set_new(cfg, f, o = json_object());
    char k[256];
    snprintf(k, sizeof k, "%s%s", val,
             !strcmp(key, "EXPOSE") && !strchr(val, '/') ? "/tcp" : "");
    json_object_set_new(o, k, json_object());
    return 0;
  }
  return hull_err(e, EINVAL, "--change \"%s\": unsupported instruction %s", change, key);
bad:
  return hull_err(e, EINVAL, "--change \"%s\": bad value", change);
}

int hull_cmd_import(struct hull_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"change", required_argument, NULL, 'c'},
                                       {"message", required_argument, NULL, 'm'},
                                       {"quiet", no_argument, NULL, 'q'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  json_t *changes = json_object();
  struct hull_error e = {0};
  int c;
  while ((c = getopt_long(argc, argv, "+c:m:qh", opts, NULL)) != -1) {
    switch (c) {
    case 'c':
      if (apply_change(changes, optarg, &e) < 0) {
        json_decref(changes);
        return fail(&e);
      }
      break;
    case 'm':
    case 'q': break;
    case 'h': printf("usage: hull import [-c 'CMD [\"sh\"]']... FILE|- [REPOSITORY[:TAG]]\n"); return 0;
    default: json_decref(changes); return HULL_EXIT_ERROR;
    }
  }
  if (optind >= argc || argc - optind > 2) {
    json_decref(changes);
    return usage_err("import", "requires FILE (or -) and an optional name");
  }
  const char *file = argv[optind], *ref = argc - optind > 1 ? argv[optind + 1] : NULL;
  _cleanup_close_ int fd = -1;
  if (strcmp(file, "-")) {
    fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      json_decref(changes);
      fprintf(stderr, "hull: import %s: %s\n", file, strerror(errno));
      return HULL_EXIT_ERROR;
    }
  }
  struct store *s = open_store(ctx);
  if (!s) {
    json_decref(changes);
    return HULL_EXIT_ERROR;
  }
  char id[HULL_DIGEST_MAX];
  int r = image_import(s, fd >= 0 ? fd : 0, ref, changes, id, &e);
  json_decref(changes);
  store_close(s);
  if (r < 0)
    return fail(&e);
  printf("%s\n", id);
  return 0;
}

/* ---- tag ---- */

int hull_cmd_tag(struct hull_ctx *ctx, int argc, char **argv) {
  if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
    printf("usage: hull tag SOURCE_IMAGE TARGET_IMAGE[:TAG]\n");
    return 0;
  }
  if (argc != 3)
    return usage_err("tag", "requires exactly 2 arguments: SOURCE TARGET");
  struct store *s = open_store(ctx);
  if (!s)
    return HULL_EXIT_ERROR;
  struct hull_error e = {0};
  int r = image_tag(s, argv[1], argv[2], &e);
  store_close(s);
  return r < 0 ? fail(&e) : 0;
}

/* ---- rmi ---- */

/* A container uses the image when its record names the image's id
 * (the engine's records under <root>/containers/<id>/config.json). */
struct use_ctx {
  struct engine *en; /* NULL: no containers to look at */
};

/* A container whose record names the image (its "Image", the id) uses it. */
static bool image_in_use(const char *image_id, char *who, size_t len, void *arg) {
  struct use_ctx *u = arg;
  char **ids = NULL;
  size_t n = 0;
  struct hull_error e;
  if (!u->en || record_list(u->en, &ids, &n, &e) < 0)
    return false;
  bool used = false;
  for (size_t i = 0; i < n; i++) {
    struct record *r;
    if (!used && record_open_id(u->en, ids[i], false, &r, &e) == 0) {
      const char *img = json_string_value(json_object_get(r->cfg, "Image"));
      if (img && !strcmp(img, image_id)) {
        const char *name = json_string_value(json_object_get(r->cfg, "Name"));
        snprintf(who, len, "%s", name ? name : r->id);
        used = true;
      }
      record_free(r);
    }
    free(ids[i]);
  }
  free(ids);
  return used;
}

static int rmi_main(struct hull_ctx *ctx, int argc, char **argv, const char *cmd) {
  static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  bool force = false;
  int c;
  while ((c = getopt_long(argc, argv, "+fh", opts, NULL)) != -1) {
    switch (c) {
    case 'f': force = true; break;
    case 'h': printf("usage: hull %s [-f] IMAGE...\n", cmd); return 0;
    default: return HULL_EXIT_ERROR;
    }
  }
  if (optind >= argc)
    return usage_err(cmd, "requires at least one image");
  struct store *s = open_store(ctx);
  if (!s)
    return HULL_EXIT_ERROR;
  struct use_ctx u = {NULL};
  engine_open(ctx->root, ctx->runroot, &u.en, &(struct hull_error){0});
  int rc = 0;
  for (int i = optind; i < argc; i++) {
    struct hull_error e = {0};
    struct image *img;
    if (image_resolve(s, argv[i], &img, &e) < 0) {
      rc = fail(&e);
      continue;
    }
    if (image_remove(s, argv[i], force, image_in_use, &u, &e) < 0) {
      image_free(img);
      rc = fail(&e);
      continue;
    }
    struct image *after = NULL;
    bool gone = image_resolve(s, img->id, &after, NULL) < 0;
    /* which names went: those the image had and has no more */
    for (size_t k = 0; k < img->n_names; k++) {
      bool kept = false;
      for (size_t j = 0; after && j < after->n_names; j++)
        kept |= !strcmp(after->names[j], img->names[k]);
      if (!kept)
        printf("Untagged: %s\n", img->names[k]);
    }
    if (gone)
      printf("Deleted: %s\n", img->id);
    image_free(after);
    image_free(img);
  }
  engine_close(u.en);
  store_close(s);
  return rc;
}

int hull_cmd_rmi(struct hull_ctx *ctx, int argc, char **argv) {
  return rmi_main(ctx, argc, argv, "rmi");
}

/* ---- prune: images without a name that no container uses ---- */

static int prune_main(struct hull_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                       {"force", no_argument, NULL, 'f'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  bool all = false;
  int c;
  while ((c = getopt_long(argc, argv, "+afh", opts, NULL)) != -1) {
    switch (c) {
    case 'a': all = true; break;
    case 'f': break;
    case 'h': printf("usage: hull image prune [-a] [-f]\n"); return 0;
    default: return HULL_EXIT_ERROR;
    }
  }
  struct store *s = open_store(ctx);
  if (!s)
    return HULL_EXIT_ERROR;
  struct hull_error e = {0};
  struct image **v;
  size_t n;
  if (image_list(s, &v, &n, &e) < 0) {
    store_close(s);
    return fail(&e);
  }
  struct use_ctx u = {NULL};
  engine_open(ctx->root, ctx->runroot, &u.en, &(struct hull_error){0});
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    char who[256];
    if ((v[i]->n_names && !all) || image_in_use(v[i]->id, who, sizeof who, &u))
      continue;
    if (image_remove(s, v[i]->id, true, image_in_use, &u, &e) < 0) {
      rc = fail(&e);
      continue;
    }
    for (size_t k = 0; k < v[i]->n_names; k++)
      printf("Untagged: %s\n", v[i]->names[k]);
    printf("Deleted: %s\n", v[i]->id);
  }
  image_list_free(v, n);
  /* and what killed loads left behind */
  if (store_gc(s, &e) < 0)
    rc = fail(&e);
  engine_close(u.en);
  store_close(s);
  return rc;
}

/* image mount IMAGE DIR [--read-only] / image umount DIR: the overlay a
 * container gets (DIR/merged), for looking at an image's files. */
static int mount_main(struct hull_ctx *ctx, int argc, char **argv) {
  bool ro = false;
  int i = 1;
  if (i < argc && !strcmp(argv[i], "--read-only")) {
    ro = true;
    i++;
  }
  if (argc - i != 2)
    return usage_err("image mount", "requires IMAGE DIR");
  struct store *s = open_store(ctx);
  if (!s)
    return HULL_EXIT_ERROR;
  struct hull_error e = {0};
  struct image *img = NULL;
  int r = image_resolve(s, argv[i], &img, &e);
  if (r == 0)
    r = rootfs_mount(s, img, argv[i + 1], ro, &e);
  image_free(img);
  store_close(s);
  if (r < 0)
    return fail(&e);
  printf("%s/merged\n", argv[i + 1]);
  return 0;
}

int hull_cmd_image(struct hull_ctx *ctx, int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    FILE *f = argc < 2 ? stderr : stdout;
    fprintf(f, "usage: hull image ls|inspect|rm|tag|load|save|import|prune|mount|umount ...\n");
    return argc < 2 ? HULL_EXIT_ERROR : 0;
  }
  const char *sub = argv[1];
  argc--;
  argv++;
  optind = 1;
  if (!strcmp(sub, "ls") || !strcmp(sub, "list"))
    return images_main(ctx, argc, argv, "image ls");
  if (!strcmp(sub, "inspect"))
    return inspect_main(ctx, argc, argv);
  if (!strcmp(sub, "rm"))
    return rmi_main(ctx, argc, argv, "image rm");
  if (!strcmp(sub, "tag"))
    return hull_cmd_tag(ctx, argc, argv);
  if (!strcmp(sub, "load"))
    return hull_cmd_load(ctx, argc, argv);
  if (!strcmp(sub, "save"))
    return hull_cmd_save(ctx, argc, argv);
  if (!strcmp(sub, "import"))
    return hull_cmd_import(ctx, argc, argv);
  if (!strcmp(sub, "prune"))
    return prune_main(ctx, argc, argv);
  if (!strcmp(sub, "mount"))
    return mount_main(ctx, argc, argv);
  if (!strcmp(sub, "umount") || !strcmp(sub, "unmount")) {
    struct hull_error e = {0};
    if (argc != 2)
      return usage_err("image umount", "requires DIR");
    return rootfs_unmount(argv[1], &e) < 0 ? fail(&e) : 0;
  }
  fprintf(stderr, "hull: image %s: unknown command (ls, inspect, rm, tag, load, save, import, prune)\n", sub);
  return HULL_EXIT_ERROR;
}
