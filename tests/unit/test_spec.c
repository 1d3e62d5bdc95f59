/* Unit tests for the config.json parser, the name tables and the default
 * spec. JSON in this file is written with ' for " to stay readable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spec/spec.h"

/* ---- helpers ---------------------------------------------------------- */

static char *dq(const char *s) {
  char *t = strdup(s);
  for (char *p = t; *p; p++)
    if (*p == '\'')
      *p = '"';
  return t;
}

static int parse_q(const char *sq, const char *bundle, struct spec *s,
                   struct hull_error *e) {
  char *t = dq(sq);
  int r = spec_parse(t, strlen(t), bundle, s, e);
  free(t);
  return r;
}

static bool all_zero(const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i])
      return false;
  return true;
}

/* RFC 7386 merge patch: objects merge, null deletes, the rest replaces. */
static void merge(json_t *dst, json_t *patch) {
  const char *k;
  json_t *v;
  json_object_foreach(patch, k, v) {
    json_t *d = json_object_get(dst, k);
    if (json_is_null(v))
      json_object_del(dst, k);
    else if (json_is_object(v) && json_is_object(d))
      merge(d, v);
    else
      json_object_set(dst, k, v);
  }
}

static const char *base_config =
    "{'ociVersion':'1.2.0','root':{'path':'rootfs'},"
    " 'process':{'args':['sh'],'cwd':'/','env':['PATH=/bin'],"
    "   'user':{'uid':0,'gid':0},'capabilities':{'bounding':['CAP_KILL']},"
    "   'rlimits':[{'type':'RLIMIT_NOFILE','soft':1024,'hard':1024}]},"
    " 'mounts':[{'destination':'/proc','type':'proc','source':'proc'}],"
    " 'hooks':{'prestart':[{'path':'/bin/true'}]},"
    " 'linux':{'namespaces':[{'type':'pid'},{'type':'mount'},"
    "   {'type':'network'}],"
    "   'uidMappings':[{'containerID':0,'hostID':1000,'size':1}]}}";

/* Parse base_config with PATCH merged in. */
static int parse_patched(const char *patch, struct spec *s,
                         struct hull_error *e) {
  char *b = dq(base_config), *p = dq(patch);
  json_error_t jerr;
  json_t *doc = json_loads(b, 0, &jerr), *pj = json_loads(p, 0, &jerr);
  assert_non_null(doc);
  if (!pj)
    fail_msg("bad patch %s: %s", patch, jerr.text);
  merge(doc, pj);
  char *text = json_dumps(doc, 0);
  int r = spec_parse(text, strlen(text), "/bundle", s, e);
  free(text);
  json_decref(doc);
  json_decref(pj);
  free(b);
  free(p);
  return r;
}

/* ---- a full, valid config --------------------------------------------- */

static const char *full_config =
    "{'ociVersion':'1.0.2-dev',"
    " 'root':{'path':'rootfs','readonly':true},"
    " 'hostname':'box','domainname':'example.org',"
    " 'process':{'terminal':true,'consoleSize':{'height':25,'width':80},"
    "   'user':{'uid':1000,'gid':100,'umask':18,'additionalGids':[5,6]},"
    "   'args':['sh','-c','echo hi'],"
    "   'env':['PATH=/usr/bin:/bin','TERM=xterm','EMPTY='],"
    "   'cwd':'/home',"
    "   'capabilities':{"
    "     'bounding':['CAP_CHOWN','CAP_KILL','CAP_CHECKPOINT_RESTORE'],"
    "     'effective':['CAP_KILL'],'inheritable':[],"
    "     'permitted':['CAP_KILL','CAP_SYS_ADMIN'],'ambient':['CAP_BPF']},"
    "   'rlimits':[{'type':'RLIMIT_NOFILE','hard':4096,'soft':1024},"
    "     {'type':'RLIMIT_CORE','hard':0,'soft':0}],"
    "   'noNewPrivileges':true,'oomScoreAdj':-500,"
    "   'apparmorProfile':'docker-default','selinuxLabel':'system_u:r:t',"
    "   'scheduler':{'policy':'SCHED_OTHER','nice':5},"
    "   'ioPriority':{'class':'IOPRIO_CLASS_BE','priority':4},"
    "   'execCPUAffinity':{'initial':'0','final':'0-3'}},"
    " 'mounts':["
    "   {'destination':'/proc','type':'proc','source':'proc'},"
    "   {'destination':'/dev','type':'tmpfs','source':'tmpfs',"
    "    'options':['nosuid','strictatime','mode=755','size=65536k']},"
    "   {'destination':'/data','type':'bind','source':'vol',"
    "    'options':['rbind','ro','rprivate'],"
    "    'uidMappings':[{'containerID':0,'hostID':100000,'size':65536}],"
    "    'gidMappings':[{'containerID':0,'hostID':100000,'size':65536}]}],"
    " 'hooks':{"
    "   'prestart':[{'path':'/bin/pre','args':['pre','1'],'env':['A=1'],"
    "     'timeout':5}],"
    "   'createRuntime':[{'path':'/bin/cr'}],"
    "   'createContainer':[{'path':'/bin/cc'}],"
    "   'startContainer':[{'path':'/bin/sc'}],"
    "   'poststart':[{'path':'/bin/ps1'},{'path':'/bin/ps2'}],"
    "   'poststop':[{'path':'/bin/stop','timeout':1}]},"
    " 'annotations':{'org.hull.isolation':'vm','x':''},"
    " 'linux':{"
    "   'namespaces':[{'type':'pid'},{'type':'network',"
    "     'path':'/var/run/netns/n1'},{'type':'mount'},{'type':'ipc'},"
    "     {'type':'uts'},{'type':'user'},{'type':'cgroup'},{'type':'time'}],"
    "   'uidMappings':[{'containerID':0,'hostID':1000,'size':1},"
    "     {'containerID':1,'hostID':100000,'size':65536}],"
    "   'gidMappings':[{'containerID':0,'hostID':1000,'size':1}],"
    "   'timeOffsets':{'monotonic':{'secs':-10,'nanosecs':5},"
    "     'boottime':{'secs':86400}},"
    "   'devices':[{'path':'/dev/fuse','type':'c','major':10,'minor':229,"
    "     'fileMode':8630,'uid':0,'gid':0},"
    "     {'path':'/dev/fifo','type':'p'}],"
    "   'cgroupsPath':'/hull/box',"
    "   'sysctl':{'net.ipv4.ip_forward':'1','kernel.shmmax':'1024'},"
    "   'maskedPaths':['/proc/kcore','/sys/firmware'],"
    "   'readonlyPaths':['/proc/sys'],"
    "   'rootfsPropagation':'rslave','mountLabel':'system_u:object_r:l',"
    "   'resources':{'memory':{'limit':1048576}},"
    "   'seccomp':{'defaultAction':'SCMP_ACT_ALLOW'},"
    "   'personality':{'domain':'LINUX'},"
    "   'intelRdt':{'closID':'c1'},"
    "   'netDevices':{'eth1':{'name':'eth9'}}},"
    " 'vm':{'kernel':{'path':'/boot/vmlinuz'}}}";

