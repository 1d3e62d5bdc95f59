/* Unit tests for linux.seccomp: validation with exact messages, every
 * action, operator, architecture and flag, and filters loaded for real in
 * forked children (errno, arguments, kill, notify with the listener
 * hand-over). JSON in this file is written with ' for " to stay readable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux/seccomp.h"
#include "spec/spec.h"

/* ---- helpers ---------------------------------------------------------- */

static json_t *jq(const char *sq) {
  char *t = strdup(sq);
  for (char *p = t; *p; p++)
    if (*p == '\'')
      *p = '"';
  json_error_t jerr;
  json_t *j = json_loads(t, 0, &jerr);
  if (!j)
    fail_msg("bad test JSON %s: %s", t, jerr.text);
  free(t);
  return j;
}

/* Prepare SQ; returns the result, plan in *out (may be NULL). */
static int prep(const char *sq, struct seccomp_plan **out, struct hull_error *e) {
  json_t *j = jq(sq);
  memset(e, 0, sizeof *e);
  int r = seccomp_prepare(j, out, e);
  json_decref(j);
  if (r < 0) {
    assert_null(*out);
    assert_int_equal(e->code, -r);
    assert_null(strchr(e->msg, '\n'));
  }
  return r;
}

static void expect_ok(const char *sq) {
  struct seccomp_plan *p = NULL;
  struct hull_error e;
  if (prep(sq, &p, &e) < 0)
    fail_msg("%s: %s", sq, e.msg);
  assert_non_null(p);
  seccomp_plan_free(p);
}

static void expect_error(const char *sq, const char *msg) {
  struct seccomp_plan *p = NULL;
  struct hull_error e;
  int r = prep(sq, &p, &e);
  if (r >= 0) {
    seccomp_plan_free(p);
    fail_msg("accepted: %s", sq);
  }
  assert_string_equal(e.msg, msg);
}

/* ---- validation ------------------------------------------------------- */

static void test_absent(void **state) {
  (void)state;
  struct seccomp_plan *p = (void *)1;
  struct hull_error e = {0};
  assert_int_equal(seccomp_prepare(NULL, &p, &e), 0);
  assert_null(p);
  json_t *n = json_null();
  assert_int_equal(seccomp_prepare(n, &p, &e), 0);
  assert_null(p);
  assert_false(seccomp_plan_notifies(NULL));
  int fd = 7;
  assert_int_equal(seccomp_apply(NULL, &fd, &e), 0);
  assert_int_equal(fd, -1);
  assert_int_equal(seccomp_send_notify_fd(NULL, 3, NULL, 1, &e), 0);
  seccomp_plan_free(NULL);
}

