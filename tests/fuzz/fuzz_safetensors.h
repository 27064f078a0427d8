/* fuzz_safetensors.h: one fuzz input through the safetensors reader: the
 * header's claims checked against the file, every tensor converted.  Shared
 * by fuzz_safetensors.c and the regression suite. */
#ifndef IFG_FUZZ_SAFETENSORS_H
#define IFG_FUZZ_SAFETENSORS_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_memfd.h"

#include "safetensors.h"

static int fuzz_safetensors_one(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = fuzz_memfd(data, size, path);
	if (fd < 0)
		return 0;
	struct ifg_st *st = ifg_st_open(path);
	if (st) {
		for (size_t i = 0; i < ifg_st_count(st); i++) {
			const struct ifg_st_tensor *t = ifg_st_at(st, i);
			if (t->n > (1u << 20))
				continue;
			float *f = malloc((t->n ? t->n : 1) * sizeof *f);
			ifg_st_read_f32(st, t, f, 0, NULL);
			free(f);
		}
		ifg_st_meta(st, "format");
		ifg_st_close(st);
	}
	close(fd);
	return 0;
}

#endif