static void test_full_config(void **state) {
  (void)state;
  struct spec s;
  struct hull_error e = {0};
  int r = parse_q(full_config, "/b", &s, &e);
  if (r < 0)
    fail_msg("%s", e.msg);
  assert_string_equal(s.oci_version, "1.0.2-dev");
  assert_string_equal(s.root_path, "/b/rootfs");
  assert_true(s.root_readonly);
  assert_string_equal(s.hostname, "box");
  assert_string_equal(s.domainname, "example.org");

  assert_true(s.has_process);
  struct spec_process *p = &s.process;
  assert_true(p->terminal);
  assert_int_equal(p->console_height, 25);
  assert_int_equal(p->console_width, 80);
  assert_int_equal(p->user.uid, 1000);
  assert_int_equal(p->user.gid, 100);
  assert_true(p->user.has_umask);
  assert_int_equal(p->user.umask, 022);
  assert_int_equal(p->user.n_additional_gids, 2);
  assert_int_equal(p->user.additional_gids[1], 6);
  assert_int_equal(p->n_args, 3);
  assert_string_equal(p->args[2], "echo hi");
  assert_null(p->args[3]);
  assert_int_equal(p->n_env, 3);
  assert_string_equal(p->env[2], "EMPTY=");
  assert_null(p->env[3]);
  assert_string_equal(p->cwd, "/home");
  assert_true(p->caps.present);
  assert_int_equal(p->caps.bounding, (1ULL << CAP_CHOWN) | (1ULL << CAP_KILL) |
                                         (1ULL << CAP_CHECKPOINT_RESTORE));
  assert_int_equal(p->caps.effective, 1ULL << CAP_KILL);
  assert_int_equal(p->caps.inheritable, 0);
  assert_int_equal(p->caps.permitted,
                   (1ULL << CAP_KILL) | (1ULL << CAP_SYS_ADMIN));
  assert_int_equal(p->caps.ambient, 1ULL << CAP_BPF);
  assert_int_equal(p->n_rlimits, 2);
  assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
  assert_string_equal(p->rlimits[0].name, "RLIMIT_NOFILE");
  assert_int_equal(p->rlimits[0].soft, 1024);
  assert_int_equal(p->rlimits[0].hard, 4096);
  assert_int_equal(p->rlimits[1].resource, RLIMIT_CORE);
  assert_true(p->no_new_privileges);
  assert_true(p->has_oom_score_adj);
  assert_int_equal(p->oom_score_adj, -500);
  assert_string_equal(p->apparmor_profile, "docker-default");
  assert_string_equal(p->selinux_label, "system_u:r:t");
  assert_string_equal(
      json_string_value(json_object_get(p->scheduler, "policy")),
      "SCHED_OTHER");
  assert_int_equal(json_integer_value(json_object_get(p->io_priority,
                                                      "priority")),
                   4);
  assert_string_equal(
      json_string_value(json_object_get(p->exec_cpu_affinity, "final")),
      "0-3");

  assert_int_equal(s.n_mounts, 3);
  assert_string_equal(s.mounts[0].destination, "/proc");
  assert_string_equal(s.mounts[0].type, "proc");
  assert_string_equal(s.mounts[0].source, "proc");
  assert_null(s.mounts[0].data);
  assert_int_equal(s.mounts[0].flags, 0);
  assert_int_equal(s.mounts[1].flags, MS_NOSUID | MS_STRICTATIME);
  assert_string_equal(s.mounts[1].data, "mode=755,size=65536k");
  struct spec_mount *m = &s.mounts[2];
  assert_true(m->bind);
  assert_true(m->recursive);
  assert_int_equal(m->flags, MS_BIND | MS_REC | MS_RDONLY);
  assert_int_equal(m->propagation, MS_PRIVATE | MS_REC);
  assert_string_equal(m->source, "/b/vol");
  assert_true(m->idmap);
  assert_false(m->idmap_recursive);
  assert_int_equal(m->n_uid_mappings, 1);
  assert_int_equal(m->uid_mappings[0].host_id, 100000);
  assert_int_equal(m->gid_mappings[0].size, 65536);

  assert_int_equal(s.hooks.n[HOOK_PRESTART], 1);
  struct spec_hook *h = &s.hooks.list[HOOK_PRESTART][0];
  assert_string_equal(h->path, "/bin/pre");
  assert_string_equal(h->args[1], "1");
  assert_null(h->args[2]);
  assert_string_equal(h->env[0], "A=1");
  assert_int_equal(h->timeout, 5);
  assert_string_equal(s.hooks.list[HOOK_CREATE_RUNTIME][0].path, "/bin/cr");
  assert_null(s.hooks.list[HOOK_CREATE_RUNTIME][0].args);
  assert_int_equal(s.hooks.list[HOOK_CREATE_RUNTIME][0].timeout, 0);
  assert_string_equal(s.hooks.list[HOOK_CREATE_CONTAINER][0].path, "/bin/cc");
  assert_string_equal(s.hooks.list[HOOK_START_CONTAINER][0].path, "/bin/sc");
  assert_int_equal(s.hooks.n[HOOK_POSTSTART], 2);
  assert_string_equal(s.hooks.list[HOOK_POSTSTART][1].path, "/bin/ps2");
  assert_int_equal(s.hooks.list[HOOK_POSTSTOP][0].timeout, 1);

  assert_int_equal(json_object_size(s.annotations), 2);
  assert_string_equal(
      json_string_value(json_object_get(s.annotations, "org.hull.isolation")),
      "vm");

  struct spec_linux *l = &s.linux;
  for (int t = 0; t < NS_COUNT; t++)
    assert_true(l->ns[t].present);
  assert_string_equal(l->ns[NS_NET].path, "/var/run/netns/n1");
  assert_null(l->ns[NS_PID].path);
  assert_int_equal(l->n_uid_mappings, 2);
  assert_int_equal(l->uid_mappings[1].container_id, 1);
  assert_int_equal(l->uid_mappings[1].host_id, 100000);
  assert_int_equal(l->uid_mappings[1].size, 65536);
  assert_int_equal(l->n_gid_mappings, 1);
  assert_true(l->time_monotonic.present);
  assert_int_equal(l->time_monotonic.secs, -10);
  assert_int_equal(l->time_monotonic.nanosecs, 5);
  assert_true(l->time_boottime.present);
  assert_int_equal(l->time_boottime.secs, 86400);
  assert_int_equal(l->n_devices, 2);
  assert_string_equal(l->devices[0].path, "/dev/fuse");
  assert_int_equal(l->devices[0].type, 'c');
  assert_int_equal(l->devices[0].major, 10);
  assert_int_equal(l->devices[0].minor, 229);
  assert_true(l->devices[0].has_mode);
  assert_int_equal(l->devices[0].file_mode, 0666); /* 8630 = S_IFCHR|0666 */
  assert_true(l->devices[0].has_uid);
  assert_int_equal(l->devices[1].type, 'p');
  assert_false(l->devices[1].has_mode);
  assert_string_equal(l->cgroups_path, "/hull/box");
  assert_int_equal(l->n_sysctl, 2);
  assert_string_equal(l->sysctl[0].key, "net.ipv4.ip_forward");
  assert_string_equal(l->sysctl[0].value, "1");
  assert_int_equal(l->n_masked_paths, 2);
  assert_string_equal(l->masked_paths[1], "/sys/firmware");
  assert_null(l->masked_paths[2]);
  assert_int_equal(l->n_readonly_paths, 1);
  assert_int_equal(l->rootfs_propagation, MS_SLAVE | MS_REC);
  assert_string_equal(l->mount_label, "system_u:object_r:l");
  assert_non_null(json_object_get(l->resources, "memory"));
  assert_non_null(json_object_get(l->seccomp, "defaultAction"));
  assert_non_null(json_object_get(l->personality, "domain"));
  assert_non_null(json_object_get(l->intel_rdt, "closID"));
  assert_non_null(json_object_get(l->net_devices, "eth1"));
  assert_non_null(json_object_get(s.vm, "kernel"));
  assert_true(json_is_object(s.json));

  spec_free(&s);
  assert_true(all_zero(&s, sizeof s));
  spec_free(&s); /* idempotent */
}

/* The smallest valid config: everything else takes its default. */
static void test_minimal_defaults(void **state) {
  (void)state;
  struct spec s;
  struct hull_error e = {0};
  assert_int_equal(parse_q("{'ociVersion':'1.0.0','root':{'path':'/r'}}",
                           "/b", &s, &e),
                   0);
  assert_string_equal(s.root_path, "/r");
  assert_false(s.root_readonly);
  assert_null(s.hostname);
  assert_false(s.has_process);
  assert_int_equal(s.n_mounts, 0);
  assert_null(s.mounts);
  for (int k = 0; k < HOOK_KIND_COUNT; k++)
    assert_int_equal(s.hooks.n[k], 0);
  assert_true(json_is_object(s.annotations));
  assert_int_equal(json_object_size(s.annotations), 0);
  for (int t = 0; t < NS_COUNT; t++)
    assert_false(s.linux.ns[t].present);
  assert_int_equal(s.linux.rootfs_propagation, 0);
  assert_null(s.linux.resources);
  assert_null(s.linux.seccomp);
  spec_free(&s);

  /* A process with only the required fields. */
  assert_int_equal(
      parse_q("{'ociVersion':'1.1.0','root':{'path':'/r'},"
              " 'process':{'args':['x'],'cwd':'/'}}",
              "/b", &s, &e),
      0);
  struct spec_process *p = &s.process;
  assert_false(p->terminal);
  assert_int_equal(p->user.uid, 0);
  assert_false(p->user.has_umask);
  assert_non_null(p->env); /* always iterable */
  assert_null(p->env[0]);
  assert_int_equal(p->n_env, 0);
  assert_false(p->caps.present);
  assert_false(p->has_oom_score_adj);
  assert_null(p->scheduler);
  spec_free(&s);
}