static void test_validation_messages(void **state) {
  (void)state;
  static const struct {
    const char *config, *msg;
  } cases[] = {
      {"{}", "config.json: linux.seccomp.defaultAction: missing"},
      {"{'defaultAction':null}", "config.json: linux.seccomp.defaultAction: missing"},
      {"{'defaultAction':1}", "config.json: linux.seccomp.defaultAction: must be a string"},
      {"{'defaultAction':'SCMP_ACT_FOO'}",
       "config.json: linux.seccomp.defaultAction: unknown action \"SCMP_ACT_FOO\""},
      {"{'defaultAction':'scmp_act_allow'}",
       "config.json: linux.seccomp.defaultAction: unknown action \"scmp_act_allow\""},
      {"{'defaultAction':'SCMP_ACT_NOTIFY','listenerPath':'/x'}",
       "config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default "
       "action (the runtime must be able to hand the listener descriptor over)"},
      {"{'defaultAction':'SCMP_ACT_KILL','defaultErrnoRet':1}",
       "config.json: linux.seccomp.defaultErrnoRet: not allowed with SCMP_ACT_KILL "
       "(only with SCMP_ACT_ERRNO and SCMP_ACT_TRACE)"},
      {"{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':-1}",
       "config.json: linux.seccomp.defaultErrnoRet: must be an integer in 0..65535"},
      {"{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':65536}",
       "config.json: linux.seccomp.defaultErrnoRet: must be an integer in 0..65535"},
      {"{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':'1'}",
       "config.json: linux.seccomp.defaultErrnoRet: must be an integer in 0..65535"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','architectures':'SCMP_ARCH_X86'}",
       "config.json: linux.seccomp.architectures: must be an array of strings"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_X86',3]}",
       "config.json: linux.seccomp.architectures[1]: must be a string"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_X86','SCMP_ARCH_VAX']}",
       "config.json: linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_VAX\""},
      {"{'defaultAction':'SCMP_ACT_ALLOW','architectures':['x86_64']}",
       "config.json: linux.seccomp.architectures[0]: unknown architecture \"x86_64\""},
      {"{'defaultAction':'SCMP_ACT_ALLOW','flags':{}}",
       "config.json: linux.seccomp.flags: must be an array of strings"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_LOG','FLAG_X']}",
       "config.json: linux.seccomp.flags[1]: unknown flag \"FLAG_X\""},
      {"{'defaultAction':'SCMP_ACT_ALLOW','flags':[true]}",
       "config.json: linux.seccomp.flags[0]: must be a string"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_NEW_LISTENER']}",
       "config.json: linux.seccomp.flags[0]: unknown flag "
       "\"SECCOMP_FILTER_FLAG_NEW_LISTENER\""},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':{}}",
       "config.json: linux.seccomp.syscalls: must be an array"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[1]}",
       "config.json: linux.seccomp.syscalls[0]: must be an object"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_LOG'},"
       "{'names':['a'],'action':'SCMP_ACT_LOG'},{'names':['b'],'action':'SCMP_ACT_LOG'},"
       "{'names':['getcwd'],'action':'SCMP_ACT_FOO'}]}",
       "config.json: linux.seccomp.syscalls[3].action: unknown action \"SCMP_ACT_FOO\""},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read']}]}",
       "config.json: linux.seccomp.syscalls[0].action: missing"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'action':'SCMP_ACT_ERRNO'}]}",
       "config.json: linux.seccomp.syscalls[0].names: must be a non-empty array of strings"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':[],'action':'SCMP_ACT_ERRNO'}]}",
       "config.json: linux.seccomp.syscalls[0].names: must be a non-empty array of strings"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':'read','action':'SCMP_ACT_ERRNO'}]}",
       "config.json: linux.seccomp.syscalls[0].names: must be a non-empty array of strings"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read',''],'action':'SCMP_ACT_ERRNO'}]}",
       "config.json: linux.seccomp.syscalls[0].names[1]: must be a non-empty string"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read',7],'action':'SCMP_ACT_ERRNO'}]}",
       "config.json: linux.seccomp.syscalls[0].names[1]: must be a non-empty string"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_LOG',"
       "'errnoRet':1}]}",
       "config.json: linux.seccomp.syscalls[0].errnoRet: not allowed with SCMP_ACT_LOG "
       "(only with SCMP_ACT_ERRNO and SCMP_ACT_TRACE)"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO',"
       "'errnoRet':70000}]}",
       "config.json: linux.seccomp.syscalls[0].errnoRet: must be an integer in 0..65535"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO',"
       "'args':{}}]}",
       "config.json: linux.seccomp.syscalls[0].args: must be an array"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO',"
       "'args':[[]]}]}",
       "config.json: linux.seccomp.syscalls[0].args[0]: must be an object"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO',"
       "'args':[{'value':1,'op':'SCMP_CMP_EQ'}]}]}",
       "config.json: linux.seccomp.syscalls[0].args[0].index: missing"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO',"
       "'args':[{'index':0,'value':1,'op':'SCMP_CMP_EQ'},{'index':6,'value':1,'op':'SCMP_CMP_EQ'}]}]}",
       "config.json: linux.seccomp.syscalls[0].args[1].index: must be an integer in 0..5 "
       "(a syscall has six arguments)"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO',"
       "'args':[{'index':-1,'value':1,'op':'SCMP_CMP_EQ'}]}]}",
       "config.json: linux.seccomp.syscalls[0].args[0].index: must be an integer in 0..5 "
       "(a syscall has six arguments)"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO',"
       "'args':[{'index':0,'op':'SCMP_CMP_EQ'}]}]}",
       "config.json: linux.seccomp.syscalls[0].args[0].value: missing"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO',"
       "'args':[{'index':0,'value':1.5,'op':'SCMP_CMP_EQ'}]}]}",
       "config.json: linux.seccomp.syscalls[0].args[0].value: must be an integer in "
       "0..18446744073709551615"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO',"
       "'args':[{'index':0,'value':1,'valueTwo':'2','op':'SCMP_CMP_MASKED_EQ'}]}]}",
       "config.json: linux.seccomp.syscalls[0].args[0].valueTwo: must be an integer in "
       "0..18446744073709551615"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO',"
       "'args':[{'index':0,'value':1}]}]}",
       "config.json: linux.seccomp.syscalls[0].args[0].op: missing"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO',"
       "'args':[{'index':0,'value':1,'op':'SCMP_CMP_FOO'}]}]}",
       "config.json: linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_FOO\""},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO',"
       "'args':[{'index':0,'value':1,'op':4}]}]}",
       "config.json: linux.seccomp.syscalls[0].args[0].op: must be a string"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getpid'],"
       "'action':'SCMP_ACT_NOTIFY'}]}",
       "config.json: linux.seccomp.listenerPath: required with SCMP_ACT_NOTIFY "
       "(the seccomp agent's socket)"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'','syscalls':[{'names':['getpid'],"
       "'action':'SCMP_ACT_NOTIFY'}]}",
       "config.json: linux.seccomp.listenerPath: required with SCMP_ACT_NOTIFY "
       "(the seccomp agent's socket)"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':5}",
       "config.json: linux.seccomp.listenerPath: must be a string"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','listenerMetadata':'m'}",
       "config.json: linux.seccomp.listenerMetadata: must not be set without listenerPath"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'/s','listenerMetadata':[]}",
       "config.json: linux.seccomp.listenerMetadata: must be a string"},
      {"{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'/s','syscalls':[{'names':"
       "['getpid','sendmsg'],'action':'SCMP_ACT_NOTIFY'}]}",
       "config.json: linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be used for "
       "sendmsg (the runtime hands the listener descriptor over with it)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    expect_error(cases[i].config, cases[i].msg);
}

