/* modeltok.h: the tokenizer a checkpoint was trained with, against the
 * tokenizer of the tokens or text handed to it.
 *
 * ifg-train records the tokens stream's tokenizer map ({name, sha256,
 * vocab_size, eot}, as JSON) in the "ifg.tokenizer" metadata of
 * model.safetensors.  A program that feeds tokens to a model checks that
 * both name the same sha256; a checkpoint without the record (a public one)
 * and tokens without a tokenizer are not checked. */
#ifndef IFG_MODELTOK_H
#define IFG_MODELTOK_H

#include <msgpack.h>

struct ifg_bpe;

struct ifg_tok_id {
	char name[64];		/* "" when unnamed */
	char sha256[65];
};

/* 1 with *id filled when the checkpoint (a directory or a .safetensors
 * file) records its tokenizer, 0 when it does not, -1 with a message.
 * Reads only the file's header. */
int ifg_ckpt_tokenizer(const char *ckpt, struct ifg_tok_id *id);
/* From a stream header's tokenizer map, or its JSON text (NULL: none):
 * 1 with *id filled, 0 when there is none or it has no sha256. */
int ifg_tok_id_from_map(const msgpack_object *map, struct ifg_tok_id *id);
int ifg_tok_id_from_json(const char *json, struct ifg_tok_id *id);
/* A loaded tokenizer's identity (its name and sha256, as in tokens headers). */
void ifg_tok_id_from_bpe(const struct ifg_bpe *t, struct ifg_tok_id *id);
/* 0 when they agree (or either is NULL), else -1 with the message
 * "WHAT: tokenizer 'a' (sha256 0123456789ab...), but model 'CKPT' was
 * trained with tokenizer 'b' (sha256 ...; --any-tokenizer overrides)": the
 * programs that check offer --any-tokenizer to skip it (a checkpoint
 * fine-tuned on purpose with another tokenizer of the same vocabulary). */
int ifg_tok_id_check(const struct ifg_tok_id *model, const char *ckpt,
		     const struct ifg_tok_id *input, const char *what);

/* ifg_ckpt_tokenizer and ifg_tok_id_check in one: 0 when the checkpoint
 * records no tokenizer, input is NULL, or they agree. */
int ifg_ckpt_tok_check(const char *ckpt, const struct ifg_tok_id *input, const char *what);

#endif
