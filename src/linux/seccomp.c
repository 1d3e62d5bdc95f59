/* linux.seccomp -> a BPF program (with libseccomp), loaded in the container
 * process with one seccomp(2) call; the SCMP_ACT_NOTIFY listener
 * descriptor handed to listenerPath. See seccomp.h for the order of
 * things. */
#include "seccomp.h"

#include <fcntl.h>
#include <stdarg.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/json.h"
#include "../runtime/container.h"

#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef SECCOMP_GET_ACTION_AVAIL
#define SECCOMP_GET_ACTION_AVAIL 2
#endif

/* How long the runtime waits for the listener to accept and read. */
#define LISTENER_TIMEOUT_SECS 30

struct seccomp_plan {
  struct sock_fprog prog;  /* prog.filter malloc'd */
  unsigned flags;          /* SECCOMP_FILTER_FLAG_* for seccomp(2) */
  bool notify;             /* NEW_LISTENER: a descriptor to hand over */
  char *listener_path;     /* NULL when absent */
  char *listener_metadata; /* NULL when absent */
  size_t listener_metadata_len;
};

/* ---- name tables ------------------------------------------------------ */

struct action_name {
  const char *name;
  uint32_t action;   /* SCMP_ACT_* without data (= SECCOMP_RET_*) */
  bool takes_errno;  /* ERRNO, TRACE: errnoRet allowed, default EPERM */
  bool probe;        /* newer than seccomp filters themselves: ask */
};

static const struct action_name actions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, false, false},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false, true},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false, false},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false, false},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true, false},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true, false},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false, false},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, false, true},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, false, true},
};

