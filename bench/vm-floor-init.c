/* The floor of VM isolation's benchmark: an init that only ends the
 * guest. Booted by the same QEMU command line as hull's VM containers (in
 * place of hull-init's initramfs), it measures the monitor's start, the
 * kernel's boot and the monitor's exit: what no VM container can avoid. */
#include <sys/reboot.h>
#include <unistd.h>

int main(void) {
  /* with -no-reboot, a reboot ends QEMU (as hull-init's guests end) */
  reboot(RB_AUTOBOOT);
  return 0;
}
