#include "lsm.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <unistd.h>

#include "../common/fs.h"
#include "../common/log.h"

bool lsm_apparmor_enabled(void) {
  char buf[4] = {0};
  int fd = open("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n > 0 && buf[0] == 'Y';
}

bool lsm_selinux_enabled(void) {
  return access("/sys/fs/selinux/enforce", F_OK) == 0;
}

/* The execution domain of linux.personality: LINUX or LINUX32. */
static int personality_domain(json_t *p, unsigned long *out, struct hull_error *e) {
  const char *d = json_string_value(json_object_get(p, "domain"));
  if (!d)
    return hull_err(e, EINVAL, "config.json: linux.personality.domain: must be a string");
  if (!strcmp(d, "LINUX"))
    *out = PER_LINUX;
  else if (!strcmp(d, "LINUX32"))
    *out = PER_LINUX32;
  else
    return hull_err(e, EINVAL,
                    "config.json: linux.personality.domain: unknown domain \"%s\" "
                    "(LINUX or LINUX32)",
                    d);
  json_t *flags = json_object_get(p, "flags");
  if (flags && !json_is_null(flags) &&
      (!json_is_array(flags) || json_array_size(flags) > 0))
    return hull_err(e, ENOTSUP,
                    "config.json: linux.personality.flags: not supported by this "
                    "build of hull");
  return 0;
}

int lsm_validate(const struct spec *s, const struct spec_process *p,
                 struct hull_error *e) {
  if (p->apparmor_profile && *p->apparmor_profile && !lsm_apparmor_enabled())
    return hull_err(e, ENOTSUP,
                    "process.apparmorProfile \"%s\": AppArmor is not enabled on this host",
                    p->apparmor_profile);
  if (p->selinux_label && *p->selinux_label && !lsm_selinux_enabled())
    log_warn("process.selinuxLabel \"%s\": SELinux is not enabled on this host; "
             "the label is not applied",
             p->selinux_label);
  if (s->linux.mount_label && *s->linux.mount_label)
    log_warn("linux.mountLabel \"%s\": not applied by this build of hull",
             s->linux.mount_label);
  if (s->linux.intel_rdt && !json_is_null(s->linux.intel_rdt))
    return hull_err(e, ENOTSUP, "linux.intelRdt: not supported by this build of hull");
  if (s->linux.personality && !json_is_null(s->linux.personality)) {
    unsigned long dom;
    int r = personality_domain(s->linux.personality, &dom, e);
    if (r < 0)
      return r;
  }
  return 0;
}

static int write_attr(const char *what, const char *path, const char *text,
                      struct hull_error *e) {
  int r = fs_write_string(path, text);
  return r < 0 ? hull_errno(e, -r, "%s", what) : 0;
}

int lsm_apply(const struct spec *s, const struct spec_process *p,
              struct hull_error *e) {
  int r;
  if (p->apparmor_profile && *p->apparmor_profile) {
    char text[1100];
    snprintf(text, sizeof text, "exec %s", p->apparmor_profile);
    r = write_attr("process.apparmorProfile", "/proc/self/attr/apparmor/exec", text, e);
    if (r < 0)
      r = write_attr("process.apparmorProfile", "/proc/self/attr/exec", text, e);
    if (r < 0)
      return r;
  }
  if (p->selinux_label && *p->selinux_label && lsm_selinux_enabled() &&
      (r = write_attr("process.selinuxLabel", "/proc/self/attr/exec",
                      p->selinux_label, e)) < 0)
    return r;
  if (s->linux.personality && !json_is_null(s->linux.personality)) {
    unsigned long dom;
    if ((r = personality_domain(s->linux.personality, &dom, e)) < 0)
      return r;
    if (personality(dom) < 0)
      return hull_errno(e, errno, "linux.personality");
  }
  return 0;
}
