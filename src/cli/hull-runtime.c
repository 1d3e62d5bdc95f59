/* hull-runtime: an OCI runtime with the runc command line. Argument
 * parsing and output only; everything else is libhull. */
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/self_protect.h"
#include "linux/cgroup_stats.h"
#include "linux/lsm.h"
#include "linux/seccomp.h"
#include "runtime/container.h"
#include "spec/spec.h"

#define HULL_VERSION "0.1.0"

extern char **environ;

/* ---- option parsing: runc's flags, --name value, --name=value, -x value */

enum { OPT_FLAG, OPT_VALUE, OPT_LIST };

struct opt {
  const char *name;  /* long name */
  char short_name;   /* 0 if none */
  int kind;
  const char **value;   /* OPT_VALUE */
  bool *flag;           /* OPT_FLAG */
  char ***list;         /* OPT_LIST: appended, NULL-terminated */
};

static void list_push(char ***list, const char *v) {
  size_t n = 0;
  while (*list && (*list)[n])
    n++;
  *list = realloc(*list, (n + 2) * sizeof **list);
  (*list)[n] = (char *)v;
  (*list)[n + 1] = NULL;
}

static const char *prog = "hull-runtime";

__attribute__((noreturn, format(printf, 1, 2))) static void usage_error(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  log_error("%s", msg);
  exit(1);
}

/* Parse options from argv[*i]; stops at the first positional argument or
 * after "--". Returns the index of the first positional. */
static int parse_opts(int argc, char **argv, int i, struct opt *opts,
                      const char *verb) {
  while (i < argc) {
    char *a = argv[i];
    if (!strcmp(a, "--")) {
      i++;
      break;
    }
    if (a[0] != '-' || !a[1])
      break;
    const char *name = NULL, *inline_val = NULL;
    char buf[128];
    struct opt *o = NULL;
    if (a[1] == '-' || (a[1] && a[2] && a[1] != '-' && strchr(a, '=') == NULL &&
                        strlen(a) > 2 && a[0] == '-' && a[1] != '-' && 0)) {
    }
    if (a[1] == '-') {
      name = a + 2;
      const char *eq = strchr(name, '=');
      if (eq) {
        snprintf(buf, sizeof buf, "%.*s", (int)(eq - name), name);
        name = buf;
        inline_val = eq + 1;
      }
      for (o = opts; o->name; o++)
        if (!strcmp(o->name, name))
          break;
    } else {
      /* runc (urfave/cli) also takes single-dash long names: -bundle */
      const char *n = a + 1;
      const char *eq = strchr(n, '=');
      if (eq) {
        snprintf(buf, sizeof buf, "%.*s", (int)(eq - n), n);
        n = buf;
        inline_val = eq + 1;
      }
      for (o = opts; o->name; o++)
        if ((strlen(n) == 1 && o->short_name == n[0]) || !strcmp(o->name, n))
          break;
      name = n;
    }
    if (!o->name)
      usage_error("%s: unknown option -%s%s", verb, a[1] == '-' ? "-" : "", name);
    i++;
    if (o->kind == OPT_FLAG) {
      if (inline_val)
        *o->flag = !strcmp(inline_val, "true") || !strcmp(inline_val, "1");
      else
        *o->flag = true;
      continue;
    }
    const char *v = inline_val;
    if (!v) {
      if (i >= argc)
        usage_error("%s: option --%s needs a value", verb, o->name);
      v = argv[i++];
    }
    if (o->kind == OPT_VALUE)
      *o->value = v;
    else
      list_push(o->list, v);
  }
  return i;
}

static int to_int(const char *what, const char *v) {
  char *end;
  long n = strtol(v, &end, 10);
  if (!*v || *end || n < 0 || n > 1 << 20)
    usage_error("%s: \"%s\" is not a valid number", what, v);
  return (int)n;
}

static int fail(struct hull_error *e) {
  log_error("%s", e->msg);
  return 1;
}