static void test_not_an_object(void **state) {
  (void)state;
  struct seccomp_plan *p = NULL;
  struct hull_error e = {0};
  json_t *j = json_string("SCMP_ACT_ALLOW");
  assert_int_equal(seccomp_prepare(j, &p, &e), -EINVAL);
  assert_string_equal(e.msg, "config.json: linux.seccomp: must be an object");
  json_decref(j);
}

/* Hostile strings stay on one line and are cut short. */
static void test_message_one_line(void **state) {
  (void)state;
  expect_error("{'defaultAction':'SCMP_\\nACT'}",
               "config.json: linux.seccomp.defaultAction: unknown action \"SCMP_?ACT\"");
  char big[400];
  memset(big, 'A', sizeof big - 1);
  big[sizeof big - 1] = 0;
  char *cfg;
  assert_true(asprintf(&cfg, "{'defaultAction':'%s'}", big) > 0);
  struct seccomp_plan *p = NULL;
  struct hull_error e;
  assert_true(prep(cfg, &p, &e) < 0);
  assert_true(strlen(e.msg) < 200);
  assert_non_null(strstr(e.msg, "AAA...\""));
  free(cfg);
}

/* ---- accepted profiles ------------------------------------------------ */

static void test_unknown_syscall_skipped(void **state) {
  (void)state;
  expect_ok("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':"
            "['no_such_syscall_xyz','getpid','another_fake'],'action':'SCMP_ACT_ERRNO'}]}");
  /* names that exist only on other architectures */
  expect_ok("{'defaultAction':'SCMP_ACT_ERRNO','syscalls':[{'names':"
            "['socketcall','_llseek','arm_fadvise64_64','ipc','read'],"
            "'action':'SCMP_ACT_ALLOW'}]}");
  /* only unknown names: a valid, empty filter */
  expect_ok("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['nope'],"
            "'action':'SCMP_ACT_KILL'}]}");
}

