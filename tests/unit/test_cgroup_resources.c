/* Unit tests for linux.resources -> cgroups (cgroup_resources.c) and the
 * pause/events/update helpers (cgroup_stats.c).
 *
 * Most tests run the mapping and the writes against a fake cgroup tree in
 * a temporary directory. The "real" group runs against the kernel when
 * run as root with a cgroup2 hierarchy (and v1 controllers where they
 * exist): the eBPF device filter, both freezers, the pids limit and the v1
 * OOM eventfd; it skips what the host lacks. JSON in this file is written
 * with ' for ". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/json.h"
#include "linux/cgroup.h"
#include "linux/cgroup_resources.h"
#include "linux/cgroup_stats.h"

/* ---- helpers ------------------------------------------------------------ */

static char *dq(const char *s) {
  char *t = strdup(s);
  for (char *p = t; *p; p++)
    if (*p == '\'')
      *p = '"';
  return t;
}

static json_t *J(const char *sq) {
  char *t = dq(sq);
  json_error_t err;
  /* as config.json is read: big uint64 literals wrapped (spec.h) */
  json_t *j = hjson_loadb(t, strlen(t), HJSON_WRAP_UINT64, NULL, &err);
  if (!j)
    fail_msg("bad test JSON %s: %s", t, err.text);
  free(t);
  return j;
}

static char tree[256];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f) {
  (void)st, (void)flag, (void)f;
  return remove(p);
}

static int tree_setup(void **state) {
  (void)state;
  snprintf(tree, sizeof tree, "/tmp/hull-cgres-XXXXXX");
  assert_non_null(mkdtemp(tree));
  return 0;
}

