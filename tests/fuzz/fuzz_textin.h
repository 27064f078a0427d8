/* fuzz_textin.h: one fuzz input through the text readers (textin.h).  The
 * first byte picks the format (CSV, JSONL, lines) and whether a
 * continuation, an id and a carried field are asked for; the rest is the
 * input.  Shared by fuzz_textin.c and the regression suite. */
#ifndef IFG_FUZZ_TEXTIN_H
#define IFG_FUZZ_TEXTIN_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_memfd.h"

#include "textin.h"

static int fuzz_textin_one(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	char path[64];
	int fd = fuzz_memfd(data + 1, size - 1, path);
	if (fd < 0)
		return 0;
	static const char *const carry[] = { "label" };
	static const enum ifg_textin_format fmts[] = { IFG_TEXTIN_CSV, IFG_TEXTIN_JSONL,
						       IFG_TEXTIN_LINES, IFG_TEXTIN_CSV };
	struct ifg_textin_opts o = {
		.format = fmts[sel & 3],
		.text = (sel & 4) ? "prompt.text" : "text",
		.cont = (sel & 8) ? "cont" : NULL,
		.id = (sel & 16) ? "id" : NULL,
		.carry = (sel & 32) ? carry : NULL,
		.ncarry = (sel & 32) ? 1 : 0,
	};
	struct ifg_textin *r = ifg_textin_open(path, &o);
	if (r) {
		struct ifg_doc d;
		volatile size_t sum = 0;
		for (int k = 0; k < 100000 && ifg_textin_next(r, &d) > 0; k++) {
			for (size_t i = 0; i < d.text_len; i++)
				sum += (uint8_t)d.text[i];
			for (size_t i = 0; d.cont && i < d.cont_len; i++)
				sum += (uint8_t)d.cont[i];
		}
		ifg_textin_close(r);
	}
	close(fd);
	return 0;
}

#endif
