/* modelid.c: the model identity as a stream header's MODEL map (modelid.h).
 * "arch" is written only for a family other than GPT-2, so GPT-2 streams
 * stay as they were; absent reads as "gpt2". */
#include "modelid.h"

#include <stdbool.h>
#include <string.h>

#include "kinds.h"
#include "rec.h"
#include "util.h"

void ifg_model_id_pack(msgpack_packer *pk, const struct ifg_model_id *id)
{
	static const char *const keys[] = { "sha256", "n_layer", "n_head", "n_embd", "n_ctx",
					    "vocab_size" };
	int vals[] = { 0, id->n_layer, id->n_head, id->n_embd, id->n_ctx, id->vocab_size };
	bool gpt2 = !id->arch[0] || strcmp(id->arch, "gpt2") == 0;
	msgpack_pack_map(pk, gpt2 ? 6 : 7);
	if (!gpt2) {
		ifg_pack_kv_str(pk, IFG_K_ARCH, id->arch);
	}
	for (int i = 0; i < 6; i++) {
		msgpack_pack_str(pk, strlen(keys[i]));
		msgpack_pack_str_body(pk, keys[i], strlen(keys[i]));
		if (i == 0) {
			msgpack_pack_str(pk, strlen(id->sha256));
			msgpack_pack_str_body(pk, id->sha256, strlen(id->sha256));
		} else {
			msgpack_pack_int64(pk, vals[i]);
		}
	}
}

int ifg_model_id_check(const msgpack_object *map, const struct ifg_model_id *id)
{
	if (!map || map->type != MSGPACK_OBJECT_MAP)
		return ifg_seterr("model identity is not a map");
	const msgpack_object *s = ifg_get(map, "sha256");
	if (!s || s->type != MSGPACK_OBJECT_STR)
		return ifg_seterr("model identity has no sha256");
	if (s->via.str.size != strlen(id->sha256) ||
	    memcmp(s->via.str.ptr, id->sha256, s->via.str.size) != 0)
		return ifg_seterr("made with another model (sha256 %.*s..., this model %.12s...)",
				  s->via.str.size < 12 ? (int)s->via.str.size : 12, s->via.str.ptr,
				  id->sha256);
	/* the family: absent means GPT-2 */
	const msgpack_object *a = ifg_get(map, IFG_K_ARCH);
	if (a && a->type != MSGPACK_OBJECT_STR)
		return ifg_seterr("model identity: arch is not a string");
	const char *theirs = a ? a->via.str.ptr : "gpt2";
	size_t n = a ? a->via.str.size : 4;
	const char *arch = id->arch[0] ? id->arch : "gpt2";
	if (n != strlen(arch) || memcmp(theirs, arch, n) != 0)
		return ifg_seterr("model identity: made with a %.*s model (this model: %s)", (int)n,
				  theirs, arch);
	static const char *const keys[] = { "n_layer", "n_head", "n_embd", "n_ctx", "vocab_size" };
	int vals[] = { id->n_layer, id->n_head, id->n_embd, id->n_ctx, id->vocab_size };
	for (int i = 0; i < 5; i++) {
		const msgpack_object *v = ifg_get(map, keys[i]);
		if (!v || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 != (uint64_t)vals[i])
			return ifg_seterr("model identity: %s differs (this model: %d)", keys[i],
					  vals[i]);
	}
	return 0;
}