/* JSON null reads as absent, like Go's zero values in runc. */
static void test_null_is_absent(void **state) {
  (void)state;
  struct spec s;
  struct hull_error e = {0};
  assert_int_equal(
      parse_q("{'ociVersion':'1.0.0','root':{'path':'/r','readonly':null},"
              " 'hostname':null,'mounts':null,'hooks':null,'annotations':null,"
              " 'process':{'args':['x'],'cwd':'/','env':null,'user':null,"
              "   'capabilities':null,'rlimits':null,'oomScoreAdj':null},"
              " 'linux':{'namespaces':[{'type':'pid','path':null},"
              "   {'type':'uts','path':''}],'rootfsPropagation':'',"
              "   'resources':null,'timeOffsets':{'boottime':null}}}",
              "/b", &s, &e),
      0);
  assert_null(s.hostname);
  assert_true(json_is_object(s.annotations));
  assert_true(s.linux.ns[NS_PID].present);
  assert_null(s.linux.ns[NS_UTS].path);
  assert_false(s.linux.time_boottime.present);
  assert_false(s.process.has_oom_score_adj);
  spec_free(&s);
}

static void test_unknown_fields_ignored(void **state) {
  (void)state;
  struct spec s;
  struct hull_error e = {0};
  int r = parse_q(
      "{'ociVersion':'1.2.0','root':{'path':'/r','x':1},'future':{'a':[1]},"
      " 'windows':{'layerFolders':['C:']},'solaris':7,'zos':'z',"
      " 'process':{'args':['x'],'cwd':'/','commandLine':'x y','new':true,"
      "   'user':{'uid':1,'username':'bob','extra':[]},"
      "   'capabilities':{'bounding':[],'other':['CAP_FOO']},"
      "   'rlimits':[{'type':'RLIMIT_AS','soft':1,'hard':2,'x':'y'}]},"
      " 'mounts':[{'destination':'/m','future':{}}],"
      " 'hooks':{'prestart':[{'path':'/x','y':1}],'someday':[1]},"
      " 'linux':{'newThing':1,'namespaces':[{'type':'pid','z':0}],"
      "   'devices':[{'path':'/dev/x','type':'b','major':1,'minor':2,'q':0}],"
      "   'uidMappings':[{'containerID':0,'hostID':0,'size':1,'w':1}]}}",
      "/b", &s, &e);
  if (r < 0)
    fail_msg("%s", e.msg);
  assert_int_equal(s.process.user.uid, 1);
  assert_null(s.process.user.username); /* Windows only */
  assert_string_equal(s.mounts[0].destination, "/m");
  spec_free(&s);
}

/* ---- root.path and the bundle ----------------------------------------- */

static void check_root(const char *bundle, const char *path,
                       const char *want) {
  char cfg[512];
  struct spec s;
  struct hull_error e = {0};
  snprintf(cfg, sizeof cfg, "{'ociVersion':'1.0.0','root':{'path':'%s'}}",
           path);
  if (parse_q(cfg, bundle, &s, &e) < 0)
    fail_msg("%s", e.msg);
  assert_string_equal(s.root_path, want);
  spec_free(&s);
}

static void test_root_path(void **state) {
  (void)state;
  check_root("/b", "rootfs", "/b/rootfs");
  check_root("/b/", "rootfs/", "/b/rootfs");
  check_root("/b", "./a/../rootfs", "/b/rootfs");
  check_root("/b/c", "../x//y/.", "/b/x/y");
  check_root("/b", "../../../x", "/x");
  check_root("/b", ".", "/b");
  check_root("/", "rootfs", "/rootfs");
  check_root("/b", "/abs/../kept", "/abs/../kept"); /* absolute: as written */

  char cwd[PATH_MAX], want[PATH_MAX + 32];
  assert_non_null(getcwd(cwd, sizeof cwd));
  snprintf(want, sizeof want, "%s/rootfs", strcmp(cwd, "/") ? cwd : "");
  check_root(NULL, "rootfs", want);
  check_root("", "rootfs", want);
  snprintf(want, sizeof want, "%s/bun/rootfs", strcmp(cwd, "/") ? cwd : "");
  check_root("bun", "rootfs", want);
  check_root("./bun/", "rootfs", want);
}

/* ---- errors ----------------------------------------------------------- */