static void test_every_action(void **state) {
  (void)state;
  static const char *const acts[] = {
      "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
      "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG"};
  for (size_t i = 0; i < sizeof acts / sizeof *acts; i++) {
    char cfg[400];
    /* as the default action */
    snprintf(cfg, sizeof cfg, "{'defaultAction':'%s'}", acts[i]);
    expect_ok(cfg);
    /* in a rule, against both an ALLOW and an ERRNO default */
    snprintf(cfg, sizeof cfg,
             "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getpid'],'action':'%s'}]}",
             acts[i]);
    expect_ok(cfg);
    snprintf(cfg, sizeof cfg,
             "{'defaultAction':'SCMP_ACT_ERRNO','syscalls':[{'names':['getpid'],'action':'%s'}]}",
             acts[i]);
    expect_ok(cfg);
  }
  /* errnoRet with the actions that take one, defaultErrnoRet too */
  expect_ok("{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':38,'syscalls':["
            "{'names':['getpid'],'action':'SCMP_ACT_ERRNO','errnoRet':0},"
            "{'names':['getppid'],'action':'SCMP_ACT_TRACE','errnoRet':65535}]}");
  expect_ok("{'defaultAction':'SCMP_ACT_TRACE','defaultErrnoRet':1}");
  /* a rule that equals the default is redundant, not an error */
  expect_ok("{'defaultAction':'SCMP_ACT_ERRNO','syscalls':[{'names':['getpid'],"
            "'action':'SCMP_ACT_ERRNO','errnoRet':1}]}");
  /* NOTIFY, with its listener */
  struct seccomp_plan *p = NULL;
  struct hull_error e;
  if (prep("{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'/run/agent.sock',"
           "'listenerMetadata':'m','syscalls':[{'names':['getpid'],'action':'SCMP_ACT_NOTIFY'}]}",
           &p, &e) < 0)
    fail_msg("%s", e.msg);
  assert_true(seccomp_plan_notifies(p));
  seccomp_plan_free(p);
  /* listenerPath without NOTIFY is ignored */
  assert_int_equal(prep("{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'/x',"
                        "'listenerMetadata':'m'}", &p, &e), 0);
  assert_false(seccomp_plan_notifies(p));
  seccomp_plan_free(p);
}

static void test_operators(void **state) {
  (void)state;
  static const char *const ops[] = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",
                                    "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
                                    "SCMP_CMP_MASKED_EQ"};
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
    char cfg[400];
    snprintf(cfg, sizeof cfg,
             "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['personality'],"
             "'action':'SCMP_ACT_ERRNO','args':[{'index':0,'value':8,'valueTwo':8,"
             "'op':'%s'}]}]}",
             ops[i]);
    expect_ok(cfg);
  }
  /* conditions on several arguments (ANDed) and twice on one (split) */
  expect_ok("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['clone'],"
            "'action':'SCMP_ACT_ERRNO','args':[{'index':0,'value':2114060288,"
            "'op':'SCMP_CMP_MASKED_EQ','valueTwo':0},{'index':5,'value':0,'op':'SCMP_CMP_EQ'}]}]}");
  expect_ok("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['personality'],"
            "'action':'SCMP_ACT_ERRNO','args':[{'index':0,'value':0,'op':'SCMP_CMP_EQ'},"
            "{'index':0,'value':8,'op':'SCMP_CMP_EQ'},{'index':0,'value':131072,"
            "'op':'SCMP_CMP_EQ'}]}]}");
  /* all six arguments */
  expect_ok("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['mmap'],"
            "'action':'SCMP_ACT_ERRNO','args':[{'index':0,'value':0,'op':'SCMP_CMP_EQ'},"
            "{'index':1,'value':1,'op':'SCMP_CMP_GE'},{'index':2,'value':2,'op':'SCMP_CMP_NE'},"
            "{'index':3,'value':3,'op':'SCMP_CMP_LT'},{'index':4,'value':4,'op':'SCMP_CMP_LE'},"
            "{'index':5,'value':5,'op':'SCMP_CMP_GT'}]}]}");
}

