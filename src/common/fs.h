/* File helpers. Paths inside a container are always resolved with
 * openat2(RESOLVE_IN_ROOT) against the container root, never on the host. */
#ifndef HULL_FS_H
#define HULL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Read a whole file (NUL-terminated). */
int fs_read_file(const char *path, char **out, size_t *len,
                 struct hull_error *e);
int fs_read_file_at(int dirfd, const char *path, char **out, size_t *len,
                    struct hull_error *e);

/* write() until done; returns 0 or -errno. */
int fs_write_all(int fd, const void *buf, size_t len);

/* Open PATH (O_WRONLY|O_TRUNC) and write TEXT; returns 0 or -errno. */
int fs_write_string(const char *path, const char *text);
int fs_write_string_at(int dirfd, const char *path, const char *text);

/* Atomic replace: write .NAME.tmp in dirfd, rename over NAME; readers see
 * the old or the new file, never half. With durable, fsync before the
 * rename so the new content also survives a machine crash (the image
 * store). Runtime state under /run is volatile by nature: a machine crash
 * ends its containers anyway, so it skips the fsync, which costs
 * milliseconds where /run is on disk. */
int fs_atomic_write(int dirfd, const char *name, const void *data, size_t len,
                    bool durable, struct hull_error *e);

/* openat2(rootfd, path, flags, RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS). */
int fs_open_in_root(int rootfd, const char *path, int flags, mode_t mode);

/* Make sure PATH exists inside rootfd as a directory (is_dir) or a regular
 * file, creating parents; returns an O_PATH fd to it. An existing object of
 * another kind is kept as it is (a bind mount decides what fits). */
int fs_ensure_in_root(int rootfd, const char *path, int is_dir,
                      struct hull_error *e);

/* Copy the tree below directory SRC into directory DST: files, directories,
 * symlinks and device nodes, with modes and owners (tmpcopyup). Never
 * follows a symlink. */
int fs_copy_tree(int src, int dst, struct hull_error *e);

/* "/proc/self/fd/N" for mount(2) targets that are descriptors. */
void fs_fd_path(int fd, char buf[32]);

/* mkdir -p: the parents made 0755, path itself with mode; existing
 * directories are fine. Returns 0 or -errno. */
int fs_mkdir_p(const char *path, mode_t mode);

/* rm -rf of name below dirfd: never follows a symlink, never deletes
 * through a mount point (-EBUSY, the rest still goes); gone is fine.
 * Returns 0 or -errno. */
int fs_rm_rf_at(int dirfd, const char *name);

/* The /proc/sys path of a sysctl key ("net.ipv4.ip_forward", or with
 * slashes, where dots stay dots: "net/ipv4/conf/eth0.100/forwarding").
 * -EINVAL for a key that would leave /proc/sys or names nothing. */
int fs_sysctl_path(const char *key, char *out, size_t len);

#endif