static const struct {
  const char *patch, *msg;
} errors[] = {
    {"{'ociVersion':null}", "config.json: ociVersion: missing"},
    {"{'ociVersion':1}", "config.json: ociVersion: must be a string"},
    {"{'ociVersion':'2.0.0'}",
     "config.json: ociVersion: unsupported version \"2.0.0\" (want 1.x)"},
    {"{'ociVersion':'1'}",
     "config.json: ociVersion: unsupported version \"1\" (want 1.x)"},
    {"{'root':null}", "config.json: root: missing"},
    {"{'root':'rootfs'}", "config.json: root: must be an object"},
    {"{'root':{'path':null}}", "config.json: root.path: missing"},
    {"{'root':{'path':''}}", "config.json: root.path: must not be empty"},
    {"{'root':{'path':7}}", "config.json: root.path: must be a string"},
    {"{'root':{'readonly':'yes'}}",
     "config.json: root.readonly: must be a boolean"},
    {"{'hostname':5}", "config.json: hostname: must be a string"},
    {"{'domainname':[]}", "config.json: domainname: must be a string"},
    {"{'process':'sh'}", "config.json: process: must be an object"},
    {"{'process':{'args':null}}",
     "config.json: process.args: must be a non-empty array of strings"},
    {"{'process':{'args':[]}}",
     "config.json: process.args: must be a non-empty array of strings"},
    {"{'process':{'args':'sh'}}",
     "config.json: process.args: must be a non-empty array of strings"},
    {"{'process':{'args':['sh',1]}}",
     "config.json: process.args[1]: must be a string"},
    {"{'process':{'env':['A=1','B']}}",
     "config.json: process.env[1]: \"B\" is not of the form KEY=VALUE"},
    {"{'process':{'env':['=x']}}",
     "config.json: process.env[0]: \"=x\" is not of the form KEY=VALUE"},
    {"{'process':{'env':{}}}",
     "config.json: process.env: must be an array of strings"},
    {"{'process':{'cwd':null}}", "config.json: process.cwd: missing"},
    {"{'process':{'cwd':'home'}}",
     "config.json: process.cwd: must be an absolute path"},
    {"{'process':{'cwd':''}}",
     "config.json: process.cwd: must be an absolute path"},
    {"{'process':{'terminal':1}}",
     "config.json: process.terminal: must be a boolean"},
    {"{'process':{'consoleSize':[]}}",
     "config.json: process.consoleSize: must be an object"},
    {"{'process':{'consoleSize':{'height':-1}}}",
     "config.json: process.consoleSize.height: must be an integer in "
     "0..65535"},
    {"{'process':{'user':[]}}",
     "config.json: process.user: must be an object"},
    {"{'process':{'user':{'uid':-1}}}",
     "config.json: process.user.uid: must be an integer in 0..4294967295"},
    {"{'process':{'user':{'uid':4294967296}}}",
     "config.json: process.user.uid: must be an integer in 0..4294967295"},
    {"{'process':{'user':{'gid':'0'}}}",
     "config.json: process.user.gid: must be an integer in 0..4294967295"},
    {"{'process':{'user':{'uid':1.0}}}",
     "config.json: process.user.uid: must be an integer in 0..4294967295"},
    {"{'process':{'user':{'umask':512}}}",
     "config.json: process.user.umask: must be an integer in 0..511"},
    {"{'process':{'user':{'additionalGids':[1,-2]}}}",
     "config.json: process.user.additionalGids[1]: must be an integer in "
     "0..4294967295"},
    {"{'process':{'user':{'additionalGids':5}}}",
     "config.json: process.user.additionalGids: must be an array"},
    {"{'process':{'capabilities':{'bounding':['CAP_FOO']}}}",
     "config.json: process.capabilities.bounding: unknown capability "
     "\"CAP_FOO\""},
    {"{'process':{'capabilities':{'permitted':['cap_kill']}}}",
     "config.json: process.capabilities.permitted: unknown capability "
     "\"cap_kill\""},
    {"{'process':{'capabilities':{'ambient':[1]}}}",
     "config.json: process.capabilities.ambient[0]: must be a string"},
    {"{'process':{'capabilities':{'effective':'CAP_KILL'}}}",
     "config.json: process.capabilities.effective: must be an array of "
     "strings"},
    {"{'process':{'capabilities':['CAP_KILL']}}",
     "config.json: process.capabilities: must be an object"},
    {"{'process':{'rlimits':{}}}",
     "config.json: process.rlimits: must be an array"},
    {"{'process':{'rlimits':[1]}}",
     "config.json: process.rlimits[0]: must be an object"},
    {"{'process':{'rlimits':[{'type':'RLIMIT_FOO','soft':1,'hard':1}]}}",
     "config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\""},
    {"{'process':{'rlimits':[{'soft':1,'hard':1}]}}",
     "config.json: process.rlimits[0].type: missing"},
    {"{'process':{'rlimits':[{'type':'RLIMIT_NOFILE','soft':1,'hard':1},"
     "{'type':'RLIMIT_NOFILE','soft':2,'hard':2}]}}",
     "config.json: process.rlimits[1].type: duplicate rlimit "
     "\"RLIMIT_NOFILE\""},
    {"{'process':{'rlimits':[{'type':'RLIMIT_CPU','hard':1}]}}",
     "config.json: process.rlimits[0].soft: missing"},
    {"{'process':{'rlimits':[{'type':'RLIMIT_CPU','soft':1,'hard':-1}]}}",
     "config.json: process.rlimits[0].hard: must be an integer in "
     "0..18446744073709551615"},
    {"{'process':{'rlimits':[{'type':'RLIMIT_CPU','soft':1.5,'hard':1}]}}",
     "config.json: process.rlimits[0].soft: must be an integer in "
     "0..18446744073709551615"},
    {"{'process':{'noNewPrivileges':'true'}}",
     "config.json: process.noNewPrivileges: must be a boolean"},
    {"{'process':{'oomScoreAdj':1001}}",
     "config.json: process.oomScoreAdj: must be an integer in -1000..1000"},
    {"{'process':{'apparmorProfile':1}}",
     "config.json: process.apparmorProfile: must be a string"},
    {"{'process':{'selinuxLabel':false}}",
     "config.json: process.selinuxLabel: must be a string"},
    {"{'process':{'scheduler':'SCHED_FIFO'}}",
     "config.json: process.scheduler: must be an object"},
    {"{'process':{'ioPriority':1}}",
     "config.json: process.ioPriority: must be an object"},
    {"{'process':{'execCPUAffinity':[]}}",
     "config.json: process.execCPUAffinity: must be an object"},
    {"{'mounts':{}}", "config.json: mounts: must be an array"},
    {"{'mounts':[1]}", "config.json: mounts[0]: must be an object"},
    {"{'mounts':[{'destination':'/a'},{'type':'tmpfs'}]}",
     "config.json: mounts[1].destination: missing"},
    {"{'mounts':[{'destination':''}]}",
     "config.json: mounts[0].destination: must not be empty"},
    {"{'mounts':[{'destination':'/a','type':1}]}",
     "config.json: mounts[0].type: must be a string"},
    {"{'mounts':[{'destination':'/a','source':{}}]}",
     "config.json: mounts[0].source: must be a string"},
    {"{'mounts':[{'destination':'/a','options':'ro'}]}",
     "config.json: mounts[0].options: must be an array of strings"},
    {"{'mounts':[{'destination':'/a','options':['ro',1]}]}",
     "config.json: mounts[0].options[1]: must be a string"},
    {"{'mounts':[{'destination':'/a',"
     "'uidMappings':[{'containerID':0,'hostID':0}]}]}",
     "config.json: mounts[0].uidMappings[0].size: missing"},
    {"{'mounts':[{'destination':'/a','gidMappings':[7]}]}",
     "config.json: mounts[0].gidMappings[0]: must be an object"},
    {"{'hooks':[]}", "config.json: hooks: must be an object"},
    {"{'hooks':{'prestart':{}}}",
     "config.json: hooks.prestart: must be an array"},
    {"{'hooks':{'prestart':[{'path':'true'}]}}",
     "config.json: hooks.prestart[0].path: must be an absolute path"},
    {"{'hooks':{'poststop':[{'path':'/a'},{}]}}",
     "config.json: hooks.poststop[1].path: missing"},
    {"{'hooks':{'createRuntime':[{'path':'/a','timeout':0}]}}",
     "config.json: hooks.createRuntime[0].timeout: must be a positive "
     "integer"},
    {"{'hooks':{'createContainer':[{'path':'/a','timeout':-3}]}}",
     "config.json: hooks.createContainer[0].timeout: must be a positive "
     "integer"},
    {"{'hooks':{'startContainer':[{'path':'/a','timeout':'5'}]}}",
     "config.json: hooks.startContainer[0].timeout: must be a positive "
     "integer"},
    {"{'hooks':{'poststart':[{'path':'/a','args':[1]}]}}",
     "config.json: hooks.poststart[0].args[0]: must be a string"},
    {"{'hooks':{'poststart':[{'path':'/a','env':'A=1'}]}}",
     "config.json: hooks.poststart[0].env: must be an array of strings"},
    {"{'annotations':[]}", "config.json: annotations: must be an object"},
    {"{'annotations':{'a':'1','b.c':2}}",
     "config.json: annotations.b.c: must be a string"},
    {"{'linux':[]}", "config.json: linux: must be an object"},
    {"{'linux':{'namespaces':{}}}",
     "config.json: linux.namespaces: must be an array"},
    {"{'linux':{'namespaces':[{'type':'pid'},{'type':'ipc'},"
     "{'type':'foo'}]}}",
     "config.json: linux.namespaces[2].type: unknown namespace type \"foo\""},
    {"{'linux':{'namespaces':[{'type':'pid'},{'type':'pid'}]}}",
     "config.json: linux.namespaces[1].type: duplicate namespace type "
     "\"pid\""},
    {"{'linux':{'namespaces':[{'path':'/x'}]}}",
     "config.json: linux.namespaces[0].type: missing"},
    {"{'linux':{'namespaces':['pid']}}",
     "config.json: linux.namespaces[0]: must be an object"},
    {"{'linux':{'namespaces':[{'type':'net'}]}}",
     "config.json: linux.namespaces[0].type: unknown namespace type \"net\""},
    {"{'linux':{'namespaces':[{'type':'pid','path':'proc/1/ns/pid'}]}}",
     "config.json: linux.namespaces[0].path: must be an absolute path"},
    {"{'linux':{'uidMappings':[{'containerID':0,'hostID':1,'size':-1}]}}",
     "config.json: linux.uidMappings[0].size: must be an integer in "
     "0..4294967295"},
    {"{'linux':{'gidMappings':[{'hostID':1,'size':1}]}}",
     "config.json: linux.gidMappings[0].containerID: missing"},
    {"{'linux':{'timeOffsets':{'realtime':{'secs':1}}}}",
     "config.json: linux.timeOffsets.realtime: unknown clock (want monotonic "
     "or boottime)"},
    {"{'linux':{'timeOffsets':{'monotonic':{'nanosecs':1000000000}}}}",
     "config.json: linux.timeOffsets.monotonic.nanosecs: must be an integer "
     "in 0..999999999"},
    {"{'linux':{'timeOffsets':{'boottime':5}}}",
     "config.json: linux.timeOffsets.boottime: must be an object"},
    {"{'linux':{'timeOffsets':[]}}",
     "config.json: linux.timeOffsets: must be an object"},
    {"{'linux':{'devices':[{'path':'/dev/x','type':'c','minor':1}]}}",
     "config.json: linux.devices[0].major: missing"},
    {"{'linux':{'devices':[{'path':'/dev/x','type':'u','major':1}]}}",
     "config.json: linux.devices[0].minor: missing"},
    {"{'linux':{'devices':[{'path':'/dev/x','type':'x'}]}}",
     "config.json: linux.devices[0].type: unknown device type \"x\" (want "
     "c, b, u or p)"},
    {"{'linux':{'devices':[{'path':'/dev/x','type':'cb'}]}}",
     "config.json: linux.devices[0].type: unknown device type \"cb\" (want "
     "c, b, u or p)"},
    {"{'linux':{'devices':[{'path':'dev/x','type':'p'}]}}",
     "config.json: linux.devices[0].path: must be an absolute path"},
    {"{'linux':{'devices':[{'type':'p'}]}}",
     "config.json: linux.devices[0].path: missing"},
    {"{'linux':{'devices':[{'path':'/d','type':'p','fileMode':-1}]}}",
     "config.json: linux.devices[0].fileMode: must be an integer in "
     "0..4294967295"},
    {"{'linux':{'cgroupsPath':1}}",
     "config.json: linux.cgroupsPath: must be a string"},
    {"{'linux':{'sysctl':{'a':1}}}",
     "config.json: linux.sysctl.a: must be a string"},
    {"{'linux':{'sysctl':['a=1']}}",
     "config.json: linux.sysctl: must be an object"},
    {"{'linux':{'maskedPaths':['/ok','proc/kcore']}}",
     "config.json: linux.maskedPaths[1]: must be an absolute path"},
    {"{'linux':{'readonlyPaths':['']}}",
     "config.json: linux.readonlyPaths[0]: must be an absolute path"},
    {"{'linux':{'rootfsPropagation':'foo'}}",
     "config.json: linux.rootfsPropagation: unknown propagation \"foo\""},
    {"{'linux':{'rootfsPropagation':1}}",
     "config.json: linux.rootfsPropagation: must be a string"},
    {"{'linux':{'mountLabel':1}}",
     "config.json: linux.mountLabel: must be a string"},
    {"{'linux':{'resources':[]}}",
     "config.json: linux.resources: must be an object"},
    {"{'linux':{'seccomp':1}}",
     "config.json: linux.seccomp: must be an object"},
    {"{'linux':{'personality':'LINUX'}}",
     "config.json: linux.personality: must be an object"},
    {"{'linux':{'intelRdt':true}}",
     "config.json: linux.intelRdt: must be an object"},
    {"{'linux':{'netDevices':[]}}",
     "config.json: linux.netDevices: must be an object"},
    {"{'vm':[]}", "config.json: vm: must be an object"},
};