static const struct {
  const char *name;
  enum scmp_compare op;
} operators[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

/* token 0: a name of the spec this libseccomp cannot build filters for.
 * Such an architecture is never the native one, and a process cannot make
 * its system calls here, so it is skipped (as an unknown syscall is). */
static const struct {
  const char *name;
  uint32_t token;
} archs[] = {
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
#ifdef SCMP_ARCH_LOONGARCH64
    {"SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64},
#else
    {"SCMP_ARCH_LOONGARCH64", 0},
#endif
#ifdef SCMP_ARCH_M68K
    {"SCMP_ARCH_M68K", SCMP_ARCH_M68K},
#else
    {"SCMP_ARCH_M68K", 0},
#endif
#ifdef SCMP_ARCH_SH
    {"SCMP_ARCH_SH", SCMP_ARCH_SH},
    {"SCMP_ARCH_SHEB", SCMP_ARCH_SHEB},
#else
    {"SCMP_ARCH_SH", 0},
    {"SCMP_ARCH_SHEB", 0},
#endif
};

static const struct {
  const char *name;
  unsigned flag;
} flags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

#define N_OF(a) (sizeof(a) / sizeof *(a))

/* ---- kernel probes ---------------------------------------------------- */

/* seccomp(SET_MODE_FILTER, flags, NULL): the kernel checks the flags
 * before it reads the program, so EFAULT means "these flags are known". */
static bool kernel_takes_flags(unsigned f) {
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f, NULL) < 0 &&
         errno == EFAULT;
}

static bool kernel_has_action(uint32_t action) {
  return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

/* ---- messages --------------------------------------------------------- */

/* "config.json: linux.seccomp<where>: <cause>", one line even when it
 * quotes hostile strings. */
__attribute__((format(printf, 4, 5))) static int
bad(struct hull_error *e, int code, const char *where, const char *fmt, ...) {
  char cause[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cause, sizeof cause, fmt, ap);
  va_end(ap);
  hull_err(e, code, "config.json: linux.seccomp%s: %s", where, cause);
  for (char *p = e->msg; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = '?';
  return -code;
}

/* A short, printable rendering of a user string for messages. */
static const char *shown(const char *s, char *buf, size_t size) {
  size_t n = strlen(s);
  if (n < size)
    return s;
  snprintf(buf, size, "%.*s...", (int)(size - 4), s);
  return buf;
}

static json_t *member(json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  return json_is_null(v) ? NULL : v;
}

/* ---- parsing ---------------------------------------------------------- */

static int get_action(json_t *v, const char *where, const struct action_name **out,
                      struct hull_error *e) {
  char buf[80];
  if (!v)
    return bad(e, EINVAL, where, "missing");
  if (!json_is_string(v))
    return bad(e, EINVAL, where, "must be a string");
  const char *s = json_string_value(v);
  for (size_t i = 0; i < N_OF(actions); i++)
    if (!strcmp(s, actions[i].name)) {
      if (actions[i].probe && !kernel_has_action(actions[i].action))
        return bad(e, EOPNOTSUPP, where, "%s: not supported by this kernel", s);
      *out = &actions[i];
      return 0;
    }
  return bad(e, EINVAL, where, "unknown action \"%s\"", shown(s, buf, sizeof buf));
}

/* errnoRet / defaultErrnoRet: only with ERRNO and TRACE (the spec: "When
 * the action doesn't support an errno, the runtime MUST print and error
 * and fail"); EPERM when absent. 16 bits is what the filter can return. */
static int get_errno_ret(json_t *v, const struct action_name *a, const char *where,
                         uint32_t *out, struct hull_error *e) {
  *out = a->action;
  if (!v) {
    if (a->takes_errno)
      *out |= EPERM;
    return 0;
  }
  if (!json_is_integer(v) || json_integer_value(v) < 0 ||
      json_integer_value(v) > 0xffff)
    return bad(e, EINVAL, where, "must be an integer in 0..65535");
  if (!a->takes_errno)
    return bad(e, EINVAL, where,
               "not allowed with %s (only with SCMP_ACT_ERRNO and SCMP_ACT_TRACE)",
               a->name);
  *out |= (uint32_t)json_integer_value(v);
  return 0;
}

/* value / valueTwo: uint64, stored wrapped to negative above INT64_MAX
 * (see spec.h). */
static int get_u64(json_t *v, const char *where, bool required, uint64_t *out,
                   struct hull_error *e) {
  *out = 0;
  if (!v)
    return required ? bad(e, EINVAL, where, "missing") : 0;
  if (!json_is_integer(v))
    return bad(e, EINVAL, where, "must be an integer in 0..18446744073709551615");
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

/* One syscalls[] entry's conditions. */
static int get_args(json_t *arr, const char *where, struct scmp_arg_cmp *cmp,
                    unsigned *n, struct hull_error *e) {
  char w[160], buf[80];
  *n = 0;
  if (!arr)
    return 0;
  snprintf(w, sizeof w, "%s.args", where);
  if (!json_is_array(arr))
    return bad(e, EINVAL, w, "must be an array");
  /* Six arguments, several conditions each at most: more is a mistake. */
  if (json_array_size(arr) > 64)
    return bad(e, EINVAL, w, "more than 64 conditions");
  size_t i;
  json_t *a;
  json_array_foreach(arr, i, a) {
    snprintf(w, sizeof w, "%s.args[%zu]", where, i);
    if (!json_is_object(a))
      return bad(e, EINVAL, w, "must be an object");
    char fw[200];
    json_t *idx = member(a, "index"), *op = member(a, "op");
    snprintf(fw, sizeof fw, "%s.index", w);
    if (!idx)
      return bad(e, EINVAL, fw, "missing");
    if (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
        json_integer_value(idx) > 5)
      return bad(e, EINVAL, fw, "must be an integer in 0..5 (a syscall has six arguments)");
    struct scmp_arg_cmp *c = &cmp[i];
    c->arg = (unsigned)json_integer_value(idx);
    snprintf(fw, sizeof fw, "%s.value", w);
    int r = get_u64(member(a, "value"), fw, true, &c->datum_a, e);
    if (r < 0)
      return r;
    snprintf(fw, sizeof fw, "%s.valueTwo", w);
    if ((r = get_u64(member(a, "valueTwo"), fw, false, &c->datum_b, e)) < 0)
      return r;
    snprintf(fw, sizeof fw, "%s.op", w);
    if (!op)
      return bad(e, EINVAL, fw, "missing");
    if (!json_is_string(op))
      return bad(e, EINVAL, fw, "must be a string");
    c->op = 0;
    for (size_t k = 0; k < N_OF(operators); k++)
      if (!strcmp(json_string_value(op), operators[k].name))
        c->op = operators[k].op;
    if (!c->op)
      return bad(e, EINVAL, fw, "unknown operator \"%s\"",
                 shown(json_string_value(op), buf, sizeof buf));
  }
  *n = (unsigned)json_array_size(arr);
  return 0;
}

static int add_rules(scmp_filter_ctx ctx, uint32_t action, int nr, const char *name,
                     struct scmp_arg_cmp *cmp, unsigned n, const char *where,
                     struct hull_error *e) {
  char buf[80];
  /* Two conditions on one argument cannot be ANDed by libseccomp: like
   * runc, make one rule per condition then. */
  bool split = false;
  for (unsigned i = 0; i < n && !split; i++)
    for (unsigned j = i + 1; j < n; j++)
      if (cmp[i].arg == cmp[j].arg)
        split = true;
  int r = 0;
  if (!split) {
    r = seccomp_rule_add_array(ctx, action, nr, n, n ? cmp : NULL);
  } else {
    for (unsigned i = 0; i < n && r == 0; i++)
      r = seccomp_rule_add_array(ctx, action, nr, 1, &cmp[i]);
  }
  if (r < 0)
    return bad(e, -r == ENOMEM ? ENOMEM : EINVAL, where, "%s: %s",
               shown(name, buf, sizeof buf), strerror(-r));
  return 0;
}

static int add_syscalls(scmp_filter_ctx ctx, json_t *list, uint32_t def_action,
                        bool *notify, unsigned *n_rules, struct hull_error *e) {
  char w[128], fw[160];
  if (!json_is_array(list))
    return bad(e, EINVAL, ".syscalls", "must be an array");
  size_t i;
  json_t *sc;
  json_array_foreach(list, i, sc) {
    snprintf(w, sizeof w, ".syscalls[%zu]", i);
    if (!json_is_object(sc))
      return bad(e, EINVAL, w, "must be an object");
    const struct action_name *a;
    snprintf(fw, sizeof fw, "%s.action", w);
    int r = get_action(member(sc, "action"), fw, &a, e);
    if (r < 0)
      return r;
    uint32_t action;
    snprintf(fw, sizeof fw, "%s.errnoRet", w);
    if ((r = get_errno_ret(member(sc, "errnoRet"), a, fw, &action, e)) < 0)
      return r;
    struct scmp_arg_cmp cmp[64];
    unsigned n;
    if ((r = get_args(member(sc, "args"), w, cmp, &n, e)) < 0)
      return r;
    json_t *names = member(sc, "names");
    snprintf(fw, sizeof fw, "%s.names", w);
    if (!json_is_array(names) || !json_array_size(names))
      return bad(e, EINVAL, fw, "must be a non-empty array of strings");
    size_t k;
    json_t *nm;
    json_array_foreach(names, k, nm) {
      snprintf(fw, sizeof fw, "%s.names[%zu]", w, k);
      if (!json_is_string(nm) || !json_string_length(nm))
        return bad(e, EINVAL, fw, "must be a non-empty string");
      const char *name = json_string_value(nm);
      if (action == SCMP_ACT_NOTIFY && !strcmp(name, "sendmsg"))
        return bad(e, EINVAL, fw,
                   "SCMP_ACT_NOTIFY cannot be used for sendmsg (the runtime "
                   "hands the listener descriptor over with it)");
    }
    if (action == SCMP_ACT_NOTIFY)
      *notify = true;
    /* A rule that does what the default does is redundant; libseccomp
     * refuses it (EACCES): skip it, as runc does. */
    if (action == def_action)
      continue;
    json_array_foreach(names, k, nm) {
      const char *name = json_string_value(nm);
      int nr = seccomp_syscall_resolve_name(name);
      if (nr == __NR_SCMP_ERROR)
        continue; /* unknown here: another kernel's or arch's */
      snprintf(fw, sizeof fw, "%s.names[%zu]", w, k);
      if ((r = add_rules(ctx, action, nr, name, cmp, n, fw, e)) < 0)
        return r;
      ++*n_rules;
    }
  }
  return 0;
}

static int add_archs(scmp_filter_ctx ctx, json_t *list, struct hull_error *e) {
  char w[64], buf[80];
  if (!json_is_array(list))
    return bad(e, EINVAL, ".architectures", "must be an array of strings");
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) {
    snprintf(w, sizeof w, ".architectures[%zu]", i);
    if (!json_is_string(v))
      return bad(e, EINVAL, w, "must be a string");
    const char *s = json_string_value(v);
    size_t k = 0;
    while (k < N_OF(archs) && strcmp(s, archs[k].name))
      k++;
    if (k == N_OF(archs))
      return bad(e, EINVAL, w, "unknown architecture \"%s\"", shown(s, buf, sizeof buf));
    if (!archs[k].token)
      continue;
    /* EEXIST: the native one. EDOM: libseccomp cannot mix endiannesses
     * in one filter; such an ABI cannot run on this kernel anyway. */
    int r = seccomp_arch_add(ctx, archs[k].token);
    if (r < 0 && r != -EEXIST && r != -EDOM)
      return bad(e, -r, w, "%s: %s", s, strerror(-r));
  }
  return 0;
}

static int get_flags(json_t *list, unsigned *out, struct hull_error *e) {
  char w[64], buf[80];
  *out = 0;
  if (!list)
    return 0;
  if (!json_is_array(list))
    return bad(e, EINVAL, ".flags", "must be an array of strings");
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) {
    snprintf(w, sizeof w, ".flags[%zu]", i);
    if (!json_is_string(v))
      return bad(e, EINVAL, w, "must be a string");
    const char *s = json_string_value(v);
    size_t k = 0;
    while (k < N_OF(flags) && strcmp(s, flags[k].name))
      k++;
    if (k == N_OF(flags))
      return bad(e, EINVAL, w, "unknown flag \"%s\"", shown(s, buf, sizeof buf));
    /* WAIT_KILLABLE_RECV is only accepted with NEW_LISTENER. */
    unsigned probe = flags[k].flag;
    if (probe == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
      probe |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    if (!kernel_takes_flags(probe))
      return bad(e, EOPNOTSUPP, w, "%s: not supported by this kernel", s);
    *out |= flags[k].flag;
  }
  return 0;
}

static int get_listener(json_t *sec, bool notify, struct seccomp_plan *p,
                        struct hull_error *e) {
  json_t *path = member(sec, "listenerPath"), *md = member(sec, "listenerMetadata");
  if (path && !json_is_string(path))
    return bad(e, EINVAL, ".listenerPath", "must be a string");
  if (md && !json_is_string(md))
    return bad(e, EINVAL, ".listenerMetadata", "must be a string");
  if (md && !path)
    return bad(e, EINVAL, ".listenerMetadata", "must not be set without listenerPath");
  if (!notify)
    return 0; /* "If the SCMP_ACT_NOTIFY action is not used this value is ignored." */
  if (!path || !json_string_length(path))
    return bad(e, EINVAL, ".listenerPath",
               "required with SCMP_ACT_NOTIFY (the seccomp agent's socket)");
  const char *s = json_string_value(path);
  if (strlen(s) != json_string_length(path))
    return bad(e, EINVAL, ".listenerPath", "contains a NUL byte");
  if (!(p->listener_path = strdup(s)))
    return bad(e, ENOMEM, "", "out of memory");
  if (md) {
    /* Sent back verbatim as JSON: embedded NULs are kept by jansson. */
    size_t n = json_string_length(md);
    if (!(p->listener_metadata = malloc(n + 1)))
      return bad(e, ENOMEM, "", "out of memory");
    memcpy(p->listener_metadata, json_string_value(md), n + 1);
    p->listener_metadata_len = n;
  }
  return 0;
}

/* The filter as BPF, for seccomp(2) in the container process. */
static int compile(scmp_filter_ctx ctx, struct seccomp_plan *p, struct hull_error *e) {
  _cleanup_close_ int fd = memfd_create("hull-seccomp", MFD_CLOEXEC);
  if (fd < 0)
    return hull_errno(e, errno, "config.json: linux.seccomp: compile the filter");
  int r = seccomp_export_bpf(ctx, fd);
  if (r < 0)
    return bad(e, -r == ENOMEM ? ENOMEM : EINVAL, "", "compile the filter: %s",
               strerror(-r));
  struct stat st;
  if (fstat(fd, &st) < 0)
    return hull_errno(e, errno, "config.json: linux.seccomp: compile the filter");
  size_t size = (size_t)st.st_size, n = size / sizeof(struct sock_filter);
  if (!n || size % sizeof(struct sock_filter))
    return bad(e, EINVAL, "", "compile the filter: libseccomp made %zu bytes", size);
  if (n > BPF_MAXINSNS)
    return bad(e, E2BIG, "",
               "the filter needs %zu BPF instructions, more than the kernel's %d",
               n, BPF_MAXINSNS);
  struct sock_filter *insns = malloc(size);
  if (!insns)
    return bad(e, ENOMEM, "", "out of memory");
  size_t got = 0;
  while (got < size) {
    ssize_t k = pread(fd, (char *)insns + got, size - got, (off_t)got);
    if (k <= 0) {
      int err = k < 0 ? errno : EIO;
      free(insns);
      return hull_errno(e, err, "config.json: linux.seccomp: compile the filter");
    }
    got += (size_t)k;
  }
  p->prog.len = (unsigned short)n;
  p->prog.filter = insns;
  return 0;
}

int seccomp_prepare(json_t *sec, struct seccomp_plan **out, struct hull_error *e) {
  *out = NULL;
  if (!sec || json_is_null(sec))
    return 0;
  if (!json_is_object(sec))
    return bad(e, EINVAL, "", "must be an object");
  struct seccomp_plan *p = calloc(1, sizeof *p);
  if (!p)
    return bad(e, ENOMEM, "", "out of memory");
  scmp_filter_ctx ctx = NULL;
  int r;

  const struct action_name *da;
  uint32_t def_action;
  if ((r = get_action(member(sec, "defaultAction"), ".defaultAction", &da, e)) < 0 ||
      (r = get_errno_ret(member(sec, "defaultErrnoRet"), da, ".defaultErrnoRet",
                         &def_action, e)) < 0)
    goto fail;
  if (def_action == SCMP_ACT_NOTIFY) {
    r = bad(e, EINVAL, ".defaultAction",
            "SCMP_ACT_NOTIFY cannot be the default action (the runtime must be "
            "able to hand the listener descriptor over)");
    goto fail;
  }
  unsigned fl;
  if ((r = get_flags(member(sec, "flags"), &fl, e)) < 0)
    goto fail;

  if (!(ctx = seccomp_init(def_action))) {
    r = bad(e, EINVAL, ".defaultAction", "%s: refused by libseccomp", da->name);
    goto fail;
  }
  /* Loading is ours (seccomp_apply): libseccomp's attributes that matter
   * at load time (no_new_privs, TSYNC, LOG, SSB) are not used. */
  json_t *list = member(sec, "syscalls");
  json_t *al = member(sec, "architectures");
  if (al && (r = add_archs(ctx, al, e)) < 0)
    goto fail;
  bool notify = false;
  unsigned n_rules = 0;
  if (list && (r = add_syscalls(ctx, list, def_action, &notify, &n_rules, e)) < 0)
    goto fail;
  /* A binary tree instead of a list makes long profiles (Docker's: ~350
   * syscalls) cheaper per system call. As runc: past 32 syscalls (and
   * never with none: libseccomp <= 2.5.4 gets that wrong). */
  if (n_rules > 32)
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  if ((r = get_listener(sec, notify, p, e)) < 0)
    goto fail;

  if (!notify)
    fl &= ~(unsigned)SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
  if (notify) {
    fl |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    if (fl & SECCOMP_FILTER_FLAG_TSYNC)
      fl |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  }
  if (fl && !kernel_takes_flags(fl)) {
    r = bad(e, EOPNOTSUPP, ".flags",
            "this combination of flags%s is not supported by this kernel",
            notify ? " with SCMP_ACT_NOTIFY" : "");
    goto fail;
  }
  p->flags = fl;
  p->notify = notify;
  if ((r = compile(ctx, p, e)) < 0)
    goto fail;
  seccomp_release(ctx);
  *out = p;
  return 0;

fail:
  if (ctx)
    seccomp_release(ctx);
  seccomp_plan_free(p);
  return r;
}

bool seccomp_plan_notifies(const struct seccomp_plan *p) { return p && p->notify; }

int seccomp_apply(const struct seccomp_plan *p, int *notify_fd, struct hull_error *e) {
  *notify_fd = -1;
  if (!p)
    return 0;
  long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->flags, &p->prog);
  if (r < 0) {
    if (errno == EACCES)
      return hull_err(e, EACCES,
                      "linux.seccomp: load the filter: permission denied (needs "
                      "process.noNewPrivileges or CAP_SYS_ADMIN)");
    return hull_errno(e, errno, "linux.seccomp: load the filter");
  }
  if (p->notify)
    *notify_fd = (int)r;
  return 0;
}

/* Connect to PATH; one longer than sun_path is reached through its
 * directory (/proc/self/fd/N/NAME). */
static int connect_unix(const char *path, struct hull_error *e) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  _cleanup_close_ int dirfd = -1;
  if (strlen(path) < sizeof addr.sun_path) {
    strcpy(addr.sun_path, path);
  } else {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path)) : NULL;
    if (slash && !dir)
      return hull_errno(e, ENOMEM, "linux.seccomp.listenerPath %s", path);
    dirfd = open(dir && *dir ? dir : slash ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (dirfd < 0)
      return hull_errno(e, errno, "linux.seccomp.listenerPath %s", path);
    int n = snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dirfd,
                     slash ? slash + 1 : path);
    if (n < 0 || (size_t)n >= sizeof addr.sun_path)
      return hull_err(e, ENAMETOOLONG, "linux.seccomp.listenerPath %s: name too long",
                      path);
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return hull_errno(e, errno, "linux.seccomp.listenerPath %s", path);
  /* A listener that never accepts or reads must not hang the runtime. */
  struct timeval tv = {.tv_sec = LISTENER_TIMEOUT_SECS};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int r;
  do
    r = connect(fd, (struct sockaddr *)&addr, sizeof addr);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    int err = errno;
    close(fd);
    return hull_errno(e, err, "linux.seccomp.listenerPath %s: connect to the seccomp agent",
                      path);
  }
  return fd;
}