static int tree_teardown(void **state) {
  (void)state;
  nftw(tree, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  return 0;
}

/* TREE/SUB, created; returns a static path (ring of buffers) */
static const char *sub(const char *name) {
  static char bufs[16][400];
  static int k;
  char *b = bufs[k++ % 16];
  snprintf(b, 400, "%s/%s", tree, name);
  mkdir(b, 0755);
  return b;
}

static void put(const char *dir, const char *file, const char *text) {
  char p[600];
  snprintf(p, sizeof p, "%s/%s", dir, file);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static const char *get(const char *dir, const char *file) {
  static char buf[4096];
  char p[600];
  snprintf(p, sizeof p, "%s/%s", dir, file);
  FILE *f = fopen(p, "r");
  if (!f)
    return "(missing)";
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  return buf;
}

static struct cgroup_dir v1dirs[16];
static struct cgroup_set v1set;

/* A v1 host: one hierarchy per controller (net_cls,net_prio together) */
static void make_v1(bool with_v2) {
  static const char *ctrls[] = {"cpu", "cpuacct", "cpuset", "memory",
                                "devices", "freezer", "blkio", "pids",
                                "hugetlb", "net_cls,net_prio", "rdma", NULL};
  size_t n = 0;
  for (int i = 0; ctrls[i]; i++) {
    v1dirs[n].path = (char *)sub(ctrls[i]);
    v1dirs[n].path = strdup(v1dirs[n].path);
    v1dirs[n].controllers = (char *)ctrls[i];
    v1dirs[n].v2 = false;
    n++;
  }
  if (with_v2) {
    v1dirs[n].path = strdup(sub("unified"));
    v1dirs[n].controllers = "";
    v1dirs[n].v2 = true;
    n++;
  }
  v1set.dirs = v1dirs;
  v1set.n = n;
  put(sub("memory"), "memory.limit_in_bytes", "9223372036854771712\n");
  put(sub("memory"), "memory.memsw.limit_in_bytes", "9223372036854771712\n");
}

static void free_v1(void) {
  for (size_t i = 0; i < v1set.n; i++)
    free(v1dirs[i].path);
  v1set.n = 0;
}

static struct cgroup_dir v2dir;
static struct cgroup_set v2set = {&v2dir, 1};
static void make_v2(void) {
  v2dir.path = (char *)sub("v2");
  v2dir.controllers = "";
  v2dir.v2 = true;
}

static const struct cg_write *find(const struct cg_plan *p, const char *file) {
  for (size_t i = 0; i < p->n; i++)
    if (!strcmp(p->w[i].file, file))
      return &p->w[i];
  return NULL;
}

static int idx(const struct cg_plan *p, const char *file) {
  for (size_t i = 0; i < p->n; i++)
    if (!strcmp(p->w[i].file, file))
      return (int)i;
  return -1;
}

#define assert_write(p, file, val)                                             \
  do {                                                                         \
    const struct cg_write *w_ = find(p, file);                                 \
    if (!w_)                                                                   \
      fail_msg("no write to %s", file);                                        \
    assert_string_equal(w_->value, val);                                       \
  } while (0)

static int plan_q(const char *sq, const struct cgroup_set *s, bool update,
                  struct cg_plan *p, struct hull_error *e) {
  json_t *res = J(sq);
  int r = cgroup_resources_validate(res, e);
  if (r == 0) {
    struct cgroup_layout l;
    cgroup_layout_from_set(s, &l);
    struct cg_plan_opts o = {.is_update = update, .default_devices = !update};
    r = cgroup_plan_make(res, &l, &o, p, e);
  }
  json_decref(res);
  return r;
}

/* ---- validation --------------------------------------------------------- */

static void test_validate_messages(void **state) {
  (void)state;
  static const struct {
    const char *in, *msg;
  } cases[] = {
      {"{'devices':[{'allow':true},{'allow':true},{'allow':false,'type':'x'}]}",
       "config.json: linux.resources.devices[2].type: unknown device type \"x\""},
      {"{'devices':[{'type':'c'}]}",
       "config.json: linux.resources.devices[0].allow: missing"},
      {"{'devices':[{'allow':true,'access':'rwx'}]}",
       "config.json: linux.resources.devices[0].access: invalid access \"rwx\": "
       "only r, w and m"},
      {"{'devices':[{'allow':true,'major':-2}]}",
       "config.json: linux.resources.devices[0].major: must be an integer in "
       "-1..4294967295"},
      {"{'devices':{}}", "config.json: linux.resources.devices: must be an array"},
      {"{'devices':[5]}", "config.json: linux.resources.devices[0]: must be an object"},
      {"{'memory':{'limit':'1g'}}",
       "config.json: linux.resources.memory.limit: must be an integer in "
       "-1..9223372036854775807"},
      {"{'memory':{'limit':-2}}",
       "config.json: linux.resources.memory.limit: must be an integer in "
       "-1..9223372036854775807"},
      {"{'memory':{'swappiness':101}}",
       "config.json: linux.resources.memory.swappiness: must be an integer in "
       "0..100"},
      {"{'memory':{'limit':2000,'swap':1000}}",
       "config.json: linux.resources.memory.swap: 1000 is less than "
       "memory.limit 2000 (swap is the limit of memory plus swap)"},
      {"{'memory':{'disableOOMKiller':1}}",
       "config.json: linux.resources.memory.disableOOMKiller: must be a boolean"},
      {"{'memory':[]}", "config.json: linux.resources.memory: must be an object"},
      {"{'cpu':{'shares':'x'}}",
       "config.json: linux.resources.cpu.shares: must be an integer in "
       "0..18446744073709551615"},
      {"{'cpu':{'cpus':'0-3,a'}}",
       "config.json: linux.resources.cpu.cpus: invalid CPU list \"0-3,a\""},
      {"{'cpu':{'mems':7}}", "config.json: linux.resources.cpu.mems: must be a string"},
      {"{'cpu':{'idle':2}}",
       "config.json: linux.resources.cpu.idle: must be an integer in 0..1"},
      {"{'pids':{'limit':1.5}}",
       "config.json: linux.resources.pids.limit: must be an integer in "
       "-9223372036854775808..9223372036854775807"},
      {"{'blockIO':{'weight':2000}}",
       "config.json: linux.resources.blockIO.weight: must be an integer in 0..1000"},
      {"{'blockIO':{'throttleReadBpsDevice':[{'major':8,'minor':0}]}}",
       "config.json: linux.resources.blockIO.throttleReadBpsDevice[0].rate: "
       "missing"},
      {"{'blockIO':{'weightDevice':[{'major':8,'minor':-1,'weight':10}]}}",
       "config.json: linux.resources.blockIO.weightDevice[0].minor: must be an "
       "integer in 0..4294967295"},
      {"{'hugepageLimits':[{'pageSize':'2M','limit':1}]}",
       "config.json: linux.resources.hugepageLimits[0].pageSize: invalid page "
       "size \"2M\" (a number and KB, MB or GB, like \"2MB\")"},
      {"{'hugepageLimits':[{'pageSize':'2MB'}]}",
       "config.json: linux.resources.hugepageLimits[0].limit: missing"},
      {"{'network':{'classID':-1}}",
       "config.json: linux.resources.network.classID: must be an integer in "
       "0..4294967295"},
      {"{'network':{'priorities':[{'name':'eth 0','priority':1}]}}",
       "config.json: linux.resources.network.priorities[0].name: invalid "
       "interface name \"eth 0\""},
      {"{'rdma':{'mlx5_1':{'hcaHandles':'3'}}}",
       "config.json: linux.resources.rdma[\"mlx5_1\"].hcaHandles: must be an "
       "integer in 0..4294967295"},
      {"{'unified':{'../x':'1'}}",
       "config.json: linux.resources.unified[\"../x\"]: must be a file name "
       "like \"memory.high\""},
      {"{'unified':{'memory.high':5}}",
       "config.json: linux.resources.unified[\"memory.high\"]: must be a string"},
      {"{'unified':{'cgroup.procs':'1'}}",
       "config.json: linux.resources.unified[\"cgroup.procs\"]: moving "
       "processes is not a resource setting"},
      {"[]", "config.json: linux.resources: must be an object"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    json_t *j = J(cases[i].in);
    struct hull_error e = {0};
    int r = cgroup_resources_validate(j, &e);
    if (r != -EINVAL)
      fail_msg("case %zu (%s) returned %d", i, cases[i].in, r);
    assert_string_equal(e.msg, cases[i].msg);
    assert_int_equal(e.code, EINVAL);
    json_decref(j);
  }
}

static void test_validate_ok(void **state) {
  (void)state;
  json_t *j = J(
      "{'devices':[{'allow':false,'access':'rwm'},{'allow':true,'type':'c',"
      "  'major':1,'minor':3,'access':'rw'},{'allow':true,'type':'b','major':-1}],"
      " 'memory':{'limit':-1,'reservation':0,'swap':-1,'kernel':0,'kernelTCP':0,"
      "  'swappiness':18446744073709551615,'disableOOMKiller':false,"
      "  'useHierarchy':true,'checkBeforeUpdate':null},"
      " 'cpu':{'shares':1024,'quota':-1,'burst':0,'period':100000,"
      "  'realtimeRuntime':0,'realtimePeriod':0,'cpus':'0-1','mems':'0','idle':0},"
      " 'pids':{'limit':0},"
      " 'blockIO':{'weight':10,'leafWeight':0,'weightDevice':[{'major':8,"
      "  'minor':0,'weight':500}],'throttleReadBpsDevice':[{'major':8,'minor':0,"
      "  'rate':18446744073709551615}]},"
      " 'hugepageLimits':[{'pageSize':'1GB','limit':0}],"
      " 'network':{'classID':1048577,'priorities':[{'name':'eth0','priority':5}]},"
      " 'rdma':{'mlx5_1':{'hcaHandles':3,'hcaObjects':10000}},"
      " 'unified':{'memory.high':'max'},'futureField':{'x':1}}");
  struct hull_error e = {0};
  int r = cgroup_resources_validate(j, &e);
  if (r)
    fail_msg("%s", e.msg);
  assert_int_equal(cgroup_resources_validate(NULL, &e), 0);
  json_decref(j);
}

static void test_validate_prefix(void **state) {
  (void)state;
  json_t *j = J("{'memory':{'limit':true}}");
  struct hull_error e = {0};
  assert_int_equal(cgroup_resources_validate_as(j, "resources.json", &e), -EINVAL);
  assert_string_equal(e.msg, "resources.json: memory.limit: must be an integer in "
                             "-1..9223372036854775807");
  json_decref(j);
}

/* ---- conversions -------------------------------------------------------- */

static void test_conversions(void **state) {
  (void)state;
  assert_int_equal(cgroup_shares_to_weight(0), 0);
  assert_int_equal(cgroup_shares_to_weight(2), 1);
  assert_int_equal(cgroup_shares_to_weight(1), 1);
  assert_int_equal(cgroup_shares_to_weight(1024), 39);
  assert_int_equal(cgroup_shares_to_weight(512), 20);
  assert_int_equal(cgroup_shares_to_weight(262144), 10000);
  assert_int_equal(cgroup_shares_to_weight(1000000), 10000);
  assert_int_equal(cgroup_blkio_to_io_weight(0), 0);
  assert_int_equal(cgroup_blkio_to_io_weight(10), 1);
  assert_int_equal(cgroup_blkio_to_io_weight(500), 4950);
  assert_int_equal(cgroup_blkio_to_io_weight(1000), 10000);
  int64_t out;
  struct hull_error e = {0};
  assert_int_equal(cgroup_swap_to_v2(300, 100, &out, &e), 0);
  assert_int_equal(out, 200);
  assert_int_equal(cgroup_swap_to_v2(100, 100, &out, &e), 0);
  assert_int_equal(out, 0);
  assert_int_equal(cgroup_swap_to_v2(0, -1, &out, &e), 0);
  assert_int_equal(out, -1);
  assert_int_equal(cgroup_swap_to_v2(-1, 100, &out, &e), 0);
  assert_int_equal(out, -1);
  assert_int_equal(cgroup_swap_to_v2(0, 100, &out, &e), 0);
  assert_int_equal(out, 0);
  assert_int_equal(cgroup_swap_to_v2(300, 0, &out, &e), -EINVAL);
  assert_string_equal(e.msg, "linux.resources.memory.swap 300: a swap limit "
                             "needs a memory limit");
  assert_int_equal(cgroup_swap_to_v2(50, 100, &out, &e), -EINVAL);
  assert_string_equal(e.msg, "linux.resources.memory.swap 50: less than "
                             "memory.limit 100 (swap is the limit of memory plus "
                             "swap)");
}

/* ---- v1 mapping --------------------------------------------------------- */

static void test_v1_mapping(void **state) {
  (void)state;
  make_v1(false);
  put(sub("blkio"), "blkio.weight", "500\n");
  struct cg_plan p;
  struct hull_error e = {0};
  int r = plan_q(
      "{'memory':{'limit':67108864,'swap':134217728,'reservation':33554432,"
      "  'swappiness':10,'disableOOMKiller':true,'kernel':1},"
      " 'cpu':{'shares':512,'quota':50000,'period':100000,'burst':1000,"
      "  'realtimeRuntime':950,'realtimePeriod':1000,'cpus':'0-1','mems':'0',"
      "  'idle':1},"
      " 'pids':{'limit':-1},"
      " 'blockIO':{'weight':300,'weightDevice':[{'major':8,'minor':0,"
      "  'weight':200,'leafWeight':20}],'throttleReadBpsDevice':[{'major':8,"
      "  'minor':0,'rate':1048576}],'throttleWriteIOPSDevice':[{'major':8,"
      "  'minor':16,'rate':100}]},"
      " 'hugepageLimits':[{'pageSize':'2MB','limit':4194304}],"
      " 'network':{'classID':1048577,'priorities':[{'name':'eth0','priority':5}]},"
      " 'rdma':{'mlx5_1':{'hcaHandles':3}}}",
      &v1set, false, &p, &e);
  if (r)
    fail_msg("%s", e.msg);
  assert_write(&p, "memory.limit_in_bytes", "67108864");
  assert_write(&p, "memory.memsw.limit_in_bytes", "134217728");
  /* current limit is higher than the new swap: memory first */
  assert_true(idx(&p, "memory.limit_in_bytes") < idx(&p, "memory.memsw.limit_in_bytes"));
  assert_write(&p, "memory.soft_limit_in_bytes", "33554432");
  assert_write(&p, "memory.swappiness", "10");
  assert_write(&p, "memory.oom_control", "1");
  assert_non_null(strstr(p.warnings, "memory.kernel"));
  assert_write(&p, "cpu.shares", "512");
  assert_true(find(&p, "cpu.shares")->flags & CGW_VERIFY);
  assert_write(&p, "cpu.cfs_quota_us", "50000");
  assert_write(&p, "cpu.cfs_period_us", "100000");
  assert_write(&p, "cpu.cfs_burst_us", "1000");
  assert_write(&p, "cpu.rt_runtime_us", "950");
  assert_write(&p, "cpu.rt_period_us", "1000");
  assert_true(idx(&p, "cpu.rt_period_us") < idx(&p, "cpu.rt_runtime_us"));
  assert_write(&p, "cpu.idle", "1");
  assert_write(&p, "cpuset.cpus", "0-1");
  assert_write(&p, "cpuset.mems", "0");
  assert_string_equal(find(&p, "cpuset.cpus")->dir, sub("cpuset"));
  assert_write(&p, "pids.max", "max");
  assert_write(&p, "blkio.weight", "300");
  assert_write(&p, "blkio.weight_device", "8:0 200");
  assert_write(&p, "blkio.leaf_weight_device", "8:0 20");
  assert_write(&p, "blkio.throttle.read_bps_device", "8:0 1048576");
  assert_write(&p, "blkio.throttle.write_iops_device", "8:16 100");
  assert_string_equal(find(&p, "blkio.throttle.read_bps_device")->key, "8:0");
  assert_string_equal(find(&p, "blkio.throttle.read_bps_device")->reset, "8:0 0");
  assert_write(&p, "hugetlb.2MB.limit_in_bytes", "4194304");
  assert_write(&p, "net_cls.classid", "1048577");
  assert_write(&p, "net_prio.ifpriomap", "eth0 5");
  assert_string_equal(find(&p, "net_cls.classid")->dir, sub("net_cls,net_prio"));
  assert_write(&p, "rdma.max", "mlx5_1 hca_handle=3");
  assert_null(p.bpf_dir);
  cgroup_plan_free(&p);
  free_v1();
}

static void test_v1_swap_order_and_unlimited(void **state) {
  (void)state;
  make_v1(false);
  struct cg_plan p;
  struct hull_error e = {0};
  /* raising: the current limit (100) is below the new swap: swap first */
  put(sub("memory"), "memory.limit_in_bytes", "100\n");
  assert_int_equal(plan_q("{'memory':{'limit':300,'swap':600}}", &v1set, true, &p, &e), 0);
  assert_true(idx(&p, "memory.memsw.limit_in_bytes") < idx(&p, "memory.limit_in_bytes"));
  cgroup_plan_free(&p);
  /* -1 without swap: both unlimited, swap first */
  assert_int_equal(plan_q("{'memory':{'limit':-1}}", &v1set, true, &p, &e), 0);
  assert_write(&p, "memory.memsw.limit_in_bytes", "-1");
  assert_write(&p, "memory.limit_in_bytes", "-1");
  assert_true(idx(&p, "memory.memsw.limit_in_bytes") < idx(&p, "memory.limit_in_bytes"));
  cgroup_plan_free(&p);
  /* update: a false disableOOMKiller is written, absent fields are not */
  assert_int_equal(plan_q("{'memory':{'disableOOMKiller':false},'cpu':{}}", &v1set,
                          true, &p, &e),
                   0);
  assert_int_equal(p.n, 1);
  assert_write(&p, "memory.oom_control", "0");
  cgroup_plan_free(&p);
  /* pids 0 and negative mean max; update leaves devices alone */
  assert_int_equal(plan_q("{'pids':{'limit':0},'devices':[{'allow':true}]}",
                          &v1set, true, &p, &e),
                   0);
  assert_int_equal(p.n, 1);
  assert_write(&p, "pids.max", "max");
  cgroup_plan_free(&p);
  free_v1();
}

static void test_v1_devices_text(void **state) {
  (void)state;
  make_v1(false);
  struct cg_plan p;
  struct hull_error e = {0};
  assert_int_equal(
      plan_q("{'devices':[{'allow':false,'access':'rwm'},"
             "{'allow':true,'type':'c','major':10,'minor':229,'access':'rw'},"
             "{'allow':false,'type':'b','major':8},{'allow':true,'type':'a'}]}",
             &v1set, false, &p, &e),
      0);
  static const char *const want[][2] = {
      {"devices.deny", "a"},          {"devices.deny", "a"},
      {"devices.allow", "c 10:229 rw"}, {"devices.deny", "b 8:* rwm"},
      {"devices.allow", "a"},         {"devices.allow", "c *:* m"},
      {"devices.allow", "b *:* m"},   {"devices.allow", "c 1:3 rwm"},
      {"devices.allow", "c 1:8 rwm"}, {"devices.allow", "c 1:7 rwm"},
      {"devices.allow", "c 5:0 rwm"}, {"devices.allow", "c 1:5 rwm"},
      {"devices.allow", "c 1:9 rwm"}, {"devices.allow", "c 136:* rwm"},
      {"devices.allow", "c 5:2 rwm"}, {"devices.allow", "c 10:200 rwm"},
  };
  assert_int_equal(p.n, sizeof want / sizeof *want);
  for (size_t i = 0; i < p.n; i++) {
    assert_string_equal(p.w[i].file, want[i][0]);
    assert_string_equal(p.w[i].value, want[i][1]);
    assert_string_equal(p.w[i].dir, sub("devices"));
    assert_true(p.w[i].flags & CGW_NO_RESTORE);
  }
  assert_string_equal(p.w[2].field, "linux.resources.devices[1]");
  cgroup_plan_free(&p);

  /* linux.devices entries are not allowed by themselves (runc); one with
   * the path of a default rule drops that rule */
  struct spec_device devs[] = {{.path = "/dev/fuse", .type = 'c', .major = 10, .minor = 229},
                               {.path = "/dev/null", .type = 'c', .major = 1, .minor = 3}};
  struct cgroup_layout l;
  cgroup_layout_from_set(&v1set, &l);
  struct cg_plan_opts o = {.default_devices = true, .devices = devs, .n_devices = 2};
  assert_int_equal(cgroup_plan_make(NULL, &l, &o, &p, &e), 0);
  assert_int_equal(p.n, 1 + 10);
  for (size_t i = 0; i < p.n; i++) {
    assert_string_not_equal(p.w[i].value, "c 1:3 rwm");
    assert_string_not_equal(p.w[i].value, "c 10:229 rwm");
  }
  cgroup_plan_free(&p);
  free_v1();
}

static void test_missing_controllers(void **state) {
  (void)state;
  /* only memory and cpu: pids, unified and net_cls are errors */
  struct cgroup_dir d[2] = {{strdup(sub("memory")), "memory", false, 0},
                            {strdup(sub("cpu")), "cpu,cpuacct", false, 0}};
  struct cgroup_set s = {d, 2};
  struct cg_plan p;
  struct hull_error e = {0};
  assert_int_equal(plan_q("{'pids':{'limit':5}}", &s, true, &p, &e), -ENOTSUP);
  assert_string_equal(e.msg, "linux.resources.pids.limit: the pids cgroup "
                             "controller is not available on this host");
  assert_int_equal(plan_q("{'unified':{'memory.high':'1'}}", &s, true, &p, &e),
                   -ENOTSUP);
  assert_string_equal(e.msg, "linux.resources.unified: requires cgroup v2");
  assert_int_equal(plan_q("{'network':{'classID':1}}", &s, true, &p, &e), -ENOTSUP);
  assert_string_equal(e.msg, "linux.resources.network.classID: the net_cls "
                             "cgroup controller is not available on this host");
  /* no devices controller and no cgroup2: refuse rather than not restrict */
  assert_int_equal(plan_q("{}", &s, false, &p, &e), -ENOTSUP);
  assert_non_null(strstr(e.msg, "device access cannot be restricted"));
  /* cpu,cpuacct hierarchy serves cpu */
  assert_int_equal(plan_q("{'cpu':{'shares':100}}", &s, true, &p, &e), 0);
  assert_string_equal(find(&p, "cpu.shares")->dir, d[1].path);
  cgroup_plan_free(&p);
  free(d[0].path);
  free(d[1].path);
}

/* ---- v2 mapping --------------------------------------------------------- */

static void test_v2_mapping(void **state) {
  (void)state;
  make_v2();
  struct cg_plan p;
  struct hull_error e = {0};
  int r = plan_q(
      "{'memory':{'limit':1000,'swap':3000,'reservation':500,"
      "  'disableOOMKiller':true,'swappiness':5},"
      " 'cpu':{'shares':1024,'quota':50000,'period':100000,'burst':1000,'idle':0,"
      "  'cpus':'1','mems':'0'},"
      " 'pids':{'limit':-1},"
      " 'blockIO':{'weight':500,'leafWeight':20,'weightDevice':[{'major':8,"
      "  'minor':0,'weight':10}],'throttleReadBpsDevice':[{'major':8,'minor':0,"
      "  'rate':1000}],'throttleWriteIOPSDevice':[{'major':8,'minor':0,"
      "  'rate':0}]},"
      " 'hugepageLimits':[{'pageSize':'2MB','limit':2097152}],"
      " 'network':{'classID':5},"
      " 'unified':{'memory.high':'900','memory.oom.group':'1'},"
      " 'devices':[{'allow':false,'access':'rwm'},{'allow':true,'type':'c',"
      "  'major':1,'minor':3,'access':'rwm'}]}",
      &v2set, false, &p, &e);
  if (r)
    fail_msg("%s", e.msg);
  assert_write(&p, "memory.swap.max", "2000");
  assert_write(&p, "memory.max", "1000");
  assert_write(&p, "memory.low", "500");
  assert_true(idx(&p, "memory.swap.max") < idx(&p, "memory.max"));
  assert_null(find(&p, "memory.oom_control"));
  assert_non_null(strstr(p.warnings, "disableOOMKiller"));
  assert_non_null(strstr(p.warnings, "swappiness"));
  assert_non_null(strstr(p.warnings, "network"));
  assert_non_null(strstr(p.warnings, "leafWeight"));
  assert_write(&p, "cpu.weight", "39");
  assert_write(&p, "cpu.max", "50000 100000");
  assert_write(&p, "cpu.max.burst", "1000");
  assert_write(&p, "cpu.idle", "0");
  assert_write(&p, "cpuset.cpus", "1");
  assert_write(&p, "cpuset.mems", "0");
  assert_write(&p, "pids.max", "max");
  assert_write(&p, "io.weight", "4950");
  assert_int_equal(idx(&p, "io.max") >= 0, 1);
  assert_string_equal(p.w[idx(&p, "io.max")].value, "8:0 rbps=1000");
  assert_string_equal(p.w[idx(&p, "io.max") + 1].value, "8:0 wiops=max");
  assert_string_equal(p.w[idx(&p, "io.weight") + 1].value, "8:0 1");
  assert_write(&p, "hugetlb.2MB.max", "2097152");
  assert_write(&p, "hugetlb.2MB.rsvd.max", "2097152");
  assert_true(find(&p, "hugetlb.2MB.rsvd.max")->flags & CGW_ENOENT_OK);
  assert_write(&p, "memory.high", "900");
  assert_write(&p, "memory.oom.group", "1");
  assert_int_equal(idx(&p, "memory.oom.group"), (int)p.n - 1); /* unified last */
  assert_null(find(&p, "devices.allow"));
  assert_string_equal(p.bpf_dir, v2dir.path);
  assert_int_equal(p.n_rules, 3 + 11); /* deny all, 2 rules, runc's 11 */
  /* pure v2 create: enable the controllers on the way */
  assert_string_equal(p.enable_dir, v2dir.path);
  assert_int_equal(p.enable_v2, ~0u);
  cgroup_plan_free(&p);

  /* io.bfq.weight takes the v1 range */
  put(v2dir.path, "io.bfq.weight", "default 100\n");
  assert_int_equal(plan_q("{'blockIO':{'weight':500}}", &v2set, true, &p, &e), 0);
  assert_write(&p, "io.bfq.weight", "500");
  assert_int_equal(p.enable_v2, 0u);
  cgroup_plan_free(&p);
}

static void test_v2_swap_and_update(void **state) {
  (void)state;
  make_v2();
  struct cg_plan p;
  struct hull_error e = {0};
  /* -1 without swap: both max */
  assert_int_equal(plan_q("{'memory':{'limit':-1}}", &v2set, false, &p, &e), 0);
  assert_write(&p, "memory.swap.max", "max");
  assert_write(&p, "memory.max", "max");
  cgroup_plan_free(&p);
  /* swap == limit: no swap */
  assert_int_equal(plan_q("{'memory':{'limit':4096,'swap':4096}}", &v2set, false, &p, &e),
                   0);
  assert_write(&p, "memory.swap.max", "0");
  cgroup_plan_free(&p);
  /* create: swap without a limit is refused */
  assert_int_equal(plan_q("{'memory':{'swap':4096}}", &v2set, false, &p, &e), -EINVAL);
  assert_string_equal(e.msg, "linux.resources.memory.swap 4096: a swap limit "
                             "needs a memory limit");
  /* update: swap alone is relative to the current memory.max */
  put(v2dir.path, "memory.max", "4096\n");
  assert_int_equal(plan_q("{'memory':{'swap':10000}}", &v2set, true, &p, &e), 0);
  assert_write(&p, "memory.swap.max", "5904");
  assert_null(find(&p, "memory.max"));
  cgroup_plan_free(&p);
  /* update: the period alone keeps the current quota */
  put(v2dir.path, "cpu.max", "20000 100000\n");
  assert_int_equal(plan_q("{'cpu':{'period':50000}}", &v2set, true, &p, &e), 0);
  assert_write(&p, "cpu.max", "20000 50000");
  cgroup_plan_free(&p);
  /* the quota alone keeps the period (the kernel does) */
  assert_int_equal(plan_q("{'cpu':{'quota':30000}}", &v2set, true, &p, &e), 0);
  assert_write(&p, "cpu.max", "30000");
  cgroup_plan_free(&p);
  assert_int_equal(plan_q("{'cpu':{'quota':-1}}", &v2set, true, &p, &e), 0);
  assert_write(&p, "cpu.max", "max");
  cgroup_plan_free(&p);
  /* checkBeforeUpdate: below the current usage is refused up front */
  put(v2dir.path, "memory.current", "8192\n");
  assert_int_equal(plan_q("{'memory':{'limit':4096,'checkBeforeUpdate':true}}",
                          &v2set, true, &p, &e),
                   -EBUSY);
  assert_string_equal(e.msg, "linux.resources.memory.limit 4096: below the "
                             "current usage 8192 (checkBeforeUpdate)");
  /* realtime is v1 only */
  assert_int_equal(plan_q("{'cpu':{'realtimeRuntime':100}}", &v2set, true, &p, &e),
                   -ENOTSUP);
  assert_string_equal(e.msg, "linux.resources.cpu.realtimeRuntime: realtime "
                             "limits are not supported on cgroup v2");
}

static void test_hybrid_layout(void **state) {
  (void)state;
  make_v1(true);
  /* a hybrid host without v1 hugetlb whose cgroup2 offers it */
  struct cgroup_dir d[16];
  size_t n = 0;
  for (size_t i = 0; i < v1set.n; i++)
    if (strcmp(v1dirs[i].controllers, "hugetlb"))
      d[n++] = v1dirs[i];
  struct cgroup_set s = {d, n};
  const char *uni = sub("unified");
  put(uni, "cgroup.controllers", "hugetlb misc\n");
  struct cgroup_layout l;
  cgroup_layout_from_set(&s, &l);
  assert_true(l.any_v1);
  assert_string_equal(l.unified, uni);
  assert_string_equal(l.dir[CG_HUGETLB], uni);
  assert_true(l.v2[CG_HUGETLB]);
  assert_false(l.v2[CG_MEMORY]);
  assert_false(l.v2[CG_DEVICES]); /* v1 devices, as runc in hybrid mode */
  assert_false(l.v2[CG_FREEZER]);
  struct cg_plan p;
  struct hull_error e = {0};
  assert_int_equal(plan_q("{'hugepageLimits':[{'pageSize':'2MB','limit':0}],"
                          "'unified':{'hugetlb.1GB.max':'0'},"
                          "'memory':{'limit':4096}}",
                          &s, false, &p, &e),
                   0);
  assert_write(&p, "hugetlb.2MB.max", "0");
  assert_write(&p, "memory.limit_in_bytes", "4096");
  assert_write(&p, "hugetlb.1GB.max", "0");
  assert_string_equal(find(&p, "hugetlb.1GB.max")->dir, uni);
  assert_int_equal(p.enable_v2, 1u << CG_HUGETLB);
  assert_string_equal(p.enable_dir, uni);
  assert_non_null(find(&p, "devices.deny"));
  cgroup_plan_free(&p);
  /* the cgroup2 root does not offer it: not available */
  put(uni, "cgroup.controllers", "misc\n");
  cgroup_layout_from_set(&s, &l);
  assert_null(l.dir[CG_HUGETLB]);
  assert_int_equal(plan_q("{'hugepageLimits':[{'pageSize':'2MB','limit':0}]}",
                          &s, true, &p, &e),
                   -ENOTSUP);
  assert_string_equal(e.msg, "linux.resources.hugepageLimits[0].limit: the "
                             "hugetlb cgroup controller is not available on this "
                             "host");
  free_v1();
}

/* ---- executing, rollback ------------------------------------------------ */

static void test_rollback(void **state) {
  (void)state;
  make_v1(false);
  const char *mem = sub("memory"), *cpu = sub("cpu"), *pids = sub("pids"),
             *blk = sub("blkio");
  put(mem, "memory.limit_in_bytes", "100\n");
  put(mem, "memory.memsw.limit_in_bytes", "200\n");
  put(mem, "memory.oom_control", "oom_kill_disable 1\nunder_oom 0\noom_kill 0\n");
  put(cpu, "cpu.shares", "1024\n");
  put(pids, "pids.max", "max\n");
  put(blk, "blkio.throttle.read_bps_device", "8:0 100\n254:0\t555\n");
  put(blk, "blkio.throttle.write_bps_device", "8:0 100\n");
  put(sub("cpuset"), "cpuset.cpus", "0-1\n");
  /* rdma.max is a directory here: writing it fails (EISDIR), after the
   * memory, cpu, pids and blkio writes */
  char p[600];
  snprintf(p, sizeof p, "%s/rdma.max", sub("rdma"));
  mkdir(p, 0755);
  const char *upd =
      "{'memory':{'limit':300,'swap':600,'disableOOMKiller':false},"
      " 'blockIO':{'throttleReadBpsDevice':[{'major':254,'minor':0,'rate':1}],"
      "  'throttleWriteBpsDevice':[{'major':254,'minor':0,'rate':2}]},"
      " 'cpu':{'shares':512,'cpus':'0'},'pids':{'limit':5},"
      " 'rdma':{'mlx5_1':{'hcaHandles':1}}}";
  json_t *res = J(upd);
  struct hull_error e = {0};
  int r = cgroup_apply_resources(&v1set, res, true, &e);
  assert_int_equal(r, -EISDIR);
  assert_string_equal(e.msg, "linux.resources.rdma.mlx5_1 hca_handle=1: Is a "
                             "directory");
  /* everything written before is back */
  assert_string_equal(get(mem, "memory.limit_in_bytes"), "100");
  assert_string_equal(get(mem, "memory.memsw.limit_in_bytes"), "200");
  assert_string_equal(get(mem, "memory.oom_control"), "1");
  assert_string_equal(get(cpu, "cpu.shares"), "1024");
  assert_string_equal(get(sub("cpuset"), "cpuset.cpus"), "0-1");
  assert_string_equal(get(pids, "pids.max"), "max");
  /* keyed files: the old line of that device, or its reset */
  assert_string_equal(get(blk, "blkio.throttle.read_bps_device"), "254:0 555");
  assert_string_equal(get(blk, "blkio.throttle.write_bps_device"), "254:0 0");

  /* create (no rollback): what was written stays */
  put(mem, "memory.limit_in_bytes", "100\n");
  r = cgroup_apply_resources(&v1set, res, false, &e);
  assert_int_equal(r, -EISDIR);
  assert_string_equal(get(mem, "memory.limit_in_bytes"), "300");
  json_decref(res);

  /* success */
  rmdir(p);
  put(sub("rdma"), "rdma.max", "");
  res = J(upd);
  put(mem, "memory.limit_in_bytes", "100\n");
  assert_int_equal(cgroup_apply_resources(&v1set, res, true, &e), 0);
  assert_string_equal(get(mem, "memory.limit_in_bytes"), "300");
  assert_string_equal(get(sub("cpuset"), "cpuset.cpus"), "0");
  assert_string_equal(get(pids, "pids.max"), "5");
  assert_string_equal(get(sub("rdma"), "rdma.max"), "mlx5_1 hca_handle=1");
  json_decref(res);
  free_v1();
}

static void test_write_errors(void **state) {
  (void)state;
  make_v2();
  struct cg_plan p;
  struct hull_error e = {0};
  assert_int_equal(plan_q("{'pids':{'limit':7}}", &v2set, true, &p, &e), 0);
  /* pids.max does not exist in the fake tree */
  assert_int_equal(cgroup_plan_execute(&p, true, &e), -ENOENT);
  char want[700];
  snprintf(want, sizeof want,
           "linux.resources.pids.limit 7: %s/pids.max: No such file or directory "
           "(not supported by this kernel, or the controller is not enabled)",
           v2dir.path);
  assert_string_equal(e.msg, want);
  cgroup_plan_free(&p);
  /* a missing file is fine for "max"/"0" swap (no swap accounting) */
  assert_int_equal(plan_q("{'memory':{'limit':-1}}", &v2set, true, &p, &e), 0);
  put(v2dir.path, "memory.max", "1\n");
  assert_int_equal(cgroup_plan_execute(&p, true, &e), 0);
  assert_string_equal(get(v2dir.path, "memory.max"), "max");
  cgroup_plan_free(&p);
  /* the read-back check of cpu.shares */
  make_v1(false);
  put(sub("cpu"), "cpu.shares", "1024\n");
  assert_int_equal(plan_q("{'cpu':{'shares':5}}", &v1set, true, &p, &e), 0);
  assert_int_equal(cgroup_plan_execute(&p, true, &e), 0); /* a file keeps it */
  cgroup_plan_free(&p);
  free_v1();
}

/* ---- devices: emulation and the eBPF program ---------------------------- */

static void test_device_emulation(void **state) {
  (void)state;
  struct cg_dev_rule rules[] = {
      {false, 'a', -1, -1, 7},
      {true, 'c', 1, 3, CG_DEV_READ},
      {true, 'c', 1, 3, CG_DEV_WRITE}, /* merges with the one above */
      {true, 'c', 136, -1, 7},
      {false, 'c', 136, -1, CG_DEV_MKNOD}, /* takes m away */
      {true, 'b', 8, 0, 7},
      {false, 'b', 8, 0, 7}, /* removes it */
  };
  bool allow;
  struct cg_dev_rule *exc;
  size_t n;
  assert_int_equal(cgroup_dev_emulate(rules, 7, &allow, &exc, &n), 0);
  assert_false(allow);
  assert_int_equal(n, 2);
  assert_int_equal(exc[0].access, CG_DEV_READ | CG_DEV_WRITE);
  assert_int_equal(exc[1].access, CG_DEV_READ | CG_DEV_WRITE);
  assert_true(cgroup_dev_allowed(allow, exc, n, 'c', 1, 3, CG_DEV_READ | CG_DEV_WRITE));
  assert_false(cgroup_dev_allowed(allow, exc, n, 'c', 1, 3, CG_DEV_MKNOD));
  assert_true(cgroup_dev_allowed(allow, exc, n, 'c', 136, 7, CG_DEV_READ));
  assert_false(cgroup_dev_allowed(allow, exc, n, 'c', 136, 7, CG_DEV_MKNOD));
  assert_false(cgroup_dev_allowed(allow, exc, n, 'b', 8, 0, CG_DEV_READ));
  assert_false(cgroup_dev_allowed(allow, exc, n, 'c', 1, 5, CG_DEV_READ));
  free(exc);
  /* allow all, then deny exceptions */
  struct cg_dev_rule r2[] = {{true, 'a', -1, -1, 7}, {false, 'c', 1, 5, CG_DEV_WRITE}};
  assert_int_equal(cgroup_dev_emulate(r2, 2, &allow, &exc, &n), 0);
  assert_true(allow);
  assert_true(cgroup_dev_allowed(allow, exc, n, 'c', 1, 5, CG_DEV_READ));
  assert_false(cgroup_dev_allowed(allow, exc, n, 'c', 1, 5, CG_DEV_READ | CG_DEV_WRITE));
  assert_true(cgroup_dev_allowed(allow, exc, n, 'b', 8, 0, 7));
  free(exc);
  char text[32];
  cgroup_dev_rule_text(&rules[4], text, sizeof text);
  assert_string_equal(text, "c 136:* m");
  cgroup_dev_rule_text(&rules[0], text, sizeof text);
  assert_string_equal(text, "a");

  void *insns;
  size_t ni;
  assert_int_equal(cgroup_dev_bpf_build(rules, 7, &insns, &ni), 0);
  /* prologue 6, exceptions (type, 3 access, major, [minor], 2), epilogue 2 */
  assert_int_equal(ni, 6 + (1 + 3 + 2 + 2) + (1 + 3 + 1 + 2) + 2);
  free(insns);
}

/* ---- update flags ------------------------------------------------------- */

static void test_parse_ram(void **state) {
  (void)state;
  static const struct {
    const char *in;
    int64_t want;
  } ok[] = {{"1024", 1024},         {"512m", 536870912},   {"512M", 536870912},
            {"1g", 1073741824},     {"1gb", 1073741824},   {"1GiB", 1073741824},
            {"1.5g", 1610612736},   {"2 GiB", 2147483648}, {"64kb", 65536},
            {"64k", 65536},         {"10b", 10},           {"1t", 1099511627776},
            {"1p", 1125899906842624}, {"0", 0},            {".5k", 512}};
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    int64_t v = -7;
    if (cgroup_parse_ram(ok[i].in, &v) != 0 || v != ok[i].want)
      fail_msg("%s: got %lld", ok[i].in, (long long)v);
  }
  static const char *bad[] = {"", "m", "12x", "1bb", "1mbb", "-5", "1gig",
                              "1 2m", "nan", "1e400g", "1m b", "0x"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int64_t v;
    if (cgroup_parse_ram(bad[i], &v) == 0)
      fail_msg("\"%s\" was accepted as %lld", bad[i], (long long)v);
  }
}

static void test_update_args(void **state) {
  (void)state;
  struct cgroup_update_args a = {0};
  assert_int_equal(cgroup_update_args_set(&a, "memory", "512m"), 0);
  assert_int_equal(cgroup_update_args_set(&a, "--memory-swap", "1g"), 0);
  assert_int_equal(cgroup_update_args_set(&a, "memory-reservation", "-1"), 0);
  assert_int_equal(cgroup_update_args_set(&a, "cpu-share", "512"), 0);
  assert_int_equal(cgroup_update_args_set(&a, "cpu-quota", "-1"), 0);
  assert_int_equal(cgroup_update_args_set(&a, "cpu-period", "100000"), 0);
  assert_int_equal(cgroup_update_args_set(&a, "cpu-rt-runtime", "950"), 0);
  assert_int_equal(cgroup_update_args_set(&a, "cpu-rt-period", "1000"), 0);
  assert_int_equal(cgroup_update_args_set(&a, "cpuset-cpus", "0-1"), 0);
  assert_int_equal(cgroup_update_args_set(&a, "cpuset-mems", "0"), 0);
  assert_int_equal(cgroup_update_args_set(&a, "pids-limit", "0x10"), 0);
  assert_int_equal(cgroup_update_args_set(&a, "blkio-weight", "0"), 0);
  assert_int_equal(cgroup_update_args_set(&a, "kernel-memory", "1g"), 0);
  assert_int_equal(cgroup_update_args_set(&a, "no-such-flag", "1"), -ENOENT);
  json_t *res;
  struct hull_error e = {0};
  int r = cgroup_update_args_to_resources(&a, &res, &e);
  if (r)
    fail_msg("%s", e.msg);
  json_t *want = J("{'memory':{'limit':536870912,'swap':1073741824,'reservation':-1},"
                   " 'cpu':{'shares':512,'quota':-1,'period':100000,"
                   "  'realtimeRuntime':950,'realtimePeriod':1000,'cpus':'0-1',"
                   "  'mems':'0'},'pids':{'limit':16}}");
  if (!json_equal(res, want)) {
    char *t = json_dumps(res, JSON_SORT_KEYS);
    fail_msg("got %s", t);
  }
  json_decref(res);
  json_decref(want);

  struct cgroup_update_args b = {.cpu_period = "abc"};
  assert_int_equal(cgroup_update_args_to_resources(&b, &res, &e), -EINVAL);
  assert_string_equal(e.msg, "invalid value for --cpu-period: \"abc\": not an "
                             "unsigned integer");
  struct cgroup_update_args c = {.memory = "12x"};
  assert_int_equal(cgroup_update_args_to_resources(&c, &res, &e), -EINVAL);
  assert_string_equal(e.msg, "invalid value for --memory: \"12x\": not a size "
                             "(like 1024, 512m, 1.5g)");
  struct cgroup_update_args d = {.blkio_weight = "5000"};
  assert_int_equal(cgroup_update_args_to_resources(&d, &res, &e), -EINVAL);
  assert_string_equal(e.msg, "update: blockIO.weight: must be an integer in 0..1000");
  struct cgroup_update_args f = {0};
  assert_int_equal(cgroup_update_args_to_resources(&f, &res, &e), 0);
  assert_int_equal(json_object_size(res), 0);
  json_decref(res);
}

static void test_update_resources_file(void **state) {
  (void)state;
  char path[600];
  snprintf(path, sizeof path, "%s/res.json", tree);
  put(tree, "res.json",
      "{\"memory\":{\"limit\":1048576},\"cpu\":{\"period\":18446744073709551615}}");
  /* -r wins over the other flags, as in runc */
  struct cgroup_update_args a = {.resources_file = path, .memory = "1g"};
  json_t *res;
  struct hull_error e = {0};
  int r = cgroup_update_args_to_resources(&a, &res, &e);
  if (r)
    fail_msg("%s", e.msg);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "memory"),
                                                      "limit")),
                   1048576);
  assert_true((uint64_t)json_integer_value(json_object_get(
                  json_object_get(res, "cpu"), "period")) == UINT64_MAX);
  json_decref(res);
  put(tree, "res.json", "{\"memory\":{\"limit\":\"big\"}}");
  assert_int_equal(cgroup_update_args_to_resources(&a, &res, &e), -EINVAL);
  char want[700];
  snprintf(want, sizeof want,
           "%s: memory.limit: must be an integer in -1..9223372036854775807", path);
  assert_string_equal(e.msg, want);
  put(tree, "res.json", "{\"memory\":");
  assert_int_equal(cgroup_update_args_to_resources(&a, &res, &e), -EINVAL);
  assert_non_null(strstr(e.msg, "res.json: line 1"));
}

