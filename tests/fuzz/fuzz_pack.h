/* fuzz_pack.h: one fuzz input through ifg-pack's path, JSON to msgpack
 * (json.h), and the packed record back through the JSON printer, full and
 * summarised.  Shared by fuzz_pack.c and the regression suite. */
#ifndef IFG_FUZZ_PACK_H
#define IFG_FUZZ_PACK_H

#include <stdio.h>
#include <stdlib.h>

#include "json.h"

static int fuzz_pack_one(const uint8_t *data, size_t size)
{
	json_error_t err;
	json_t *v = json_loadb((const char *)data, size, JSON_ALLOW_NUL | JSON_DECODE_ANY, &err);
	if (!v)
		return 0;
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (ifg_json_pack(&pk, v) == 0) {
		msgpack_unpacked u;
		msgpack_unpacked_init(&u);
		if (msgpack_unpack_next(&u, sb.data, sb.size, NULL) == MSGPACK_UNPACK_SUCCESS) {
			FILE *sink = fopen("/dev/null", "w");
			if (sink) {
				ifg_json_obj(sink, &u.data, true);
				ifg_json_obj(sink, &u.data, false);
				fclose(sink);
			}
		}
		msgpack_unpacked_destroy(&u);
	}
	msgpack_sbuffer_destroy(&sb);
	json_decref(v);
	return 0;
}

#endif