static void test_errors(void **state) {
  (void)state;
  struct spec zero;
  memset(&zero, 0, sizeof zero);
  for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
    struct spec s;
    struct hull_error e = {0};
    int r = parse_patched(errors[i].patch, &s, &e);
    if (r != -EINVAL || strcmp(e.msg, errors[i].msg) != 0)
      fail_msg("patch %s:\n  got  %d \"%s\"\n  want \"%s\"", errors[i].patch,
               r, e.msg, errors[i].msg);
    assert_int_equal(e.code, EINVAL);
    /* On error the struct is left zeroed: nothing to free. */
    assert_memory_equal(&s, &zero, sizeof s);
    spec_free(&s);
  }
  /* The base config itself is valid. */
  struct spec s;
  struct hull_error e = {0};
  assert_int_equal(parse_patched("{}", &s, &e), 0);
  spec_free(&s);
}

static void expect_error(const char *text, const char *want) {
  struct spec s;
  struct hull_error e = {0};
  int r = spec_parse(text, strlen(text), "/b", &s, &e);
  if (r != -EINVAL || strcmp(e.msg, want) != 0)
    fail_msg("input %s:\n  got  %d \"%s\"\n  want \"%s\"", text, r, e.msg,
             want);
  assert_true(all_zero(&s, sizeof s));
}

static void test_invalid_json(void **state) {
  (void)state;
  expect_error("", "config.json: invalid JSON at line 1 column 0: '[' or '{' "
                   "expected near end of file");
  expect_error("{", "config.json: invalid JSON at line 1 column 1: string or "
                    "'}' expected near end of file");
  expect_error("{\n  \"ociVersion\": }",
               "config.json: invalid JSON at line 2 column 17: unexpected "
               "token near '}'");
  expect_error("{} x", "config.json: invalid JSON at line 1 column 4: end of "
                       "file expected near 'x'");
  expect_error("{\"a\":\"\\u0000\"}",
               "config.json: invalid JSON at line 1 column 13: \\u0000 is not "
               "allowed near '\"'");
  expect_error("[]", "config.json: must be a JSON object");
  expect_error("{\"a\":18446744073709551616}",
               "config.json: invalid JSON at line 1 column 25: too big "
               "integer near '18446744073709551616'");
  /* Messages stay on one line whatever the input holds. */
  expect_error("{\"ociVersion\":\"1.0\",\"root\":{\"path\":\"/r\"},"
               "\"process\":{\"args\":[\"a\"],\"cwd\":\"/\",\"capabilities\":"
               "{\"bounding\":[\"CAP_\\nFOO\"]}}}",
               "config.json: process.capabilities.bounding: unknown "
               "capability \"CAP_?FOO\"");
  /* Not NUL-terminated: only len bytes are read. */
  const char text[] = "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"/r\"}}X";
  struct spec s;
  struct hull_error e = {0};
  assert_int_equal(spec_parse(text, sizeof text - 2, "/b", &s, &e), 0);
  spec_free(&s);
}

/* uint64 fields up to 2^64-1 (RLIM_INFINITY) parse despite jansson's
 * long long integers. */
static void test_big_uint64(void **state) {
  (void)state;
  struct spec s;
  struct hull_error e = {0};
  int r = parse_q(
      "{'ociVersion':'1.0.0','root':{'path':'/r'},"
      " 'annotations':{'n':'18446744073709551615'},"
      " 'process':{'args':['x'],'cwd':'/','rlimits':["
      "  {'type':'RLIMIT_MEMLOCK','soft':18446744073709551615,"
      "   'hard':18446744073709551615},"
      "  {'type':'RLIMIT_STACK','soft':9223372036854775808,"
      "   'hard':9223372036854775807},"
      "  {'type':'RLIMIT_CORE','soft':-1,'hard':10000000000000000000}]},"
      " 'linux':{'seccomp':{'syscalls':[{'args':[{'value':"
      "18446744073709551614}]}]}}}",
      "/b", &s, &e);
  if (r < 0)
    fail_msg("%s", e.msg);
  assert_true(s.process.rlimits[0].soft == UINT64_MAX);
  assert_true(s.process.rlimits[0].hard == UINT64_MAX);
  assert_true(s.process.rlimits[1].soft == 1ULL << 63);
  assert_true(s.process.rlimits[1].hard == INT64_MAX);
  assert_true(s.process.rlimits[2].hard == 10000000000000000000ULL);
  /* Strings are untouched. */
  assert_string_equal(
      json_string_value(json_object_get(s.annotations, "n")),
      "18446744073709551615");
  /* Kept JSON holds the value wrapped, as spec.h documents. */
  json_t *v = json_object_get(json_array_get(json_object_get(
      json_array_get(json_object_get(s.linux.seccomp, "syscalls"), 0),
      "args"), 0), "value");
  assert_true((uint64_t)json_integer_value(v) == UINT64_MAX - 1);
  spec_free(&s);

  /* Without big literals a negative uint64 is an error. */
  assert_int_equal(
      parse_q("{'ociVersion':'1.0.0','root':{'path':'/r'},'process':{"
              "'args':['x'],'cwd':'/','rlimits':[{'type':'RLIMIT_CORE',"
              "'soft':-1,'hard':0}]}}",
              "/b", &s, &e),
      -EINVAL);
  assert_string_equal(e.msg, "config.json: process.rlimits[0].soft: must be "
                             "an integer in 0..18446744073709551615");
  /* A later syntax error after a wrapped literal is still reported. */
  assert_int_equal(parse_q("{'a':18446744073709551615,\n'b':}", "/b", &s, &e),
                   -EINVAL);
  assert_string_equal(e.msg, "config.json: invalid JSON at line 2 column 5: "
                             "unexpected token near '}'");
}

/* ---- mount options ---------------------------------------------------- */

