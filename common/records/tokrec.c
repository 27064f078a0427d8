/* tokrec.c: writing tokens records (tokrec.h). */
#include "tokrec.h"

#include <stdlib.h>

#include "bpe.h"
#include "kinds.h"
#include "util.h"

enum ifg_dtype ifg_tokrec_dtype(uint64_t n)
{
	return n <= 65536 ? IFG_U16 : IFG_U32;
}

void ifg_tokrec_header(struct ifg_writer *w, const char *kind, const struct ifg_bpe *bpe,
		       int64_t block, uint32_t n_extra)
{
	msgpack_packer *pk = ifg_writer_pk(w);
	ifg_writer_begin_header(w, kind, 1 + (block >= 0) + n_extra);
	ifg_pack_cstr(pk, IFG_K_TOKENIZER);
	ifg_bpe_pack_identity(pk, bpe);
	if (block >= 0)
		ifg_pack_kv_i64(pk, IFG_K_BLOCK, block);
}

void ifg_tokrec_header_copy(struct ifg_writer *w, const msgpack_object *tokenizer,
			    const msgpack_object *block, uint32_t n_extra)
{
	msgpack_packer *pk = ifg_writer_pk(w);
	ifg_writer_begin_header(w, IFG_KIND_TOKENS, 1 + (block != NULL) + n_extra);
	ifg_pack_cstr(pk, IFG_K_TOKENIZER);
	msgpack_pack_object(pk, *tokenizer);
	if (block) {
		ifg_pack_cstr(pk, IFG_K_BLOCK);
		msgpack_pack_object(pk, *block);
	}
}

void ifg_tokrec_pack_ids(msgpack_packer *pk, const char *key, enum ifg_dtype dt,
			 const uint32_t *v, size_t n)
{
	uint64_t shape[1] = { n };
	if (dt == IFG_U32) {
		ifg_pack_kv_array(pk, key, IFG_U32, 1, shape, v);
		return;
	}
	uint16_t *h = ifg_xmalloc(n ? n : 1, sizeof *h);
	for (size_t i = 0; i < n; i++)
		h[i] = (uint16_t)v[i];
	ifg_pack_kv_array(pk, key, IFG_U16, 1, shape, h);
	free(h);
}

void ifg_tokrec_pack_mask(msgpack_packer *pk, const uint8_t *mask, uint32_t T)
{
	uint64_t shape[1] = { T };
	ifg_pack_kv_array(pk, IFG_K_MASK, IFG_U8, 1, shape, mask);
}
