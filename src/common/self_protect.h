/* CVE-2019-5736: a process inside a container can reach the binary of any
 * process that joins it, or that it was forked from, through
 * /proc/<pid>/exe (or by executing #!/proc/self/exe), and write to it once
 * that process exits. hull's programs that go near a container
 * (hull-runtime, hull-monitor) therefore never run from a writable file:
 * they re-execute themselves through a detached, read-only clone of the
 * mount their binary is on (a reopen for writing then fails with EROFS;
 * nothing is copied, and the mount is reachable from no namespace). Where
 * that is not allowed (no open_tree, no privilege) they execute a sealed
 * memfd copy. A binary already on a read-only mount or in a sealed memfd
 * runs as is. */
#ifndef HULL_SELF_PROTECT_H
#define HULL_SELF_PROTECT_H

#include "error.h"

/* Returns 0 when the running binary is already protected; otherwise
 * re-executes argv and returns only on failure (e says why). First notes
 * the guest directory (below), which the re-execution would hide. */
int self_protect(char **argv, struct hull_error *e);

/* VM isolation finds the guest's kernel and initramfs in `guest` beside
 * the binary: HULL_GUEST_DIR, unless already set. */
void self_note_guest_dir(void);

#endif