/* ---- stats on fake trees ------------------------------------------------ */

static json_t *data_of(json_t *ev) { return json_object_get(ev, "data"); }
static json_int_t at(json_t *o, const char *path) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", path);
  json_t *v = o;
  for (char *t = strtok(buf, "."); t && v; t = strtok(NULL, "."))
    v = json_object_get(v, t);
  if (!v)
    fail_msg("no %s", path);
  return json_integer_value(v);
}

static void test_stats_v1(void **state) {
  (void)state;
  make_v1(false);
  const char *acct = sub("cpuacct"), *cpu = sub("cpu"), *mem = sub("memory"),
             *pids = sub("pids"), *blk = sub("blkio");
  put(acct, "cpuacct.usage", "12345\n");
  put(acct, "cpuacct.usage_percpu", "100 200 \n");
  put(acct, "cpuacct.usage_all", "cpu user system\n0 10 20\n1 30 40\n");
  put(acct, "cpuacct.stat", "user 5\nsystem 7\n");
  put(cpu, "cpu.stat", "nr_periods 3\nnr_throttled 1\nthrottled_time 999\n");
  put(mem, "memory.usage_in_bytes", "4096\n");
  put(mem, "memory.max_usage_in_bytes", "8192\n");
  put(mem, "memory.failcnt", "2\n");
  put(mem, "memory.limit_in_bytes", "1048576\n");
  put(mem, "memory.stat", "cache 77\nrss 88\n");
  put(pids, "pids.current", "3\n");
  put(pids, "pids.max", "max\n");
  put(blk, "blkio.throttle.io_service_bytes_recursive",
      "8:0 Read 100\n8:0 Write 0\nTotal 100\n");
  put(blk, "blkio.throttle.io_serviced_recursive", "8:0 Read 1\n");
  json_t *ev;
  struct hull_error e = {0};
  assert_int_equal(cgroup_stats(&v1set, "c1", &ev, &e), 0);
  assert_string_equal(json_string_value(json_object_get(ev, "type")), "stats");
  assert_string_equal(json_string_value(json_object_get(ev, "id")), "c1");
  json_t *d = data_of(ev);
  long hz = sysconf(_SC_CLK_TCK);
  assert_int_equal(at(d, "cpu.usage.total"), 12345);
  assert_int_equal(at(d, "cpu.usage.user"), 5 * (1000000000 / hz));
  assert_int_equal(at(d, "cpu.usage.kernel"), 7 * (1000000000 / hz));
  assert_int_equal(json_array_size(json_object_get(json_object_get(json_object_get(d, "cpu"), "usage"), "percpu")), 2);
  assert_int_equal(json_integer_value(json_array_get(json_object_get(json_object_get(json_object_get(d, "cpu"), "usage"), "percpu_kernel"), 1)), 40);
  assert_int_equal(at(d, "cpu.throttling.periods"), 3);
  assert_int_equal(at(d, "cpu.throttling.throttledPeriods"), 1);
  assert_int_equal(at(d, "cpu.throttling.throttledTime"), 999);
  assert_int_equal(at(d, "memory.usage.usage"), 4096);
  assert_int_equal(at(d, "memory.usage.max"), 8192);
  assert_int_equal(at(d, "memory.usage.failcnt"), 2);
  assert_int_equal(at(d, "memory.usage.limit"), 1048576);
  assert_int_equal(at(d, "memory.cache"), 77);
  assert_int_equal(at(d, "memory.raw.rss"), 88);
  assert_int_equal(at(d, "pids.current"), 3);
  assert_null(json_object_get(json_object_get(d, "pids"), "limit")); /* max: omitted */
  json_t *b = json_object_get(json_object_get(d, "blkio"), "ioServiceBytesRecursive");
  assert_int_equal(json_array_size(b), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(b, 0), "op")), "Read");
  assert_null(json_object_get(json_array_get(b, 1), "value")); /* omitempty */
  char *text = cgroup_event_dumps(ev);
  assert_non_null(strstr(text, "\"pids\":{\"current\":3}"));
  assert_non_null(strstr(text, "\"network_interfaces\":null"));
  assert_non_null(strstr(text, "\"intel_rdt\":{}"));
  free(text);
  json_decref(ev);
  free_v1();
}