#define A(x) MOUNT_ATTR_##x
static const struct {
  const char *opt;
  unsigned long flags, clear, prop;
  uint64_t rset, rclr;
  const char *data;
  bool tmpcopyup, idmap, ridmap;
} mopts[] = {
    {"ro", MS_RDONLY, 0, 0, 0, 0, NULL, 0, 0, 0},
    {"rw", 0, MS_RDONLY, 0, 0, 0, NULL, 0, 0, 0},
    {"suid", 0, MS_NOSUID, 0, 0, 0, NULL, 0, 0, 0},
    {"nosuid", MS_NOSUID, 0, 0, 0, 0, NULL, 0, 0, 0},
    {"dev", 0, MS_NODEV, 0, 0, 0, NULL, 0, 0, 0},
    {"nodev", MS_NODEV, 0, 0, 0, 0, NULL, 0, 0, 0},
    {"exec", 0, MS_NOEXEC, 0, 0, 0, NULL, 0, 0, 0},
    {"noexec", MS_NOEXEC, 0, 0, 0, 0, NULL, 0, 0, 0},
    {"sync", MS_SYNCHRONOUS, 0, 0, 0, 0, NULL, 0, 0, 0},
    {"async", 0, MS_SYNCHRONOUS, 0, 0, 0, NULL, 0, 0, 0},
    {"dirsync", MS_DIRSYNC, 0, 0, 0, 0, NULL, 0, 0, 0},
    {"remount", MS_REMOUNT, 0, 0, 0, 0, NULL, 0, 0, 0},
    {"mand", MS_MANDLOCK, 0, 0, 0, 0, NULL, 0, 0, 0},
    {"nomand", 0, MS_MANDLOCK, 0, 0, 0, NULL, 0, 0, 0},
    {"atime", 0, MS_NOATIME, 0, 0, 0, NULL, 0, 0, 0},
    {"noatime", MS_NOATIME, 0, 0, 0, 0, NULL, 0, 0, 0},
    {"diratime", 0, MS_NODIRATIME, 0, 0, 0, NULL, 0, 0, 0},
    {"nodiratime", MS_NODIRATIME, 0, 0, 0, 0, NULL, 0, 0, 0},
    {"relatime", MS_RELATIME, 0, 0, 0, 0, NULL, 0, 0, 0},
    {"norelatime", 0, MS_RELATIME, 0, 0, 0, NULL, 0, 0, 0},
    {"strictatime", MS_STRICTATIME, 0, 0, 0, 0, NULL, 0, 0, 0},
    {"nostrictatime", 0, MS_STRICTATIME, 0, 0, 0, NULL, 0, 0, 0},
    {"iversion", MS_I_VERSION, 0, 0, 0, 0, NULL, 0, 0, 0},
    {"noiversion", 0, MS_I_VERSION, 0, 0, 0, NULL, 0, 0, 0},
    {"lazytime", MS_LAZYTIME, 0, 0, 0, 0, NULL, 0, 0, 0},
    {"nolazytime", 0, MS_LAZYTIME, 0, 0, 0, NULL, 0, 0, 0},
    {"silent", MS_SILENT, 0, 0, 0, 0, NULL, 0, 0, 0},
    {"loud", 0, MS_SILENT, 0, 0, 0, NULL, 0, 0, 0},
    {"nosymfollow", MS_NOSYMFOLLOW, 0, 0, 0, 0, NULL, 0, 0, 0},
    {"symfollow", 0, MS_NOSYMFOLLOW, 0, 0, 0, NULL, 0, 0, 0},
    {"bind", MS_BIND, 0, 0, 0, 0, NULL, 0, 0, 0},
    {"rbind", MS_BIND | MS_REC, 0, 0, 0, 0, NULL, 0, 0, 0},
    {"private", 0, 0, MS_PRIVATE, 0, 0, NULL, 0, 0, 0},
    {"rprivate", 0, 0, MS_PRIVATE | MS_REC, 0, 0, NULL, 0, 0, 0},
    {"shared", 0, 0, MS_SHARED, 0, 0, NULL, 0, 0, 0},
    {"rshared", 0, 0, MS_SHARED | MS_REC, 0, 0, NULL, 0, 0, 0},
    {"slave", 0, 0, MS_SLAVE, 0, 0, NULL, 0, 0, 0},
    {"rslave", 0, 0, MS_SLAVE | MS_REC, 0, 0, NULL, 0, 0, 0},
    {"unbindable", 0, 0, MS_UNBINDABLE, 0, 0, NULL, 0, 0, 0},
    {"runbindable", 0, 0, MS_UNBINDABLE | MS_REC, 0, 0, NULL, 0, 0, 0},
    {"rro", 0, 0, 0, A(RDONLY), 0, NULL, 0, 0, 0},
    {"rrw", 0, 0, 0, 0, A(RDONLY), NULL, 0, 0, 0},
    {"rnosuid", 0, 0, 0, A(NOSUID), 0, NULL, 0, 0, 0},
    {"rsuid", 0, 0, 0, 0, A(NOSUID), NULL, 0, 0, 0},
    {"rnodev", 0, 0, 0, A(NODEV), 0, NULL, 0, 0, 0},
    {"rdev", 0, 0, 0, 0, A(NODEV), NULL, 0, 0, 0},
    {"rnoexec", 0, 0, 0, A(NOEXEC), 0, NULL, 0, 0, 0},
    {"rexec", 0, 0, 0, 0, A(NOEXEC), NULL, 0, 0, 0},
    {"rnodiratime", 0, 0, 0, A(NODIRATIME), 0, NULL, 0, 0, 0},
    {"rdiratime", 0, 0, 0, 0, A(NODIRATIME), NULL, 0, 0, 0},
    {"rrelatime", 0, 0, 0, A(RELATIME), A(_ATIME), NULL, 0, 0, 0},
    {"rnorelatime", 0, 0, 0, 0, A(RELATIME), NULL, 0, 0, 0},
    {"rnoatime", 0, 0, 0, A(NOATIME), A(_ATIME), NULL, 0, 0, 0},
    {"ratime", 0, 0, 0, 0, A(NOATIME), NULL, 0, 0, 0},
    {"rstrictatime", 0, 0, 0, A(STRICTATIME), A(_ATIME), NULL, 0, 0, 0},
    {"rnostrictatime", 0, 0, 0, 0, A(STRICTATIME), NULL, 0, 0, 0},
    {"rnosymfollow", 0, 0, 0, A(NOSYMFOLLOW), 0, NULL, 0, 0, 0},
    {"rsymfollow", 0, 0, 0, 0, A(NOSYMFOLLOW), NULL, 0, 0, 0},
    {"tmpcopyup", 0, 0, 0, 0, 0, NULL, 1, 0, 0},
    {"idmap", 0, 0, 0, 0, 0, NULL, 0, 1, 0},
    {"ridmap", 0, 0, 0, 0, 0, NULL, 0, 1, 1},
    {"defaults", 0, 0, 0, 0, 0, NULL, 0, 0, 0},
    /* Everything else is file-system data, as runc. */
    {"mode=755", 0, 0, 0, 0, 0, "mode=755", 0, 0, 0},
    {"acl", 0, 0, 0, 0, 0, "acl", 0, 0, 0},
    {"newinstance", 0, 0, 0, 0, 0, "newinstance", 0, 0, 0},
    {"RO", 0, 0, 0, 0, 0, "RO", 0, 0, 0},
    {"", 0, 0, 0, 0, 0, NULL, 0, 0, 0},
    {"a", 0, 0, 0, 0, 0, "a", 0, 0, 0},
    {"zzzz", 0, 0, 0, 0, 0, "zzzz", 0, 0, 0},
};

static void parse_mount(const char *options_json, const char *type,
                        struct spec *s) {
  char cfg[8192];
  struct hull_error e = {0};
  snprintf(cfg, sizeof cfg,
           "{'ociVersion':'1.0.0','root':{'path':'/r'},'mounts':"
           "[{'destination':'/m','type':'%s','source':'src','options':%s}]}",
           type, options_json);
  if (parse_q(cfg, "/b", s, &e) < 0)
    fail_msg("%s: %s", options_json, e.msg);
}

static void test_mount_option_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof mopts / sizeof mopts[0]; i++) {
    char opts[64];
    struct spec s;
    snprintf(opts, sizeof opts, "['%s']", mopts[i].opt);
    parse_mount(opts, "tmpfs", &s);
    const struct spec_mount *m = &s.mounts[0];
    if (m->flags != mopts[i].flags || m->clear_flags != mopts[i].clear ||
        m->propagation != mopts[i].prop || m->rec_attr_set != mopts[i].rset ||
        m->rec_attr_clr != mopts[i].rclr || m->tmpcopyup != mopts[i].tmpcopyup ||
        m->idmap != mopts[i].idmap || m->idmap_recursive != mopts[i].ridmap ||
        (m->data == NULL) != (mopts[i].data == NULL) ||
        (m->data && strcmp(m->data, mopts[i].data)))
      fail_msg("option \"%s\": flags %#lx clear %#lx prop %#lx rset %#llx "
               "rclr %#llx data %s",
               mopts[i].opt, m->flags, m->clear_flags, m->propagation,
               (unsigned long long)m->rec_attr_set,
               (unsigned long long)m->rec_attr_clr,
               m->data ? m->data : "(null)");
    assert_int_equal(m->bind, (mopts[i].flags & MS_BIND) != 0);
    assert_int_equal(m->recursive, (mopts[i].flags & MS_REC) != 0);
    spec_free(&s);
  }
}