static const char *need_id(int argc, char **argv, int i, const char *verb) {
  if (i >= argc)
    usage_error("%s: container id required (usage: %s %s [options] <container-id>)",
                verb, prog, verb);
  return argv[i];
}

static void no_extra(int argc, int i, const char *verb) {
  if (i < argc)
    usage_error("%s: unexpected argument after the container id", verb);
}

/* ---- signals */

static const struct {
  const char *name;
  int sig;
} signals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},   {"IOT", SIGIOT},   {"BUS", SIGBUS},
    {"FPE", SIGFPE},   {"KILL", SIGKILL},   {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},   {"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU}, {"URG", SIGURG},
    {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"POLL", SIGPOLL},
    {"PWR", SIGPWR},   {"SYS", SIGSYS},
};

static int parse_signal(const char *s) {
  char *end;
  long n = strtol(s, &end, 10);
  if (*s && !*end)
    return n > 0 && n <= SIGRTMAX ? (int)n : -1;
  if (!strncasecmp(s, "SIG", 3))
    s += 3;
  for (size_t i = 0; i < sizeof signals / sizeof *signals; i++)
    if (!strcasecmp(s, signals[i].name))
      return signals[i].sig;
  if (!strncasecmp(s, "RTMIN", 5) || !strncasecmp(s, "RTMAX", 5)) {
    int base = !strncasecmp(s, "RTMIN", 5) ? SIGRTMIN : SIGRTMAX;
    int off = s[5] ? atoi(s + 5) : 0;
    int sig = base + off;
    return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -1;
  }
  return -1;
}

/* ---- CVE-2019-5736: see common/self_protect.h. */

static void run_protected(char **argv) {
  struct hull_error e;
  if (self_protect(argv, &e) < 0)
    usage_error("%s", e.msg);
}

/* ---- verbs */

static int cmd_create_or_run(struct runtime_opts *ro, int argc, char **argv, int i,
                             bool run) {
  const char *bundle = NULL, *pid_file = NULL, *console = NULL, *preserve = NULL;
  bool no_pivot = false, no_keyring = false, detach = false, keep = false;
  bool no_subreaper = false;
  struct opt opts[] = {
      {"bundle", 'b', OPT_VALUE, &bundle, NULL, NULL},
      {"pid-file", 0, OPT_VALUE, &pid_file, NULL, NULL},
      {"console-socket", 0, OPT_VALUE, &console, NULL, NULL},
      {"no-pivot", 0, OPT_FLAG, NULL, &no_pivot, NULL},
      {"no-new-keyring", 0, OPT_FLAG, NULL, &no_keyring, NULL},
      {"preserve-fds", 0, OPT_VALUE, &preserve, NULL, NULL},
      {"detach", 'd', OPT_FLAG, NULL, &detach, NULL},
      {"keep", 0, OPT_FLAG, NULL, &keep, NULL},
      {"no-subreaper", 0, OPT_FLAG, NULL, &no_subreaper, NULL},
      {NULL, 0, 0, NULL, NULL, NULL},
  };
  const char *verb = run ? "run" : "create";
  i = parse_opts(argc, argv, i, opts, verb);
  if (!run && (detach || keep))
    usage_error("create: unknown option --%s", detach ? "detach" : "keep");
  const char *id = need_id(argc, argv, i, verb);
  no_extra(argc, i + 1, verb);
  struct create_opts co = {
      .console_socket = console,
      .pid_file = pid_file,
      .preserve_fds = preserve ? to_int("--preserve-fds", preserve) : 0,
      .no_pivot = no_pivot,
      .no_new_keyring = no_keyring,
  };
  struct hull_error e = {0};
  if (!run) {
    struct container *c;
    if (container_create(ro, id, bundle, &co, &c, &e) < 0)
      return fail(&e);
    container_free(c);
    return 0;
  }
  int status = container_run(ro, id, bundle, &co, detach, &e);
  if (status < 0)
    return fail(&e);
  return status;
}

