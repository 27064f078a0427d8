/* fuzz_reader.h: one fuzz input through the record reader, the field getters,
 * array conversion and the JSON printer.  Shared by the libFuzzer target
 * (fuzz_reader.c) and the regression suite (check_fuzz_regress.c). */
#ifndef IFG_FUZZ_READER_H
#define IFG_FUZZ_READER_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_memfd.h"

#include "json.h"
#include "rec.h"

static void fuzz_walk(const struct ifg_reader *r, const msgpack_object *o, FILE *sink)
{
	if (o->type != MSGPACK_OBJECT_MAP)
		return;
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object *v = &o->via.map.ptr[i].val;
		struct ifg_array a;
		if (ifg_obj_to_array(r, v, "x", 0, &a) == 0 && a.n <= (1u << 20)) {
			float *f = malloc((a.n ? a.n : 1) * sizeof *f);
			uint32_t *u = malloc((a.n ? a.n : 1) * sizeof *u);
			ifg_array_to_f32(&a, f, false);
			ifg_array_to_u32(&a, u, 100000);
			free(f);
			free(u);
		}
		fuzz_walk(r, v, sink);
	}
	int64_t i64;
	double d;
	const char *s;
	size_t n;
	ifg_get_i64(r, o, "id", -5, 5, &i64);
	ifg_get_f64(r, o, "version", 0, 10, &d);
	ifg_get_str(r, o, "kind", &s, &n);
}

/* Always returns 0 (libFuzzer's convention); crashes are the finding. */
static int fuzz_reader_one(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = fuzz_memfd(data, size, path);
	if (fd < 0)
		return 0;
	setenv("IFG_MAX_RECORD", "1048576", 1);
	struct ifg_reader *r = ifg_reader_open(path);
	FILE *sink = fopen("/dev/null", "w");
	if (r && sink) {
		const msgpack_object *rec;
		int rc = ifg_reader_header(r, NULL);
		if (rc == 0)
			ifg_json_obj(sink, ifg_reader_hdr(r), false);
		for (int k = 0; rc == 0 && k < 10000 && ifg_reader_next(r, &rec) > 0; k++) {
			fuzz_walk(r, rec, sink);
			ifg_json_obj(sink, rec, true);
		}
	}
	if (sink)
		fclose(sink);
	ifg_reader_close(r);
	close(fd);
	return 0;
}

#endif