static void test_stats_v2_and_dumps(void **state) {
  (void)state;
  make_v2();
  const char *d2 = v2dir.path;
  put(d2, "cpu.stat", "usage_usec 10\nuser_usec 4\nsystem_usec 6\nnr_periods 0\n"
                      "nr_throttled 0\nthrottled_usec 2\n");
  put(d2, "cpu.pressure", "some avg10=0.50 avg60=0.00 avg300=0.00 total=123\n"
                          "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
  put(d2, "memory.current", "4096\n");
  put(d2, "memory.max", "max\n");
  put(d2, "memory.swap.current", "0\n");
  put(d2, "memory.swap.max", "max\n");
  put(d2, "memory.stat", "anon 1\nfile 2\n");
  put(d2, "memory.events", "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n");
  put(d2, "pids.current", "2\n");
  put(d2, "pids.max", "10\n");
  put(d2, "io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n");
  json_t *ev;
  struct hull_error e = {0};
  assert_int_equal(cgroup_stats(&v2set, "c2", &ev, &e), 0);
  json_t *d = data_of(ev);
  assert_int_equal(at(d, "cpu.usage.total"), 10000);
  assert_int_equal(at(d, "cpu.usage.user"), 4000);
  assert_int_equal(at(d, "cpu.usage.kernel"), 6000);
  assert_int_equal(at(d, "cpu.throttling.throttledTime"), 2000);
  assert_int_equal(at(d, "cpu.psi.some.total"), 123);
  assert_int_equal(at(d, "memory.usage.usage"), 4096);
  assert_true((uint64_t)at(d, "memory.usage.limit") == UINT64_MAX);
  assert_int_equal(at(d, "memory.usage.failcnt"), 5);
  assert_int_equal(at(d, "memory.cache"), 2);
  assert_int_equal(at(d, "memory.swap.usage"), 4096);
  assert_int_equal(at(d, "pids.limit"), 10);
  assert_int_equal(json_array_size(json_object_get(json_object_get(d, "blkio"), "ioServicedRecursive")), 2);
  char *text = cgroup_event_dumps(ev);
  assert_non_null(strstr(text, "\"usage\":{\"limit\":18446744073709551615,\"usage\":4096,"));
  assert_non_null(strstr(text, "\"avg10\":0.5,"));
  assert_null(strstr(text, "-1"));
  free(text);
  json_decref(ev);
  /* the one signed field keeps its sign */
  json_t *x = J("{'sched_relax_domain_level':-1,'n':-1}");
  text = cgroup_event_dumps(x);
  assert_string_equal(text, "{\"sched_relax_domain_level\":-1,\"n\":18446744073709551615}");
  free(text);
  json_decref(x);
}

static void test_oom_watch_v2_fake(void **state) {
  (void)state;
  make_v2();
  const char *d2 = v2dir.path;
  put(d2, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 3\n");
  put(d2, "cgroup.events", "populated 1\nfrozen 0\n");
  struct cgroup_oom_watch w;
  struct hull_error e = {0};
  assert_int_equal(cgroup_oom_watch_open(&v2set, &w, &e), 0);
  assert_int_equal(cgroup_oom_watch_read(&w), 0);
  put(d2, "memory.events", "low 0\nhigh 0\nmax 0\noom 2\noom_kill 5\n");
  struct pollfd pf = {cgroup_oom_watch_fd(&w), POLLIN, 0};
  assert_int_equal(poll(&pf, 1, 2000), 1);
  assert_int_equal(cgroup_oom_watch_read(&w), 2);
  assert_false(w.gone);
  put(d2, "cgroup.events", "populated 0\nfrozen 0\n");
  assert_int_equal(poll(&pf, 1, 2000), 1);
  assert_int_equal(cgroup_oom_watch_read(&w), 0);
  assert_true(w.gone);
  cgroup_oom_watch_close(&w);
}

static void test_freeze_fake(void **state) {
  (void)state;
  make_v1(false);
  put(sub("freezer"), "freezer.state", "THAWED\n");
  struct hull_error e = {0};
  assert_int_equal(cgroup_frozen(&v1set), 0);
  assert_int_equal(cgroup_freeze(&v1set, true, &e), 0);
  assert_int_equal(cgroup_frozen(&v1set), 1);
  assert_int_equal(cgroup_freeze(&v1set, false, &e), 0);
  assert_int_equal(cgroup_frozen(&v1set), 0);
  free_v1();
  struct cgroup_set none = {NULL, 0};
  assert_int_equal(cgroup_freeze(&none, true, &e), -ENOTSUP);
  assert_int_equal(cgroup_frozen(&none), -ENOTSUP);
}

/* ---- against the kernel (root) ------------------------------------------ */

static char v2root[256];

static bool have_cgroup2(void) {
  if (geteuid() != 0)
    return false;
  FILE *f = fopen("/proc/self/mountinfo", "re");
  char line[1024];
  bool found = false;
  while (f && !found && fgets(line, sizeof line, f)) {
    char *dash = strstr(line, " - cgroup2 ");
    if (dash && sscanf(line, "%*s %*s %*s %*s %255s", v2root) == 1)
      found = true;
  }
  if (f)
    fclose(f);
  return found && access(v2root, W_OK) == 0;
}

/* a fresh cgroup2 directory for this test */
static struct cgroup_dir realdir;
static struct cgroup_set realset = {&realdir, 1};
static bool make_real_v2(const char *name) {
  if (!have_cgroup2())
    return false;
  static char path[400];
  snprintf(path, sizeof path, "%s/hull-unit-%d-%s", v2root, getpid(), name);
  if (mkdir(path, 0755) < 0 && errno != EEXIST)
    return false;
  realdir.path = path;
  realdir.controllers = "";
  realdir.v2 = true;
  return true;
}

static pid_t spawn_in(const char *dir, void (*fn)(void *), void *arg) {
  pid_t pid = fork();
  if (pid == 0) {
    char p[600], me[24];
    snprintf(p, sizeof p, "%s/cgroup.procs", dir);
    snprintf(me, sizeof me, "%d", getpid());
    if (fs_write_string(p, me) < 0)
      _exit(99);
    fn(arg);
    _exit(0);
  }
  return pid;
}

static int wait_exit(pid_t pid) {
  int st;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void open_devices(void *arg) {
  (void)arg;
  int fd = open("/dev/null", O_RDWR);
  if (fd < 0)
    _exit(1);
  close(fd);
  fd = open("/dev/zero", O_RDONLY);
  if (fd >= 0 || errno != EPERM)
    _exit(2);
  fd = open("/dev/full", O_RDONLY); /* read only allowed */
  if (fd < 0)
    _exit(3);
  close(fd);
  fd = open("/dev/full", O_WRONLY);
  if (fd >= 0 || errno != EPERM)
    _exit(4);
  _exit(0);
}

static void test_real_v2_device_filter(void **state) {
  (void)state;
  if (!make_real_v2("dev"))
    skip();
  /* through the plan, without runc's defaults: deny all, null rwm, full r */
  json_t *res = J("{'devices':[{'allow':true,'type':'c','major':1,'minor':3,"
                  "'access':'rwm'},{'allow':true,'type':'c','major':1,'minor':7,"
                  "'access':'r'}]}");
  struct cgroup_layout l;
  cgroup_layout_from_set(&realset, &l);
  struct cg_plan p;
  struct cg_plan_opts o = {0};
  struct hull_error e = {0};
  assert_int_equal(cgroup_plan_make(res, &l, &o, &p, &e), 0);
  p.enable_v2 = 0; /* leave the host's subtree_control alone */
  int r = cgroup_plan_execute(&p, false, &e);
  if (r == -EPERM || r == -ENOSYS) {
    cgroup_plan_free(&p);
    rmdir(realdir.path);
    skip();
  }
  if (r)
    fail_msg("%s", e.msg);
  /* applying again replaces the program instead of stacking a second */
  assert_int_equal(cgroup_plan_execute(&p, false, &e), 0);
  cgroup_plan_free(&p);
  pid_t pid = spawn_in(realdir.path, open_devices, NULL);
  int st = wait_exit(pid);
  json_decref(res);
  int rm = rmdir(realdir.path);
  realdir.path = NULL;
  assert_int_equal(st, 0); /* 1..4: which open went wrong */
  assert_int_equal(rm, 0);
}

struct spin {
  volatile unsigned long n;
};
static void spin(void *arg) {
  struct spin *s = arg;
  for (;;)
    s->n++;
}

/* Freeze and thaw a spinning child; every result is taken before the
 * child is killed and only then checked, so a failure leaves nothing
 * frozen behind. */
static void check_freeze(const struct cgroup_set *s, const char *dir) {
  struct spin *sp = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(sp != MAP_FAILED);
  pid_t pid = spawn_in(dir, spin, sp);
  for (int i = 0; i < 2000 && sp->n == 0; i++)
    usleep(1000);
  struct hull_error e = {0}, e2 = {0};
  int before = cgroup_frozen(s);
  int rf = cgroup_freeze(s, true, &e);
  int during = cgroup_frozen(s);
  unsigned long a = sp->n;
  usleep(100000);
  unsigned long b = sp->n;
  int rt = cgroup_freeze(s, false, &e2);
  int after = cgroup_frozen(s);
  usleep(50000);
  unsigned long c = sp->n;
  cgroup_freeze(s, false, NULL);
  kill(pid, SIGKILL);
  wait_exit(pid);
  munmap(sp, 4096);
  if (rf)
    fail_msg("freeze: %s", e.msg);
  if (rt)
    fail_msg("thaw: %s", e2.msg);
  assert_int_equal(before, 0);
  assert_int_equal(during, 1);
  assert_true(a == b); /* does not advance while frozen */
  assert_int_equal(after, 0);
  assert_true(c != b);
}

static void test_real_v2_freeze(void **state) {
  (void)state;
  if (!make_real_v2("frz"))
    skip();
  char p[600];
  snprintf(p, sizeof p, "%s/cgroup.freeze", realdir.path);
  if (access(p, F_OK) < 0) {
    rmdir(realdir.path);
    skip();
  }
  check_freeze(&realset, realdir.path);
  usleep(20000);
  assert_int_equal(rmdir(realdir.path), 0);
  realdir.path = NULL;
}

/* v1 hierarchies of the host, when it has them: a set of those we test */
static struct cgroup_dir v1real[4];
static struct cgroup_set v1realset = {v1real, 0};
static bool make_real_v1(const char *name, const char *const *ctrls) {
  if (geteuid() != 0)
    return false;
  v1realset.n = 0;
  for (int i = 0; ctrls[i]; i++) {
    char mp[300], path[400];
    snprintf(mp, sizeof mp, "/sys/fs/cgroup/%s", ctrls[i]);
    struct statfs sf;
    if (statfs(mp, &sf) < 0 || sf.f_type != 0x27e0eb /* CGROUP_SUPER_MAGIC */)
      return false;
    /* below our own cgroup in that hierarchy */
    char own[256] = "";
    FILE *f = fopen("/proc/self/cgroup", "re");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
      char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
      if (c2 && !strncmp(c1 + 1, ctrls[i], strlen(ctrls[i])) &&
          c1[1 + strlen(ctrls[i])] == ':') {
        c2[strcspn(c2, "\n")] = 0;
        snprintf(own, sizeof own, "%s", strcmp(c2 + 1, "/") ? c2 + 1 : "");
      }
    }
    if (f)
      fclose(f);
    snprintf(path, sizeof path, "%s%s/hull-unit-%d-%s", mp, own, getpid(), name);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
      return false;
    v1real[v1realset.n].path = strdup(path);
    v1real[v1realset.n].controllers = (char *)ctrls[i];
    v1real[v1realset.n].v2 = false;
    v1realset.n++;
  }
  return true;
}

static void drop_real_v1(void) {
  usleep(20000);
  for (size_t i = 0; i < v1realset.n; i++) {
    rmdir(v1real[i].path);
    free(v1real[i].path);
  }
  v1realset.n = 0;
}

static void test_real_v1_freeze(void **state) {
  (void)state;
  static const char *const c[] = {"freezer", NULL};
  if (!make_real_v1("frz", c))
    skip();
  check_freeze(&v1realset, v1real[0].path);
  drop_real_v1();
}

static void fork_twice(void *arg) {
  (void)arg;
  pid_t a = fork();
  if (a == 0)
    _exit(0);
  if (a > 0) {
    waitpid(a, NULL, 0);
    _exit(1); /* the limit of 1 should have refused it */
  }
  _exit(errno == EAGAIN ? 0 : 2);
}

static void test_real_v1_pids(void **state) {
  (void)state;
  static const char *const c[] = {"pids", NULL};
  if (!make_real_v1("pids", c))
    skip();
  json_t *res = J("{'pids':{'limit':1}}");
  struct hull_error e = {0};
  int r = cgroup_apply_resources(&v1realset, res, true, &e);
  if (r)
    fail_msg("%s", e.msg);
  assert_string_equal(get(v1real[0].path, "pids.max"), "1\n");
  pid_t pid = spawn_in(v1real[0].path, fork_twice, NULL);
  assert_int_equal(wait_exit(pid), 0);
  json_decref(res);
  drop_real_v1();
}

static void eat_memory(void *arg) {
  (void)arg;
  volatile char *p = mmap(NULL, 256 << 20, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    _exit(3);
  for (size_t i = 0; i < (256 << 20); i += 4096)
    p[i] = 1;
  _exit(0);
}

static void test_real_v1_memory_oom(void **state) {
  (void)state;
  static const char *const c[] = {"memory", NULL};
  if (!make_real_v1("oom", c))
    skip();
  json_t *res = J("{'memory':{'limit':16777216}}");
  struct hull_error e = {0};
  int r = cgroup_apply_resources(&v1realset, res, true, &e);
  if (r)
    fail_msg("%s", e.msg);
  json_decref(res);
  struct cgroup_oom_watch w;
  assert_int_equal(cgroup_oom_watch_open(&v1realset, &w, &e), 0);
  pid_t pid = spawn_in(v1real[0].path, eat_memory, NULL);
  int status = wait_exit(pid);
  struct pollfd pf = {cgroup_oom_watch_fd(&w), POLLIN, 0};
  int ready = poll(&pf, 1, 5000);
  int events = cgroup_oom_watch_read(&w);
  bool gone = w.gone;
  /* stats see the limit and the failures */
  json_t *ev = NULL;
  int rs = cgroup_stats(&v1realset, "oom", &ev, &e);
  cgroup_oom_watch_close(&w);
  drop_real_v1();
  assert_int_equal(status, 128 + SIGKILL);
  assert_int_equal(ready, 1);
  assert_true(events >= 1);
  assert_false(gone);
  assert_int_equal(rs, 0);
  assert_int_equal(at(data_of(ev), "memory.usage.limit"), 16777216);
  assert_true(at(data_of(ev), "memory.usage.failcnt") > 0);
  json_decref(ev);
}

static void hold_memory(void *arg) {
  int *pipefd = arg;
  volatile char *p = mmap(NULL, 32 << 20, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    _exit(1);
  for (size_t i = 0; i < (32 << 20); i += 4096)
    p[i] = 1;
  if (write(pipefd[1], "x", 1) != 1)
    _exit(1);
  pause();
}

static void test_real_v1_rejected_update(void **state) {
  (void)state;
  static const char *const c[] = {"memory", NULL};
  if (!make_real_v1("busy", c))
    skip();
  const char *d = v1real[0].path;
  bool memsw = access(strcat(strcpy((char[600]){0}, d), "/memory.memsw.limit_in_bytes"),
                      F_OK) == 0;
  json_t *res = J(memsw ? "{'memory':{'limit':134217728,'swap':268435456}}"
                        : "{'memory':{'limit':134217728}}");
  struct hull_error e = {0};
  int r = cgroup_apply_resources(&v1realset, res, true, &e);
  if (r)
    fail_msg("%s", e.msg);
  json_decref(res);
  int pfd[2];
  assert_int_equal(pipe(pfd), 0);
  pid_t pid = spawn_in(d, hold_memory, pfd);
  char x;
  assert_int_equal(read(pfd[0], &x, 1), 1);
  /* unlimited swap is written first (it grows), then the limit fails: the
   * swap limit must come back */
  res = J("{'memory':{'limit':4194304,'swap':-1}}");
  r = cgroup_apply_resources(&v1realset, res, true, &e);
  char lim[64], sw[64];
  snprintf(lim, sizeof lim, "%s", get(d, "memory.limit_in_bytes"));
  snprintf(sw, sizeof sw, "%s", get(d, "memory.memsw.limit_in_bytes"));
  kill(pid, SIGKILL);
  wait_exit(pid);
  json_decref(res);
  assert_int_equal(r, -EBUSY);
  assert_string_equal(e.msg, "linux.resources.memory.limit 4194304: Device or "
                             "resource busy (below current usage?)");
  assert_string_equal(lim, "134217728\n");
  if (memsw)
    assert_string_equal(sw, "268435456\n");
  close(pfd[0]);
  close(pfd[1]);
  drop_real_v1();
}

/* whatever a failed kernel test left: its (empty) cgroups */
static int real_teardown(void **state) {
  (void)state;
  drop_real_v1();
  if (realdir.path) {
    rmdir(realdir.path);
    realdir.path = NULL;
  }
  return 0;
}

int main(void) {
  const struct CMUnitTest fake[] = {
      cmocka_unit_test(test_validate_messages),
      cmocka_unit_test(test_validate_ok),
      cmocka_unit_test(test_validate_prefix),
      cmocka_unit_test(test_conversions),
      cmocka_unit_test(test_v1_mapping),
      cmocka_unit_test(test_v1_swap_order_and_unlimited),
      cmocka_unit_test(test_v1_devices_text),
      cmocka_unit_test(test_missing_controllers),
      cmocka_unit_test(test_v2_mapping),
      cmocka_unit_test(test_v2_swap_and_update),
      cmocka_unit_test(test_hybrid_layout),
      cmocka_unit_test(test_rollback),
      cmocka_unit_test(test_write_errors),
      cmocka_unit_test(test_device_emulation),
      cmocka_unit_test(test_parse_ram),
      cmocka_unit_test(test_update_args),
      cmocka_unit_test(test_update_resources_file),
      cmocka_unit_test(test_stats_v1),
      cmocka_unit_test(test_stats_v2_and_dumps),
      cmocka_unit_test(test_oom_watch_v2_fake),
      cmocka_unit_test(test_freeze_fake),
  };
  const struct CMUnitTest real[] = {
      cmocka_unit_test_teardown(test_real_v2_device_filter, real_teardown),
      cmocka_unit_test_teardown(test_real_v2_freeze, real_teardown),
      cmocka_unit_test_teardown(test_real_v1_freeze, real_teardown),
      cmocka_unit_test_teardown(test_real_v1_pids, real_teardown),
      cmocka_unit_test_teardown(test_real_v1_memory_oom, real_teardown),
      cmocka_unit_test_teardown(test_real_v1_rejected_update, real_teardown),
  };
  int r = cmocka_run_group_tests_name("cgroup resources (fake trees)", fake,
                                      tree_setup, tree_teardown);
  r += cmocka_run_group_tests_name("cgroup resources (kernel, as root)", real,
                                   NULL, NULL);
  return r ? 1 : 0;
}