static void test_mount_option_combinations(void **state) {
  (void)state;
  struct spec s;
  /* Later options override earlier ones, as runc. */
  parse_mount("['ro','rw']", "tmpfs", &s);
  assert_int_equal(s.mounts[0].flags, 0);
  assert_int_equal(s.mounts[0].clear_flags, MS_RDONLY);
  spec_free(&s);
  parse_mount("['rw','ro','nosuid','suid','nodev']", "tmpfs", &s);
  assert_int_equal(s.mounts[0].flags, MS_RDONLY | MS_NODEV);
  assert_int_equal(s.mounts[0].clear_flags, MS_NOSUID);
  spec_free(&s);
  parse_mount("['shared','rslave']", "tmpfs", &s);
  assert_int_equal(s.mounts[0].propagation, MS_SLAVE | MS_REC);
  spec_free(&s);
  parse_mount("['rro','rrw','rnoatime']", "tmpfs", &s);
  assert_int_equal(s.mounts[0].rec_attr_set, A(NOATIME));
  assert_int_equal(s.mounts[0].rec_attr_clr, A(RDONLY) | A(_ATIME));
  spec_free(&s);
  /* runc spec's /dev/pts: data keeps its order. */
  parse_mount("['nosuid','noexec','newinstance','ptmxmode=0666','mode=0620',"
              "'gid=5']",
              "devpts", &s);
  assert_int_equal(s.mounts[0].flags, MS_NOSUID | MS_NOEXEC);
  assert_string_equal(s.mounts[0].data,
                      "newinstance,ptmxmode=0666,mode=0620,gid=5");
  spec_free(&s);
  /* Long data spills off the stack buffer. */
  char big[4096], want[4096];
  size_t n = 0, w = 0;
  n += (size_t)snprintf(big + n, sizeof big - n, "['ro'");
  for (int i = 0; i < 100; i++) {
    n += (size_t)snprintf(big + n, sizeof big - n, ",'opt%02d=xxxxxxxx'", i);
    w += (size_t)snprintf(want + w, sizeof want - w, "%sopt%02d=xxxxxxxx",
                          i ? "," : "", i);
  }
  snprintf(big + n, sizeof big - n, "]");
  parse_mount(big, "tmpfs", &s);
  assert_string_equal(s.mounts[0].data, want);
  assert_int_equal(s.mounts[0].flags, MS_RDONLY);
  spec_free(&s);
}

static void test_mount_bind_and_destination(void **state) {
  (void)state;
  struct spec s;
  struct hull_error e = {0};
  int r = parse_q(
      "{'ociVersion':'1.0.0','root':{'path':'/r'},'mounts':["
      " {'destination':'/a','type':'bind','source':'data/x'},"
      " {'destination':'/b','source':'/abs','options':['bind','nosuid']},"
      " {'destination':'dev/shm','type':'tmpfs','source':'shm'},"
      " {'destination':'/c','type':'none','source':'../up','options':"
      "   ['rbind']},"
      " {'destination':'/d','type':'tmpfs','source':'rel'},"
      " {'destination':'/e','options':['bind']},"
      " {'destination':'/f','options':['idmap','bind'],'source':'/s',"
      "  'uidMappings':[{'containerID':0,'hostID':1,'size':2}]},"
      " {'destination':'/g','type':'bind','source':'/s',"
      "  'gidMappings':[{'containerID':0,'hostID':1,'size':2}]}]}",
      "/bundle", &s, &e);
  if (r < 0)
    fail_msg("%s", e.msg);
  /* type "bind" implies bind; relative bind sources are in the bundle. */
  assert_true(s.mounts[0].bind);
  assert_false(s.mounts[0].recursive);
  assert_true(s.mounts[0].flags & MS_BIND);
  assert_string_equal(s.mounts[0].source, "/bundle/data/x");
  assert_string_equal(s.mounts[0].type, "bind");
  assert_true(s.mounts[1].bind);
  assert_null(s.mounts[1].type);
  assert_string_equal(s.mounts[1].source, "/abs");
  /* Relative destinations are taken from / (runc compatibility). */
  assert_string_equal(s.mounts[2].destination, "/dev/shm");
  assert_false(s.mounts[2].bind);
  assert_true(s.mounts[3].bind && s.mounts[3].recursive);
  assert_string_equal(s.mounts[3].source, "/up");
  /* Not a bind mount: the source is a name, kept as written. */
  assert_string_equal(s.mounts[4].source, "rel");
  assert_null(s.mounts[5].source);
  assert_true(s.mounts[6].idmap);
  assert_int_equal(s.mounts[6].uid_mappings[0].size, 2);
  /* Mappings without "idmap" make an idmapped mount, as runc. */
  assert_true(s.mounts[7].idmap);
  assert_false(s.mounts[7].idmap_recursive);
  assert_int_equal(s.mounts[7].n_gid_mappings, 1);
  assert_int_equal(s.mounts[7].n_uid_mappings, 0);
  spec_free(&s);
}

