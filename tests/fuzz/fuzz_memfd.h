/* fuzz_memfd.h: a fuzz input as a file the parsers can open by name. */
#ifndef IFG_FUZZ_MEMFD_H
#define IFG_FUZZ_MEMFD_H

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* The bytes in an anonymous file, path set to /proc/self/fd/N: returns the
 * descriptor (close it after use), or -1. */
static int fuzz_memfd(const uint8_t *data, size_t size, char path[64])
{
	int fd = memfd_create("fuzz", 0);
	if (fd < 0)
		return -1;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	snprintf(path, 64, "/proc/self/fd/%d", fd);
	return fd;
}

#endif