static int cmd_start(struct runtime_opts *ro, int argc, char **argv, int i) {
  struct opt opts[] = {{NULL, 0, 0, NULL, NULL, NULL}};
  i = parse_opts(argc, argv, i, opts, "start");
  const char *id = need_id(argc, argv, i, "start");
  no_extra(argc, i + 1, "start");
  struct hull_error e = {0};
  return container_start(ro, id, &e) < 0 ? fail(&e) : 0;
}

static int cmd_state(struct runtime_opts *ro, int argc, char **argv, int i) {
  struct opt opts[] = {{NULL, 0, 0, NULL, NULL, NULL}};
  i = parse_opts(argc, argv, i, opts, "state");
  const char *id = need_id(argc, argv, i, "state");
  no_extra(argc, i + 1, "state");
  struct hull_error e = {0};
  json_t *st;
  if (container_state_json(ro, id, &st, &e) < 0)
    return fail(&e);
  json_dumpf(st, stdout, JSON_INDENT(2));
  putchar('\n');
  json_decref(st);
  return 0;
}

static int cmd_kill(struct runtime_opts *ro, int argc, char **argv, int i) {
  bool all = false;
  struct opt opts[] = {{"all", 'a', OPT_FLAG, NULL, &all, NULL},
                       {NULL, 0, 0, NULL, NULL, NULL}};
  i = parse_opts(argc, argv, i, opts, "kill");
  const char *id = need_id(argc, argv, i, "kill");
  int sig = SIGTERM;
  if (i + 1 < argc) {
    sig = parse_signal(argv[i + 1]);
    if (sig < 0)
      usage_error("kill: unknown signal \"%s\"", argv[i + 1]);
    no_extra(argc, i + 2, "kill");
  }
  struct hull_error e = {0};
  return container_kill(ro, id, sig, all, &e) < 0 ? fail(&e) : 0;
}

static int cmd_delete(struct runtime_opts *ro, int argc, char **argv, int i) {
  bool force = false;
  struct opt opts[] = {{"force", 'f', OPT_FLAG, NULL, &force, NULL},
                       {NULL, 0, 0, NULL, NULL, NULL}};
  i = parse_opts(argc, argv, i, opts, "delete");
  const char *id = need_id(argc, argv, i, "delete");
  no_extra(argc, i + 1, "delete");
  struct hull_error e = {0};
  return container_delete(ro, id, force, &e) < 0 ? fail(&e) : 0;
}

static int cmd_exec(struct runtime_opts *ro, int argc, char **argv, int i) {
  struct exec_request req = {0};
  const char *preserve = NULL;
  bool ignore_paused = false;
  struct opt opts[] = {
      {"process", 'p', OPT_VALUE, &req.process_file, NULL, NULL},
      {"tty", 't', OPT_FLAG, NULL, &req.tty, NULL},
      {"console-socket", 0, OPT_VALUE, &req.console_socket, NULL, NULL},
      {"detach", 'd', OPT_FLAG, NULL, &req.detach, NULL},
      {"pid-file", 0, OPT_VALUE, &req.pid_file, NULL, NULL},
      {"env", 'e', OPT_LIST, NULL, NULL, &req.env},
      {"cwd", 0, OPT_VALUE, &req.cwd, NULL, NULL},
      {"user", 'u', OPT_VALUE, &req.user, NULL, NULL},
      {"additional-gids", 'g', OPT_LIST, NULL, NULL, &req.additional_gids},
      {"cap", 'c', OPT_LIST, NULL, NULL, &req.caps},
      {"no-new-privs", 0, OPT_FLAG, NULL, &req.no_new_privs, NULL},
      {"preserve-fds", 0, OPT_VALUE, &preserve, NULL, NULL},
      {"process-label", 0, OPT_VALUE, &req.label, NULL, NULL},
      {"apparmor", 0, OPT_VALUE, &req.apparmor, NULL, NULL},
      {"ignore-paused", 0, OPT_FLAG, NULL, &ignore_paused, NULL},
      {NULL, 0, 0, NULL, NULL, NULL},
  };
  i = parse_opts(argc, argv, i, opts, "exec");
  const char *id = need_id(argc, argv, i, "exec");
  req.preserve_fds = preserve ? to_int("--preserve-fds", preserve) : 0;
  if (!req.process_file) {
    if (i + 1 >= argc)
      usage_error("exec: a command is required (or --process FILE)");
    req.args = argv + i + 1;
  } else if (i + 1 < argc) {
    usage_error("exec: give either --process or a command, not both");
  }
  struct hull_error e = {0};
  int r = container_exec(ro, id, &req, &e);
  return r < 0 ? fail(&e) : r;
}