static void test_rootfs_propagation(void **state) {
  (void)state;
  static const struct {
    const char *name;
    unsigned long flags;
  } t[] = {
      {"shared", MS_SHARED},
      {"slave", MS_SLAVE},
      {"private", MS_PRIVATE},
      {"unbindable", MS_UNBINDABLE},
      {"rshared", MS_SHARED | MS_REC},
      {"rslave", MS_SLAVE | MS_REC},
      {"rprivate", MS_PRIVATE | MS_REC},
      {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    char cfg[256];
    struct spec s;
    struct hull_error e = {0};
    snprintf(cfg, sizeof cfg,
             "{'ociVersion':'1.0.0','root':{'path':'/r'},"
             "'linux':{'rootfsPropagation':'%s'}}",
             t[i].name);
    assert_int_equal(parse_q(cfg, "/b", &s, &e), 0);
    assert_int_equal(s.linux.rootfs_propagation, t[i].flags);
    spec_free(&s);
  }
}

/* ---- spec_parse_process ----------------------------------------------- */

static void test_parse_process(void **state) {
  (void)state;
  json_error_t jerr;
  struct spec_process p;
  struct hull_error e = {0};
  char *t = dq("{'args':['ls','-l'],'cwd':'/tmp','env':['A=b'],"
               "'capabilities':{'effective':['CAP_NET_RAW']},"
               "'scheduler':{'policy':'SCHED_BATCH'}}");
  json_t *o = json_loads(t, 0, &jerr);
  free(t);
  assert_int_equal(spec_parse_process(o, false, &p, &e), 0);
  json_decref(o); /* the process keeps its own references */
  assert_string_equal(p.args[1], "-l");
  assert_string_equal(p.cwd, "/tmp");
  assert_int_equal(p.caps.effective, 1ULL << CAP_NET_RAW);
  assert_string_equal(
      json_string_value(json_object_get(p.scheduler, "policy")),
      "SCHED_BATCH");
  spec_process_free(&p);
  assert_true(all_zero(&p, sizeof p));

  /* Messages are relative to the object, for the caller to prefix. */
  t = dq("{'args':['x'],'cwd':'/','rlimits':[{'type':'RLIMIT_X','soft':0,"
         "'hard':0}]}");
  o = json_loads(t, 0, &jerr);
  free(t);
  assert_int_equal(spec_parse_process(o, false, &p, &e), -EINVAL);
  assert_string_equal(e.msg, "rlimits[0].type: unknown rlimit \"RLIMIT_X\"");
  assert_true(all_zero(&p, sizeof p));
  json_decref(o);

  o = json_array();
  assert_int_equal(spec_parse_process(o, false, &p, &e), -EINVAL);
  assert_string_equal(e.msg, "must be an object");
  json_decref(o);
}

/* ---- spec_load -------------------------------------------------------- */

static void test_load(void **state) {
  (void)state;
  char dir[] = "/tmp/hull-test-spec-XXXXXX", path[64], want[128];
  assert_non_null(mkdtemp(dir));
  struct spec s;
  struct hull_error e = {0};

  assert_int_equal(spec_load(dir, &s, &e), -ENOENT);
  snprintf(want, sizeof want, "config.json: %s/config.json: ", dir);
  assert_memory_equal(e.msg, want, strlen(want));
  assert_string_equal(e.msg + strlen(want), strerror(ENOENT));
  assert_true(all_zero(&s, sizeof s));

  snprintf(path, sizeof path, "%s/config.json", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"}}", f);
  fclose(f);
  assert_int_equal(spec_load(dir, &s, &e), 0);
  snprintf(want, sizeof want, "%s/rootfs", dir);
  assert_string_equal(s.root_path, want);
  spec_free(&s);

  unlink(path);
  assert_int_equal(mkdir(path, 0700), 0);
  assert_int_equal(spec_load(dir, &s, &e), -EINVAL);
  snprintf(want, sizeof want, "config.json: %s/config.json: not a regular file",
           dir);
  assert_string_equal(e.msg, want);
  rmdir(path);
  rmdir(dir);
}

/* ---- names ------------------------------------------------------------ */

static void test_ns_names(void **state) {
  (void)state;
  static const struct {
    enum ns_type t;
    const char *name, *proc;
    int flag;
  } t[] = {
      {NS_PID, "pid", "pid", CLONE_NEWPID},
      {NS_NET, "network", "net", CLONE_NEWNET},
      {NS_MNT, "mount", "mnt", CLONE_NEWNS},
      {NS_IPC, "ipc", "ipc", CLONE_NEWIPC},
      {NS_UTS, "uts", "uts", CLONE_NEWUTS},
      {NS_USER, "user", "user", CLONE_NEWUSER},
      {NS_CGROUP, "cgroup", "cgroup", CLONE_NEWCGROUP},
      {NS_TIME, "time", "time", CLONE_NEWTIME},
  };
  assert_int_equal(sizeof t / sizeof t[0], NS_COUNT);
  for (size_t i = 0; i < NS_COUNT; i++) {
    assert_string_equal(ns_type_name(t[i].t), t[i].name);
    assert_string_equal(ns_proc_name(t[i].t), t[i].proc);
    assert_int_equal(ns_clone_flag(t[i].t), t[i].flag);
    assert_int_equal(ns_type_from_name(t[i].name), t[i].t);
  }
  assert_int_equal(ns_type_from_name("net"), -1);
  assert_int_equal(ns_type_from_name(""), -1);
  assert_null(ns_type_name(NS_COUNT));
  assert_null(ns_proc_name((enum ns_type)-1));
  assert_int_equal(ns_clone_flag(NS_COUNT), 0);
}

static void test_cap_names(void **state) {
  (void)state;
  assert_int_equal(cap_last_known(), CAP_LAST_CAP);
  assert_int_equal(cap_last_known(), 40);
  for (int n = 0; n <= cap_last_known(); n++) {
    const char *name = cap_name_from_number(n);
    assert_non_null(name);
    assert_memory_equal(name, "CAP_", 4);
    assert_int_equal(cap_number_from_name(name), n);
  }
  assert_int_equal(cap_number_from_name("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
  assert_int_equal(cap_number_from_name("CAP_AUDIT_READ"), CAP_AUDIT_READ);
  assert_int_equal(cap_number_from_name("CAP_CHECKPOINT_RESTORE"),
                   CAP_CHECKPOINT_RESTORE);
  assert_int_equal(cap_number_from_name("SYS_ADMIN"), -1);
  assert_int_equal(cap_number_from_name("cap_sys_admin"), -1);
  assert_int_equal(cap_number_from_name("CAP_"), -1);
  assert_int_equal(cap_number_from_name("CAP_ZZZ"), -1);
  assert_int_equal(cap_number_from_name(""), -1);
  assert_null(cap_name_from_number(-1));
  assert_null(cap_name_from_number(41));
}

static void test_rlimit_names(void **state) {
  (void)state;
  static const struct {
    const char *name;
    int r;
  } t[] = {
      {"RLIMIT_AS", RLIMIT_AS},         {"RLIMIT_CORE", RLIMIT_CORE},
      {"RLIMIT_CPU", RLIMIT_CPU},       {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_FSIZE", RLIMIT_FSIZE},   {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_NPROC", RLIMIT_NPROC},   {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_STACK", RLIMIT_STACK},
  };
  assert_int_equal(sizeof t / sizeof t[0], RLIMIT_NLIMITS);
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    assert_int_equal(rlimit_from_name(t[i].name), t[i].r);
  assert_int_equal(rlimit_from_name("NOFILE"), -1);
  assert_int_equal(rlimit_from_name("rlimit_nofile"), -1);
}

/* ---- spec_default_json ------------------------------------------------ */

static const struct spec_mount *find_mount(const struct spec *s,
                                           const char *dst) {
  for (size_t i = 0; i < s->n_mounts; i++)
    if (!strcmp(s->mounts[i].destination, dst))
      return &s->mounts[i];
  fail_msg("no mount %s", dst);
  return NULL;
}

static void test_default_spec(void **state) {
  (void)state;
  char *text = spec_default_json(false);
  assert_non_null(text);
  struct spec s;
  struct hull_error e = {0};
  if (spec_parse(text, strlen(text), "/b", &s, &e) < 0)
    fail_msg("%s", e.msg);
  assert_string_equal(s.oci_version, "1.2.0");
  assert_string_equal(s.root_path, "/b/rootfs");
  assert_true(s.root_readonly);
  assert_string_equal(s.hostname, "hull");
  assert_true(s.process.terminal);
  assert_int_equal(s.process.n_args, 1);
  assert_string_equal(s.process.args[0], "sh");
  assert_string_equal(s.process.env[1], "TERM=xterm");
  assert_string_equal(s.process.cwd, "/");
  uint64_t caps = (1ULL << CAP_AUDIT_WRITE) | (1ULL << CAP_KILL) |
                  (1ULL << CAP_NET_BIND_SERVICE);
  assert_int_equal(s.process.caps.bounding, caps);
  assert_int_equal(s.process.caps.effective, caps);
  assert_int_equal(s.process.caps.permitted, caps);
  assert_int_equal(s.process.caps.ambient, 0);
  assert_int_equal(s.process.n_rlimits, 1);
  assert_int_equal(s.process.rlimits[0].resource, RLIMIT_NOFILE);
  assert_int_equal(s.process.rlimits[0].hard, 1024);
  assert_true(s.process.no_new_privileges);
  assert_int_equal(s.n_mounts, 7);
  assert_string_equal(find_mount(&s, "/dev/pts")->data,
                      "newinstance,ptmxmode=0666,mode=0620,gid=5");
  assert_string_equal(find_mount(&s, "/sys")->type, "sysfs");
  assert_null(find_mount(&s, "/proc")->data);
  assert_true(s.linux.ns[NS_PID].present && s.linux.ns[NS_NET].present &&
              s.linux.ns[NS_IPC].present && s.linux.ns[NS_UTS].present &&
              s.linux.ns[NS_MNT].present);
  assert_false(s.linux.ns[NS_USER].present);
  assert_false(s.linux.ns[NS_TIME].present);
  assert_non_null(s.linux.resources);
  assert_int_equal(s.linux.n_masked_paths, 11);
  assert_int_equal(s.linux.n_readonly_paths, 5);
  assert_int_equal(s.linux.n_uid_mappings, 0);
  bool cgroupns = s.linux.ns[NS_CGROUP].present;
  spec_free(&s);
  /* Pretty: one member per line, no trailing newline. */
  assert_non_null(strstr(text, "\n  \"process\": {"));
  assert_int_not_equal(text[strlen(text) - 1], '\n');
  free(text);

  text = spec_default_json(true);
  assert_non_null(text);
  if (spec_parse(text, strlen(text), "/b", &s, &e) < 0)
    fail_msg("%s", e.msg);
  assert_true(s.linux.ns[NS_USER].present);
  assert_false(s.linux.ns[NS_NET].present);
  assert_true(s.linux.ns[NS_PID].present && s.linux.ns[NS_MNT].present);
  assert_int_equal(s.linux.ns[NS_CGROUP].present, cgroupns);
  assert_int_equal(s.linux.n_uid_mappings, 1);
  assert_int_equal(s.linux.uid_mappings[0].container_id, 0);
  assert_int_equal(s.linux.uid_mappings[0].host_id, geteuid());
  assert_int_equal(s.linux.uid_mappings[0].size, 1);
  assert_int_equal(s.linux.gid_mappings[0].host_id, getegid());
  assert_null(s.linux.resources);
  const struct spec_mount *sys = find_mount(&s, "/sys");
  assert_true(sys->bind && sys->recursive);
  assert_string_equal(sys->source, "/sys");
  assert_int_equal(sys->flags, MS_BIND | MS_REC | MS_NOSUID | MS_NOEXEC |
                                   MS_NODEV | MS_RDONLY);
  assert_string_equal(find_mount(&s, "/dev/pts")->data,
                      "newinstance,ptmxmode=0666,mode=0620");
  spec_free(&s);
  free(text);
}

/* The integration tests' bundle config parses. */
static void test_lib_config(void **state) {
  (void)state;
  struct spec s;
  struct hull_error e = {0};
  if (access("tests/lib/config.json", R_OK) < 0)
    skip();
  if (spec_load("tests/lib", &s, &e) < 0)
    fail_msg("%s", e.msg);
  assert_int_equal(s.n_mounts, 7);
  assert_true(s.linux.ns[NS_CGROUP].present);
  spec_free(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_config),
      cmocka_unit_test(test_minimal_defaults),
      cmocka_unit_test(test_null_is_absent),
      cmocka_unit_test(test_unknown_fields_ignored),
      cmocka_unit_test(test_root_path),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_invalid_json),
      cmocka_unit_test(test_big_uint64),
      cmocka_unit_test(test_mount_option_table),
      cmocka_unit_test(test_mount_option_combinations),
      cmocka_unit_test(test_mount_bind_and_destination),
      cmocka_unit_test(test_rootfs_propagation),
      cmocka_unit_test(test_parse_process),
      cmocka_unit_test(test_load),
      cmocka_unit_test(test_ns_names),
      cmocka_unit_test(test_cap_names),
      cmocka_unit_test(test_rlimit_names),
      cmocka_unit_test(test_default_spec),
      cmocka_unit_test(test_lib_config),
  };
  return cmocka_run_group_tests_name("spec", tests, NULL, NULL);
}