int seccomp_send_notify_fd(const struct seccomp_plan *p, int notify_fd, json_t *state,
                           pid_t pid, struct hull_error *e) {
  if (!p || !p->notify)
    return 0;
  json_t *msg = json_object();
  json_object_set_new(msg, "ociVersion", json_string(HULL_OCI_VERSION));
  json_object_set_new(msg, "fds", json_pack("[s]", "seccompFd"));
  json_object_set_new(msg, "pid", json_integer(pid));
  if (p->listener_metadata)
    json_object_set_new(msg, "metadata", json_stringn(p->listener_metadata, p->listener_metadata_len));
  json_object_set_new(msg, "state", state ? json_incref(state) : json_object());
  char *text = hjson_dumps(msg); /* malloc'd (json_dumps may use an arena) */
  json_decref(msg);
  if (!text)
    return hull_errno(e, ENOMEM, "linux.seccomp.listenerPath %s", p->listener_path);

  int r = 0;
  _cleanup_close_ int sock = connect_unix(p->listener_path, e);
  if (sock < 0) {
    free(text);
    return sock;
  }
  size_t len = strlen(text), sent = 0;
  while (sent < len) {
    union {
      char buf[CMSG_SPACE(sizeof(int))];
      struct cmsghdr align;
    } ctl;
    struct iovec iov = {.iov_base = text + sent, .iov_len = len - sent};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (sent == 0) {
      /* The descriptor goes with the first part only (the spec). */
      memset(&ctl, 0, sizeof ctl);
      mh.msg_control = ctl.buf;
      mh.msg_controllen = sizeof ctl.buf;
      struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(c), &notify_fd, sizeof notify_fd);
    }
    ssize_t k = sendmsg(sock, &mh, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0) {
      r = hull_errno(e, k < 0 ? errno : EIO,
                     "linux.seccomp.listenerPath %s: send the seccomp descriptor",
                     p->listener_path);
      break;
    }
    sent += (size_t)k;
  }
  free(text);
  return r;
}