static int cmd_ps(struct runtime_opts *ro, int argc, char **argv, int i) {
  const char *format = "table";
  struct opt opts[] = {{"format", 'f', OPT_VALUE, &format, NULL, NULL},
                       {NULL, 0, 0, NULL, NULL, NULL}};
  i = parse_opts(argc, argv, i, opts, "ps");
  const char *id = need_id(argc, argv, i, "ps");
  if (strcmp(format, "table") && strcmp(format, "json"))
    usage_error("ps: --format must be table or json");
  struct hull_error e = {0};
  if (!strcmp(format, "table")) {
    int t = container_ps_table(ro, id, stdout, &e);
    if (t < 0)
      return fail(&e);
    if (t == 0)
      return 0;
  }
  pid_t *pids;
  size_t n;
  if (container_pids(ro, id, &pids, &n, &e) < 0)
    return fail(&e);
  if (!strcmp(format, "json")) {
    printf("[");
    for (size_t k = 0; k < n; k++)
      printf("%s%d", k ? "," : "", pids[k]);
    printf("]\n");
    free(pids);
    return 0;
  }
  /* Table: the system's ps with the caller's options (default -ef), rows
   * limited to the container's processes, as runc does. */
  char cmd[4096] = "ps";
  size_t len = 2;
  if (i + 1 >= argc)
    len += (size_t)snprintf(cmd + len, sizeof cmd - len, " -ef");
  for (int k = i + 1; k < argc; k++) {
    len += (size_t)snprintf(cmd + len, sizeof cmd - len, " '");
    for (const char *p = argv[k]; *p && len + 5 < sizeof cmd; p++) {
      if (*p == '\'')
        len += (size_t)snprintf(cmd + len, sizeof cmd - len, "'\\''");
      else
        cmd[len++] = *p;
    }
    len += (size_t)snprintf(cmd + len, sizeof cmd - len, "'");
  }
  FILE *f = popen(cmd, "r");
  if (!f) {
    free(pids);
    return hull_errno(&e, errno, "ps: run ps"), fail(&e);
  }
  char line[8192];
  int pid_col = -1;
  bool header = true;
  while (fgets(line, sizeof line, f)) {
    if (header) {
      fputs(line, stdout);
      char copy[8192], *save, *tok;
      snprintf(copy, sizeof copy, "%s", line);
      int col = 0;
      for (tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save), col++)
        if (!strcmp(tok, "PID"))
          pid_col = col;
      header = false;
      if (pid_col < 0) {
        pclose(f);
        free(pids);
        return hull_err(&e, EINVAL, "ps: the output of ps has no PID column"), fail(&e);
      }
      continue;
    }
    char copy[8192], *save, *tok;
    snprintf(copy, sizeof copy, "%s", line);
    int col = 0;
    for (tok = strtok_r(copy, " \t\n", &save); tok && col < pid_col;
         tok = strtok_r(NULL, " \t\n", &save))
      col++;
    if (!tok)
      continue;
    pid_t p = (pid_t)atoi(tok);
    for (size_t k = 0; k < n; k++)
      if (pids[k] == p) {
        fputs(line, stdout);
        break;
      }
  }
  free(pids);
  return pclose(f) == 0 ? 0 : 1;
}

