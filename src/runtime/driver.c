#include "driver.h"

#include <string.h>

int driver_by_name(const char *name, const struct isolation_ops **out,
                   struct hull_error *e) {
  if (!strcmp(name, "process") || !strcmp(name, "default")) {
    *out = &process_isolation_ops;
    return 0;
  }
  if (!strcmp(name, "vm") || !strcmp(name, "hyperv")) {
    *out = &vm_isolation_ops;
    return 0;
  }
  return hull_err(e, EINVAL,
                  "isolation \"%s\": unknown (use process or vm)", name);
}

int driver_select(const char *explicit_choice, const char *annotation,
                  const char *progname, const struct isolation_ops **out,
                  struct hull_error *e) {
  if (explicit_choice && *explicit_choice)
    return driver_by_name(explicit_choice, out, e);
  if (annotation && *annotation) {
    int r = driver_by_name(annotation, out, e);
    if (r < 0)
      hull_err_prefix(e, "annotation org.hull.isolation");
    return r;
  }
  const char *base = progname ? strrchr(progname, '/') : NULL;
  base = base ? base + 1 : progname;
  if (base && strlen(base) >= 3 && !strcmp(base + strlen(base) - 3, "-vm"))
    return driver_by_name("vm", out, e);
  return driver_by_name("process", out, e);
}