void seccomp_plan_free(struct seccomp_plan *p) {
  if (!p)
    return;
  free(p->prog.filter);
  free(p->listener_path);
  free(p->listener_metadata);
  free(p);
}

json_t *seccomp_features(void) {
  json_t *o = json_object(), *a = json_array(), *ops = json_array(),
         *ar = json_array(), *known = json_array(), *sup = json_array();
  for (size_t i = 0; i < N_OF(actions); i++)
    json_array_append_new(a, json_string(actions[i].name));
  for (size_t i = 0; i < N_OF(operators); i++)
    json_array_append_new(ops, json_string(operators[i].name));
  for (size_t i = 0; i < N_OF(archs); i++)
    if (archs[i].token)
      json_array_append_new(ar, json_string(archs[i].name));
  for (size_t i = 0; i < N_OF(flags); i++) {
    json_array_append_new(known, json_string(flags[i].name));
    unsigned f = flags[i].flag;
    if (f == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
      f |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    if (kernel_takes_flags(f))
      json_array_append_new(sup, json_string(flags[i].name));
  }
  json_object_set_new(o, "enabled", json_true());
  json_object_set_new(o, "actions", a);
  json_object_set_new(o, "operators", ops);
  json_object_set_new(o, "archs", ar);
  json_object_set_new(o, "knownFlags", known);
  json_object_set_new(o, "supportedFlags", sup);
  return o;
}
