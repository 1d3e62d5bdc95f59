/* Named volumes: <root>/volumes/<name>/_data, the directory docker and
 * podman use, so a volume is a plain directory people can find. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/fs.h"
#include "engine.h"

/* root here is the volumes directory (<store>/volumes). */
int volume_path(const char *root, const char *name, char **out, struct hull_error *e) {
  int r = engine_validate_name(name, e);
  if (r < 0)
    return hull_err_prefix(e, "volume");
  if (asprintf(out, "%s/%s/_data", root, name) < 0)
    return hull_errno(e, ENOMEM, "volume %s", name);
  return 0;
}

int volume_create(const char *root, const char *name, char **path_out,
                  struct hull_error *e) {
  char *p;
  int r = volume_path(root, name, &p, e);
  if (r < 0)
    return r;
  if (mkdir(root, 0700) < 0 && errno != EEXIST) {
    r = hull_errno(e, errno, "volumes directory %s", root);
    free(p);
    return r;
  }
  char *slash = strrchr(p, '/');
  *slash = '\0';
  int made = mkdir(p, 0700) == 0;
  if (!made && errno != EEXIST) {
    r = hull_errno(e, errno, "volume %s", name);
    free(p);
    return r;
  }
  *slash = '/';
  if (mkdir(p, 0755) < 0 && errno != EEXIST) {
    r = hull_errno(e, errno, "volume %s", name);
    free(p);
    return r;
  }
  if (path_out)
    *path_out = p;
  else
    free(p);
  return made ? 1 : 0;
}

int volume_remove(const char *root, const char *name, struct hull_error *e) {
  int r = engine_validate_name(name, e);
  if (r < 0)
    return hull_err_prefix(e, "volume");
  int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return hull_err(e, ENOENT, "volume %s: no such volume", name);
  struct stat st;
  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    close(dfd);
    return hull_err(e, ENOENT, "volume %s: no such volume", name);
  }
  r = fs_rm_rf_at(dfd, name);
  close(dfd);
  if (r < 0)
    return hull_errno(e, -r, "volume %s: remove", name);
  return 0;
}

int volume_list(const char *root, char ***names, size_t *n, struct hull_error *e) {
  *names = NULL;
  *n = 0;
  DIR *d = opendir(root);
  if (!d)
    return errno == ENOENT ? 0 : hull_errno(e, errno, "volumes directory %s", root);
  size_t cap = 0;
  struct dirent *de;
  struct hull_error ig;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.' || engine_validate_name(de->d_name, &ig) < 0)
      continue;
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      char **nv = realloc(*names, cap * sizeof *nv);
      if (!nv)
        break;
      *names = nv;
    }
    (*names)[(*n)++] = strdup(de->d_name);
  }
  closedir(d);
  return 0;
}
