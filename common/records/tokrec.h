/* tokrec.h: writing tokens records (kinds.h, kind "tokens"), for the
 * programs that make them: ifg-tokenize from text, ifg-select from scores.
 *
 *   header  {kind, version, tokenizer, block (when known), ...n_extra more}
 *   record  {id, tokens (u16 when every id fits, else u32) [T], cont?,
 *            mask (u8 [T])?, carried fields}
 * The caller packs the id and the carried fields itself (they are whatever
 * its input held); these functions keep the ids' dtype, the array layout and
 * the header's first keys in one place. */
#ifndef IFG_TOKREC_H
#define IFG_TOKREC_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "rec.h"

struct ifg_bpe;

/* The dtype of token ids of a vocabulary of n: u16 up to 65536, else u32. */
enum ifg_dtype ifg_tokrec_dtype(uint64_t n);

/* Begins a header of kind (tokens, or pairs) for a tokenizer: its identity
 * (ifg_bpe_pack_identity), then block when block >= 0; n_extra more pairs
 * follow from the caller, then ifg_writer_end. */
void ifg_tokrec_header(struct ifg_writer *w, const char *kind, const struct ifg_bpe *bpe,
		       int64_t block, uint32_t n_extra);
/* Begins a tokens header that carries the tokenizer and block objects of an
 * input header (block NULL: none); n_extra more pairs follow. */
void ifg_tokrec_header_copy(struct ifg_writer *w, const msgpack_object *tokenizer,
			    const msgpack_object *block, uint32_t n_extra);

/* key: ids v[0..n) as a 1-D array of dt (u16 or u32; u16 narrows). */
void ifg_tokrec_pack_ids(msgpack_packer *pk, const char *key, enum ifg_dtype dt,
			 const uint32_t *v, size_t n);
/* "mask": u8 [T]. */
void ifg_tokrec_pack_mask(msgpack_packer *pk, const uint8_t *mask, uint32_t T);

#endif