static int cmd_pause_resume(struct runtime_opts *ro, int argc, char **argv, int i,
                            bool pause) {
  const char *verb = pause ? "pause" : "resume";
  struct opt opts[] = {{NULL, 0, 0, NULL, NULL, NULL}};
  i = parse_opts(argc, argv, i, opts, verb);
  const char *id = need_id(argc, argv, i, verb);
  no_extra(argc, i + 1, verb);
  struct hull_error e = {0};
  int r = pause ? container_pause(ro, id, &e) : container_resume(ro, id, &e);
  return r < 0 ? fail(&e) : 0;
}

static int cmd_update(struct runtime_opts *ro, int argc, char **argv, int i) {
  /* runc's flags; each value goes to the resources module as given. */
  static const char *const names[] = {
      "resources", "memory", "memory-swap", "memory-reservation", "kernel-memory",
      "kernel-memory-tcp", "cpu-share", "cpu-shares", "cpu-quota", "cpu-period",
      "cpu-burst", "cpu-rt-runtime", "cpu-rt-period", "cpu-idle", "cpuset-cpus",
      "cpuset-mems", "pids-limit", "blkio-weight", "l3-cache-schema", "mem-bw-schema",
      NULL};
  enum { N = sizeof names / sizeof *names };
  const char *values[N] = {0};
  struct opt opts[N];
  for (size_t k = 0; k < N; k++)
    opts[k] = (struct opt){names[k], k == 0 ? 'r' : 0, OPT_VALUE, &values[k], NULL, NULL};
  i = parse_opts(argc, argv, i, opts, "update");
  const char *id = need_id(argc, argv, i, "update");
  no_extra(argc, i + 1, "update");
  struct hull_error e = {0};
  struct cgroup_update_args ua = {0};
  for (size_t k = 0; names[k]; k++) {
    if (!values[k])
      continue;
    if (!strcmp(names[k], "l3-cache-schema") || !strcmp(names[k], "mem-bw-schema"))
      usage_error("update: --%s: Intel RDT is not supported by this build of hull",
                  names[k]);
    const char *n = !strcmp(names[k], "resources") ? "r" : names[k];
    if (cgroup_update_args_set(&ua, n, values[k]) < 0)
      usage_error("update: --%s: not an update flag", names[k]);
  }
  json_t *res = NULL;
  if (cgroup_update_args_to_resources(&ua, &res, &e) < 0)
    return fail(&e);
  int r = container_update(ro, id, res, &e);
  json_decref(res);
  return r < 0 ? fail(&e) : 0;
}

static void print_line(const char *line, void *arg) {
  (void)arg;
  puts(line);
  fflush(stdout);
}