/* uint64 values above INT64_MAX arrive wrapped from the config parser. */
static void test_big_values(void **state) {
  (void)state;
  const char *cfg =
      "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"/r\"},"
      "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
      "\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{"
      "\"names\":[\"ioctl\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":1,"
      "\"value\":18446744073709551615,\"valueTwo\":9223372036854775808,"
      "\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}}}";
  struct spec s;
  struct hull_error e = {0};
  if (spec_parse(cfg, strlen(cfg), "/b", &s, &e) < 0)
    fail_msg("%s", e.msg);
  struct seccomp_plan *p = NULL;
  if (seccomp_prepare(s.linux.seccomp, &p, &e) < 0)
    fail_msg("%s", e.msg);
  assert_non_null(p);
  seccomp_plan_free(p);
  spec_free(&s);
}

static void test_architectures(void **state) {
  (void)state;
  static const char *const names[] = {
      "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",      "SCMP_ARCH_ARM",
      "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",   "SCMP_ARCH_MIPS64N32",
      "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
      "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",     "SCMP_ARCH_S390X",
      "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
      "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    char cfg[300];
    snprintf(cfg, sizeof cfg,
             "{'defaultAction':'SCMP_ACT_ALLOW','architectures':['%s'],"
             "'syscalls':[{'names':['getpid'],'action':'SCMP_ACT_ERRNO'}]}",
             names[i]);
    expect_ok(cfg);
  }
  /* Docker's list for amd64, the native one included */
  expect_ok("{'defaultAction':'SCMP_ACT_ERRNO','architectures':['SCMP_ARCH_X86_64',"
            "'SCMP_ARCH_X86','SCMP_ARCH_X32'],'syscalls':[{'names':['read','write'],"
            "'action':'SCMP_ACT_ALLOW'}]}");
}

static bool kernel_takes(unsigned f) {
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f, NULL) < 0 && errno == EFAULT;
}

