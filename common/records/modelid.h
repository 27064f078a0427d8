/* modelid.h: the model identity (gpt.h struct ifg_model_id) as the MODEL
 * map of a stream header, so that the model code needs no record format. */
#ifndef IFG_MODELID_H
#define IFG_MODELID_H

#include <msgpack.h>

#include "gpt.h"

/* Packs the MODEL map {sha256, n_layer, n_head, n_embd, n_ctx, vocab_size}. */
void ifg_model_id_pack(msgpack_packer *pk, const struct ifg_model_id *id);
/* Compares a MODEL map from a stream header with id: -1 with a message
 * naming the first difference. */
int ifg_model_id_check(const msgpack_object *map, const struct ifg_model_id *id);

#endif