static int cmd_events(struct runtime_opts *ro, int argc, char **argv, int i) {
  bool stats = false;
  const char *interval = NULL;
  struct opt opts[] = {{"stats", 0, OPT_FLAG, NULL, &stats, NULL},
                       {"interval", 0, OPT_VALUE, &interval, NULL, NULL},
                       {NULL, 0, 0, NULL, NULL, NULL}};
  i = parse_opts(argc, argv, i, opts, "events");
  const char *id = need_id(argc, argv, i, "events");
  no_extra(argc, i + 1, "events");
  /* runc's --interval is a Go duration; seconds by default ("5s", "500ms"). */
  int ms = 5000;
  if (interval) {
    char *end;
    double v = strtod(interval, &end);
    if (end == interval || v < 0)
      usage_error("events: --interval %s: not a duration", interval);
    if (!strcmp(end, "ms"))
      ms = (int)v;
    else if (!*end || !strcmp(end, "s"))
      ms = (int)(v * 1000);
    else if (!strcmp(end, "m"))
      ms = (int)(v * 60000);
    else
      usage_error("events: --interval %s: not a duration (use ms, s or m)", interval);
  }
  struct hull_error e = {0};
  int r = container_events(ro, id, stats, ms, print_line, NULL, &e);
  return r < 0 ? fail(&e) : 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmd_list(struct runtime_opts *ro, int argc, char **argv, int i) {
  const char *format = "table";
  bool quiet = false;
  struct opt opts[] = {{"format", 'f', OPT_VALUE, &format, NULL, NULL},
                       {"quiet", 'q', OPT_FLAG, NULL, &quiet, NULL},
                       {NULL, 0, 0, NULL, NULL, NULL}};
  i = parse_opts(argc, argv, i, opts, "list");
  no_extra(argc, i, "list");
  if (strcmp(format, "table") && strcmp(format, "json"))
    usage_error("list: --format must be table or json");
  char **ids = NULL;
  size_t n = 0;
  DIR *d = opendir(ro->root);
  if (d) {
    struct dirent *de;
    while ((de = readdir(d))) {
      if (de->d_name[0] == '.')
        continue;
      ids = realloc(ids, (n + 1) * sizeof *ids);
      ids[n++] = strdup(de->d_name);
    }
    closedir(d);
  }
  qsort(ids, n, sizeof *ids, cmp_str);
  json_t *all = json_array();
  for (size_t k = 0; k < n; k++) {
    struct hull_error e;
    json_t *st;
    if (container_state_json(ro, ids[k], &st, &e) == 0)
      json_array_append_new(all, st);
    free(ids[k]);
  }
  free(ids);
  size_t k;
  json_t *st;
  if (quiet) {
    json_array_foreach(all, k, st) puts(json_string_value(json_object_get(st, "id")));
  } else if (!strcmp(format, "json")) {
    char *text = hjson_dumps(all);
    if (text)
      puts(text);
    free(text);
  } else {
    printf("%-12s %-10s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE",
           "CREATED", "OWNER");
    json_array_foreach(all, k, st) {
      printf("%-12s %-10lld %-10s %-40s %-30s %s\n",
             json_string_value(json_object_get(st, "id")),
             json_integer_value(json_object_get(st, "pid")),
             json_string_value(json_object_get(st, "status")),
             json_string_value(json_object_get(st, "bundle")),
             json_string_value(json_object_get(st, "created")), "root");
    }
  }
  json_decref(all);
  return 0;
}

static int cmd_spec(struct runtime_opts *ro, int argc, char **argv, int i) {
  (void)ro;
  const char *bundle = ".";
  bool rootless = false;
  struct opt opts[] = {{"bundle", 'b', OPT_VALUE, &bundle, NULL, NULL},
                       {"rootless", 0, OPT_FLAG, NULL, &rootless, NULL},
                       {NULL, 0, 0, NULL, NULL, NULL}};
  i = parse_opts(argc, argv, i, opts, "spec");
  no_extra(argc, i, "spec");
  struct hull_error e = {0};
  char path[4096];
  snprintf(path, sizeof path, "%s/config.json", bundle);
  _cleanup_free_ char *text = spec_default_json(rootless);
  if (!text)
    return hull_errno(&e, ENOMEM, "spec"), fail(&e);
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return (errno == EEXIST ? hull_err(&e, EEXIST, "spec: %s exists: remove it first", path)
                            : hull_errno(&e, errno, "spec: %s", path)),
           fail(&e);
  if (fs_write_all(fd, text, strlen(text)) < 0 || fs_write_all(fd, "\n", 1) < 0)
    return hull_errno(&e, errno, "spec: %s", path), fail(&e);
  return 0;
}

static json_t *string_array(const char *const *v) {
  json_t *a = json_array();
  for (; *v; v++)
    json_array_append_new(a, json_string(*v));
  return a;
}

/* The runtime-spec features document: only what this build really does. */
static int cmd_features(int argc, char **argv, int i) {
  struct opt opts[] = {{NULL, 0, 0, NULL, NULL, NULL}};
  i = parse_opts(argc, argv, i, opts, "features");
  no_extra(argc, i, "features");
  static const char *const hooks[] = {"prestart", "createRuntime", "createContainer",
                                      "startContainer", "poststart", "poststop", NULL};
  static const char *const mount_options[] = {
      "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec",
      "iversion", "lazytime", "loud", "mand", "noatime", "nodev", "nodiratime",
      "noexec", "noiversion", "nolazytime", "nomand", "norelatime",
      "nostrictatime", "nosuid", "nosymfollow", "private", "rbind", "relatime",
      "remount", "ro", "rprivate", "rshared", "rslave", "runbindable", "rw",
      "shared", "silent", "slave", "strictatime", "suid", "symfollow", "sync",
      "tmpcopyup", "unbindable", NULL};
  static const char *const namespaces[] = {"cgroup", "ipc",  "mount", "network",
                                           "pid",    "user", "uts",   "time", NULL};
  json_t *caps = json_array();
  for (int c = 0; c <= cap_last_known(); c++)
    if (cap_name_from_number(c))
      json_array_append_new(caps, json_string(cap_name_from_number(c)));
  json_t *lx = json_object();
  json_object_set_new(lx, "namespaces", string_array(namespaces));
  json_object_set_new(lx, "capabilities", caps);
  json_object_set_new(lx, "cgroup",
                      json_pack("{s:b, s:b, s:b, s:b, s:b}", "v1", 1, "v2", 1,
                                "systemd", 0, "systemdUser", 0, "rdma", 0));
  json_object_set_new(lx, "seccomp", seccomp_features());
  json_object_set_new(lx, "apparmor", json_pack("{s:b}", "enabled", lsm_apparmor_enabled()));
  json_object_set_new(lx, "selinux", json_pack("{s:b}", "enabled", lsm_selinux_enabled()));
  json_object_set_new(lx, "intelRdt", json_pack("{s:b}", "enabled", 0));
  json_object_set_new(lx, "mountExtensions",
                      json_pack("{s:{s:b}}", "idmap", "enabled", 0));
  json_t *f = json_object();
  json_object_set_new(f, "ociVersionMin", json_string("1.0.0"));
  json_object_set_new(f, "ociVersionMax", json_string(HULL_OCI_VERSION));
  json_object_set_new(f, "hooks", string_array(hooks));
  json_object_set_new(f, "mountOptions", string_array(mount_options));
  json_object_set_new(f, "linux", lx);
  json_object_set_new(f, "annotations",
                      json_pack("{s:s, s:s}", "org.hull.isolation", "process",
                                "org.hull.version", HULL_VERSION));
  json_dumpf(f, stdout, JSON_INDENT(2));
  putchar('\n');
  json_decref(f);
  return 0;
}

static void print_usage(void) {
  printf("usage: %s [global options] <command> [options] [<container-id>]\n\n"
         "An OCI runtime with a choice of isolation: process or vm.\n\n"
         "commands:\n"
         "  create    create a container from a bundle\n"
         "  start     run the user program of a created container\n"
         "  run       create, start and wait for a container\n"
         "  state     print the state of a container as JSON\n"
         "  kill      send a signal to the container's init (--all: every process)\n"
         "  delete    delete a container (--force: even if running)\n"
         "  exec      run a further process in a container\n"
         "  ps        list the processes of a container\n"
         "  pause     freeze every process of a container\n"
         "  resume    thaw a paused container\n"
         "  update    change the resource limits of a container\n"
         "  events    statistics (--stats) or a stream of events (OOM kills)\n"
         "  list      list containers\n"
         "  spec      write a default config.json\n"
         "  features  print the features this runtime supports as JSON\n\n"
         "global options:\n"
         "  --root DIR          state directory (default %s)\n"
         "  --log FILE          also log errors to FILE\n"
         "  --log-format F      text or json\n"
         "  --debug             log debug messages\n"
         "  --isolation I       process or vm (default: annotation org.hull.isolation,\n"
         "                      else the program name hull-runtime-vm, else process)\n"
         "  --systemd-cgroup    use systemd-style cgroup paths (slice:prefix:name)\n"
         "  --version           print the version\n",
         prog, HULL_DEFAULT_ROOT);
}

int main(int argc, char **argv) {
  struct runtime_opts ro = {.root = HULL_DEFAULT_ROOT, .progname = argv[0]};
  const char *log_path = NULL, *log_format = "text", *criu = NULL;
  bool debug = false, version = false, help = false, rootless_flag = false;
  const char *rootless = NULL;
  struct opt global[] = {
      {"root", 0, OPT_VALUE, &ro.root, NULL, NULL},
      {"log", 0, OPT_VALUE, &log_path, NULL, NULL},
      {"log-format", 0, OPT_VALUE, &log_format, NULL, NULL},
      {"debug", 0, OPT_FLAG, NULL, &debug, NULL},
      {"systemd-cgroup", 0, OPT_FLAG, NULL, &ro.systemd_cgroup, NULL},
      {"isolation", 0, OPT_VALUE, &ro.isolation, NULL, NULL},
      {"criu", 0, OPT_VALUE, &criu, NULL, NULL},
      {"rootless", 0, OPT_VALUE, &rootless, NULL, NULL},
      {"version", 'v', OPT_FLAG, NULL, &version, NULL},
      {"help", 'h', OPT_FLAG, NULL, &help, NULL},
      {NULL, 0, 0, NULL, NULL, NULL},
  };
  (void)rootless_flag;
  const char *base = strrchr(argv[0], '/');
  prog = base ? base + 1 : argv[0];
  /* A short-lived process: jansson's allocations come from an arena that
   * exit frees (building and freeing the config tree cost more than
   * everything else the runtime does). */
  hjson_use_arena();
  log_init(prog, NULL, false, false);
  int i = parse_opts(argc, argv, 1, global, "hull-runtime");
  if (strcmp(log_format, "text") && strcmp(log_format, "json"))
    usage_error("--log-format: must be text or json, not \"%s\"", log_format);
  log_init(prog, log_path, !strcmp(log_format, "json"), debug);
  if (version) {
    printf("%s version %s\nspec: %s\n", prog, HULL_VERSION, HULL_OCI_VERSION);
    return 0;
  }
  if (help || i >= argc) {
    print_usage();
    return help ? 0 : 1;
  }
  if (ro.systemd_cgroup && access("/run/systemd/system", F_OK) < 0)
    usage_error("--systemd-cgroup: systemd is not running on this host; "
                "use the default cgroupfs manager");
  const char *verb = argv[i++];
  if (!strcmp(verb, "create") || !strcmp(verb, "run") || !strcmp(verb, "exec"))
    run_protected(argv);
  if (!strcmp(verb, "create"))
    return cmd_create_or_run(&ro, argc, argv, i, false);
  if (!strcmp(verb, "run"))
    return cmd_create_or_run(&ro, argc, argv, i, true);
  if (!strcmp(verb, "start"))
    return cmd_start(&ro, argc, argv, i);
  if (!strcmp(verb, "state"))
    return cmd_state(&ro, argc, argv, i);
  if (!strcmp(verb, "kill"))
    return cmd_kill(&ro, argc, argv, i);
  if (!strcmp(verb, "delete"))
    return cmd_delete(&ro, argc, argv, i);
  if (!strcmp(verb, "exec"))
    return cmd_exec(&ro, argc, argv, i);
  if (!strcmp(verb, "ps"))
    return cmd_ps(&ro, argc, argv, i);
  if (!strcmp(verb, "list"))
    return cmd_list(&ro, argc, argv, i);
  if (!strcmp(verb, "spec"))
    return cmd_spec(&ro, argc, argv, i);
  if (!strcmp(verb, "features"))
    return cmd_features(argc, argv, i);
  if (!strcmp(verb, "pause") || !strcmp(verb, "resume"))
    return cmd_pause_resume(&ro, argc, argv, i, !strcmp(verb, "pause"));
  if (!strcmp(verb, "update"))
    return cmd_update(&ro, argc, argv, i);
  if (!strcmp(verb, "events"))
    return cmd_events(&ro, argc, argv, i);
  if (!strcmp(verb, "checkpoint") || !strcmp(verb, "restore"))
    usage_error("%s: not supported by this version of hull-runtime", verb);
  usage_error("unknown command \"%s\" (see %s --help)", verb, prog);
}