static void test_flags(void **state) {
  (void)state;
  static const struct {
    const char *name;
    unsigned flag;
  } fl[] = {{"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
            {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
            {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
            {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
             (1U << 5) | SECCOMP_FILTER_FLAG_NEW_LISTENER}};
  for (size_t i = 0; i < sizeof fl / sizeof *fl; i++) {
    char cfg[300];
    snprintf(cfg, sizeof cfg, "{'defaultAction':'SCMP_ACT_ALLOW','flags':['%s']}",
             fl[i].name);
    if (kernel_takes(fl[i].flag)) {
      expect_ok(cfg);
    } else {
      char msg[200];
      snprintf(msg, sizeof msg,
               "config.json: linux.seccomp.flags[0]: %s: not supported by this kernel",
               fl[i].name);
      expect_error(cfg, msg);
    }
  }
  /* every flag at once, with a listener (TSYNC then needs TSYNC_ESRCH) */
  if (kernel_takes(SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG |
                   SECCOMP_FILTER_FLAG_SPEC_ALLOW | SECCOMP_FILTER_FLAG_NEW_LISTENER |
                   (1U << 4) | (1U << 5)))
    expect_ok("{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'/s','flags':["
              "'SECCOMP_FILTER_FLAG_TSYNC','SECCOMP_FILTER_FLAG_LOG',"
              "'SECCOMP_FILTER_FLAG_SPEC_ALLOW','SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],"
              "'syscalls':[{'names':['getpid'],'action':'SCMP_ACT_NOTIFY'}]}");
}

static void test_features(void **state) {
  (void)state;
  json_t *f = seccomp_features();
  assert_true(json_is_true(json_object_get(f, "enabled")));
  assert_int_equal(json_array_size(json_object_get(f, "actions")), 9);
  assert_int_equal(json_array_size(json_object_get(f, "operators")), 7);
  assert_true(json_array_size(json_object_get(f, "archs")) >= 19);
  assert_int_equal(json_array_size(json_object_get(f, "knownFlags")), 4);
  assert_true(json_is_array(json_object_get(f, "supportedFlags")));
  json_decref(f);
}

/* ---- loaded for real -------------------------------------------------- */

/* A forked child must not return into cmocka, whose signal handlers it
 * inherits (SIGSYS from SCMP_ACT_TRAP would resume the test suite). */
static pid_t fork_child(void) {
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    for (int s = 1; s < NSIG; s++)
      signal(s, SIG_DFL);
  return pid;
}

/* Run FN in a child with no_new_privs; returns its wait status. */
static int in_child(int (*fn)(void *), void *arg) {
  pid_t pid = fork_child();
  if (pid == 0) {
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    _exit(fn(arg));
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  return st;
}

static struct seccomp_plan *plan_of(const char *sq) {
  struct seccomp_plan *p = NULL;
  struct hull_error e;
  if (prep(sq, &p, &e) < 0)
    fail_msg("%s", e.msg);
  return p;
}

/* exit codes of the children: 0 ok, else the failed check's number */
static int child_errno(void *arg) {
  struct hull_error e = {0};
  int fd;
  if (seccomp_apply(arg, &fd, &e) < 0 || fd != -1)
    return 10;
  struct utsname u;
  errno = 0;
  if (uname(&u) != -1 || errno != 42)
    return 11;
  if (getpid() <= 0) /* not filtered */
    return 12;
  /* arguments: getpriority(7 | 0x100) matches "arg0 & 0xff == 7" */
  errno = 0;
  if (getpriority(0x107, 0) != -1 || errno != 55)
    return 13;
  errno = 0;
  if (getpriority(PRIO_PROCESS, 0) == -1 && errno == 55)
    return 14;
  /* two conditions on one argument: either matches */
  errno = 0;
  if (syscall(SYS_getpriority, 20, 0) != -1 || errno != 56)
    return 15;
  errno = 0;
  if (syscall(SYS_getpriority, 21, 0) != -1 || errno != 56)
    return 16;
  return 0;
}

static void test_apply_errno(void **state) {
  (void)state;
  struct seccomp_plan *p = plan_of(
      "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':["
      "{'names':['uname','no_such_call'],'action':'SCMP_ACT_ERRNO','errnoRet':42},"
      "{'names':['getpriority'],'action':'SCMP_ACT_ERRNO','errnoRet':55,"
      " 'args':[{'index':0,'value':255,'valueTwo':7,'op':'SCMP_CMP_MASKED_EQ'}]},"
      "{'names':['getpriority'],'action':'SCMP_ACT_ERRNO','errnoRet':56,"
      " 'args':[{'index':0,'value':20,'op':'SCMP_CMP_EQ'},{'index':0,'value':21,'op':'SCMP_CMP_EQ'}]}]}");
  int st = in_child(child_errno, p);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  seccomp_plan_free(p);
}

static int child_kill(void *arg) {
  struct hull_error e = {0};
  int fd;
  if (seccomp_apply(arg, &fd, &e) < 0)
    return 10;
  struct utsname u;
  uname(&u);
  return 0; /* survived */
}

static void test_apply_kill(void **state) {
  (void)state;
  static const char *const acts[] = {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                                     "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP"};
  for (size_t i = 0; i < sizeof acts / sizeof *acts; i++) {
    char cfg[300];
    snprintf(cfg, sizeof cfg,
             "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['uname'],'action':'%s'}]}",
             acts[i]);
    struct seccomp_plan *p = plan_of(cfg);
    int st = in_child(child_kill, p);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
      fail_msg("%s: status %#x, expected death by SIGSYS", acts[i], st);
    seccomp_plan_free(p);
  }
}

/* Loading needs no_new_privs or CAP_SYS_ADMIN: a clear message without. */
static int child_no_privs(void *arg) {
  struct hull_error e = {0};
  int fd;
  if (setresuid(65534, 65534, 65534) < 0)
    return 10;
  int r = seccomp_apply(arg, &fd, &e);
  if (r != -EACCES)
    return 11;
  if (strcmp(e.msg, "linux.seccomp: load the filter: permission denied (needs "
                    "process.noNewPrivileges or CAP_SYS_ADMIN)"))
    return 12;
  return 0;
}

static void test_apply_needs_privilege(void **state) {
  (void)state;
  if (geteuid() != 0)
    skip();
  struct seccomp_plan *p = plan_of("{'defaultAction':'SCMP_ACT_ALLOW'}");
  pid_t pid = fork_child();
  if (pid == 0)
    _exit(child_no_privs(p)); /* no PR_SET_NO_NEW_PRIVS here */
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  seccomp_plan_free(p);
}

/* NOTIFY: the child loads the filter and hands the listener to the agent
 * (this test) with seccomp_send_notify_fd, then calls getppid, which the
 * agent answers with 4242. */
struct notify_args {
  struct seccomp_plan *plan;
};

static int child_notify(void *arg) {
  struct notify_args *a = arg;
  struct hull_error e = {0};
  int fd;
  if (seccomp_apply(a->plan, &fd, &e) < 0 || fd < 0)
    return 10;
  json_t *st = json_pack("{s:s, s:s, s:s, s:i, s:s, s:{}}", "ociVersion", "1.2.0", "id",
                         "c1", "status", "creating", "pid", (int)getpid(), "bundle", "/b",
                         "annotations");
  int r = seccomp_send_notify_fd(a->plan, fd, st, getpid(), &e);
  json_decref(st);
  close(fd);
  if (r < 0)
    return 11;
  if (syscall(SYS_getppid) != 4242)
    return 12;
  return 0;
}

static void test_notify(void **state) {
  (void)state;
  char dir[] = "/tmp/hull-seccomp-test.XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[200];
  snprintf(path, sizeof path, "%s/agent.sock", dir);
  int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strcpy(addr.sun_path, path);
  assert_int_equal(bind(ls, (struct sockaddr *)&addr, sizeof addr), 0);
  assert_int_equal(listen(ls, 1), 0);

  char cfg[600];
  snprintf(cfg, sizeof cfg,
           "{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'%s',"
           "'listenerMetadata':'MKNOD=/dev/null','syscalls':[{'names':['getppid'],"
           "'action':'SCMP_ACT_NOTIFY'}]}",
           path);
  struct notify_args a = {.plan = plan_of(cfg)};
  pid_t pid = fork_child();
  if (pid == 0) {
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    _exit(child_notify(&a));
  }
  int conn = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
  assert_true(conn >= 0);
  char buf[4096];
  size_t got = 0;
  int nfd = -1;
  for (;;) {
    union {
      char b[CMSG_SPACE(sizeof(int))];
      struct cmsghdr align;
    } ctl;
    struct iovec iov = {.iov_base = buf + got, .iov_len = sizeof buf - 1 - got};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
                        .msg_controllen = sizeof ctl.b};
    ssize_t k = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
    assert_true(k >= 0);
    if (k == 0)
      break; /* the runtime closes after one state */
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    if (c && c->cmsg_type == SCM_RIGHTS) {
      assert_int_equal(got, 0); /* the descriptor comes with the first part */
      memcpy(&nfd, CMSG_DATA(c), sizeof nfd);
    }
    got += (size_t)k;
  }
  buf[got] = 0;
  close(conn);
  assert_true(nfd >= 0);

  json_error_t jerr;
  json_t *msg = json_loads(buf, 0, &jerr);
  if (!msg)
    fail_msg("bad payload %s: %s", buf, jerr.text);
  assert_string_equal(json_string_value(json_object_get(msg, "ociVersion")), "1.2.0");
  json_t *fds = json_object_get(msg, "fds");
  assert_int_equal(json_array_size(fds), 1);
  assert_string_equal(json_string_value(json_array_get(fds, 0)), "seccompFd");
  assert_int_equal(json_integer_value(json_object_get(msg, "pid")), pid);
  assert_string_equal(json_string_value(json_object_get(msg, "metadata")), "MKNOD=/dev/null");
  json_t *st = json_object_get(msg, "state");
  assert_string_equal(json_string_value(json_object_get(st, "id")), "c1");
  assert_string_equal(json_string_value(json_object_get(st, "status")), "creating");
  json_decref(msg);

  /* answer the notification */
  struct seccomp_notif req;
  memset(&req, 0, sizeof req);
  assert_int_equal(ioctl(nfd, SECCOMP_IOCTL_NOTIF_RECV, &req), 0);
  assert_int_equal(req.pid, pid);
  assert_int_equal(req.data.nr, SYS_getppid);
  struct seccomp_notif_resp resp = {.id = req.id, .val = 4242};
  assert_int_equal(ioctl(nfd, SECCOMP_IOCTL_NOTIF_SEND, &resp), 0);
  close(nfd);

  int wst;
  assert_int_equal(waitpid(pid, &wst, 0), pid);
  assert_true(WIFEXITED(wst));
  assert_int_equal(WEXITSTATUS(wst), 0);
  seccomp_plan_free(a.plan);
  close(ls);
  unlink(path);
  rmdir(dir);
}

/* A listener that is not there: a clear error naming the path. */
static void test_notify_no_listener(void **state) {
  (void)state;
  struct seccomp_plan *p =
      plan_of("{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'/nonexistent/agent.sock',"
              "'syscalls':[{'names':['getppid'],'action':'SCMP_ACT_NOTIFY'}]}");
  struct hull_error e = {0};
  int r = seccomp_send_notify_fd(p, 0, NULL, 1, &e);
  assert_int_equal(r, -ENOENT);
  assert_string_equal(e.msg, "linux.seccomp.listenerPath /nonexistent/agent.sock: connect "
                             "to the seccomp agent: No such file or directory");
  seccomp_plan_free(p);
}

/* A path longer than sun_path is reached through its directory. */
static void test_notify_long_path(void **state) {
  (void)state;
  char dir[300] = "/tmp/hull-seccomp-test.XXXXXX";
  assert_non_null(mkdtemp(dir));
  char base[300];
  snprintf(base, sizeof base, "%s", dir);
  for (int i = 0; i < 3; i++) {
    strcat(dir, "/0123456789012345678901234567890123456789");
    assert_int_equal(mkdir(dir, 0700), 0);
  }
  char path[400];
  snprintf(path, sizeof path, "%s/agent.sock", dir);
  assert_true(strlen(path) > 108);
  /* bind through the directory too */
  int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/agent.sock", dfd);
  int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_int_equal(bind(ls, (struct sockaddr *)&addr, sizeof addr), 0);
  assert_int_equal(listen(ls, 1), 0);
  char cfg[700];
  snprintf(cfg, sizeof cfg,
           "{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'%s','syscalls':[{'names':"
           "['getppid'],'action':'SCMP_ACT_NOTIFY'}]}",
           path);
  struct seccomp_plan *p = plan_of(cfg);
  struct hull_error e = {0};
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (seccomp_send_notify_fd(p, devnull, NULL, 1, &e) < 0)
    fail_msg("%s", e.msg);
  int conn = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
  assert_true(conn >= 0);
  char buf[2048];
  ssize_t k = recv(conn, buf, sizeof buf - 1, 0);
  assert_true(k > 0);
  buf[k] = 0;
  assert_non_null(strstr(buf, "\"seccompFd\""));
  assert_null(strstr(buf, "metadata"));
  close(conn);
  close(ls);
  close(dfd);
  close(devnull);
  seccomp_plan_free(p);
  unlinkat(AT_FDCWD, path, 0);
  for (int i = 0; i < 3; i++) {
    rmdir(dir);
    *strrchr(dir, '/') = 0;
  }
  rmdir(base);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_absent),
      cmocka_unit_test(test_validation_messages),
      cmocka_unit_test(test_not_an_object),
      cmocka_unit_test(test_message_one_line),
      cmocka_unit_test(test_unknown_syscall_skipped),
      cmocka_unit_test(test_every_action),
      cmocka_unit_test(test_operators),
      cmocka_unit_test(test_big_values),
      cmocka_unit_test(test_architectures),
      cmocka_unit_test(test_flags),
      cmocka_unit_test(test_features),
      cmocka_unit_test(test_apply_errno),
      cmocka_unit_test(test_apply_kill),
      cmocka_unit_test(test_apply_needs_privilege),
      cmocka_unit_test(test_notify),
      cmocka_unit_test(test_notify_no_listener),
      cmocka_unit_test(test_notify_long_path),
  };
  return cmocka_run_group_tests_name("seccomp", tests, NULL, NULL);
}
