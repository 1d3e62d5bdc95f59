/* Security modules and execution domain: AppArmor profiles and SELinux
 * labels where the host has them (a clear message where it does not), and
 * linux.personality. */
#ifndef HULL_LSM_H
#define HULL_LSM_H

#include "../spec/spec.h"

bool lsm_apparmor_enabled(void);
bool lsm_selinux_enabled(void);

/* Before anything is created: can the host honour these settings? */
int lsm_validate(const struct spec *s, const struct spec_process *p,
                 struct hull_error *e);

/* In the container process, just before exec (with the container's /proc):
 * label the next exec, set the personality. */
int lsm_apply(const struct spec *s, const struct spec_process *p,
              struct hull_error *e);

#endif
