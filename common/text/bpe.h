/* bpe.h: byte-level BPE tokenizers (GPT-2 files, Hugging Face tokenizer.json).
 *
 * Loads
 *   - GPT-2's vocab.json (or encoder.json) with merges.txt (or vocab.bpe);
 *   - a Hugging Face tokenizer.json whose model is BPE over the ByteLevel
 *     pre-tokenizer, with its added tokens and an NFC normalizer if any
 *     (e.g. GPT-NeoX-20B's, which the Pythia models use);
 * and encodes text to token ids exactly as tiktoken (gpt2 encoding) and
 * Hugging Face tokenizers do, and decodes ids back to the bytes.
 *
 * Encoding of a text:
 *   1. added tokens matched on the raw text (leftmost, longest first) are
 *      emitted as they are: Hugging Face added tokens with normalized=false,
 *      and special tokens (GPT-2: <|endoftext|>) only when specials are on;
 *   2. each stretch between them is NFC-normalised if the tokenizer says so,
 *      and added tokens with normalized=true are matched on the result;
 *   3. what remains is split by GPT-2's pre-tokenizer (pretok.h) and every
 *      piece is merged by rank (the lowest-ranked adjacent pair first,
 *      leftmost among equals) from its bytes.
 * Merge ranks live in a hash table keyed by the pair of ids; encodings of
 * short pieces are cached; long pieces (a megabyte of letters) are merged
 * with a heap in O(n log n).
 *
 * decode(encode(x)) == x for every byte string x, invalid UTF-8 included,
 * with two exceptions that the reference libraries share (they take text,
 * which is valid Unicode): a tokenizer with an NFC normalizer returns NFC(x),
 * and a byte that has no token in the vocabulary is encoded as U+FFFD, the
 * replacement character (GPT-NeoX's lacks C0, C1 and F5..FF, bytes that
 * never occur in UTF-8; GPT-2's has all 256).
 *
 * A struct ifg_bpe is not safe for concurrent use (the word cache); load one
 * per thread. */
#ifndef IFG_BPE_H
#define IFG_BPE_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct ifg_bpe;

/* A growable array of token ids. */
struct ifg_ids {
	uint32_t *v;
	size_t n, cap;
};
void ifg_ids_push(struct ifg_ids *a, uint32_t id);
void ifg_ids_release(struct ifg_ids *a);


/* path: a tokenizer.json, or a directory holding vocab.json + merges.txt
 * or encoder.json + vocab.bpe.  NULL with a message on failure. */
struct ifg_bpe *ifg_bpe_load(const char *path);
/* GPT-2 format from the two files. */
struct ifg_bpe *ifg_bpe_load_gpt2(const char *vocab_path, const char *merges_path);
void ifg_bpe_free(struct ifg_bpe *t);

/* Identity, as the tokens header carries it (kinds.h).
 * vocab_size: 1 + the largest id (vocabulary and added tokens).
 * eot: the id of "<|endoftext|>", or -1 when the tokenizer has none.
 * sha256: of the tokenizer.json, or of vocab file then merges file.
 * name: "gpt2" or "gpt-neox-20b" for the reference files, else the file's
 * (or directory's) base name without extension; ifg_bpe_set_name changes it. */
uint32_t ifg_bpe_vocab_size(const struct ifg_bpe *t);
int64_t ifg_bpe_eot(const struct ifg_bpe *t);
const char *ifg_bpe_sha256(const struct ifg_bpe *t);
const char *ifg_bpe_name(const struct ifg_bpe *t);
void ifg_bpe_set_name(struct ifg_bpe *t, const char *name);

/* Bytes of token id (NULL when no token has that id). */
const uint8_t *ifg_bpe_token(const struct ifg_bpe *t, uint32_t id, size_t *len);
bool ifg_bpe_is_special(const struct ifg_bpe *t, uint32_t id);
/* Id of the token whose bytes are s[0..n) (vocabulary or added), or -1. */
int64_t ifg_bpe_lookup(const struct ifg_bpe *t, const void *s, size_t n);

/* Special tokens in text: IFG_BPE_SPECIAL_DEFAULT follows the reference
 * library of the format: off for GPT-2 files (tiktoken's encode_ordinary,
 * GPT-2's encoder.py), on for tokenizer.json (Hugging Face tokenizers). */
enum { IFG_BPE_SPECIAL_DEFAULT = -1, IFG_BPE_SPECIAL_OFF = 0, IFG_BPE_SPECIAL_ON = 1 };

/* Appends the ids of text[0..len) to out.  0, or -1 with a message (a
 * vocabulary without tokens for the bytes of U+FFFD; NFC failure). */
int ifg_bpe_encode(struct ifg_bpe *t, const void *text, size_t len, int special,
		   struct ifg_ids *out);
/* Appends the bytes of ids to out.  skip_special leaves special tokens out.
 * -1 with a message on an id that is not a token. */
int ifg_bpe_decode(const struct ifg_bpe *t, const uint32_t *ids, size_t n, bool skip_special,
		   struct ifg_bytes *out);

/* Ids of one pre-token's bytes by merges alone (no cache, no added tokens):
 * the BPE step, exposed for tests and the trainer's checks. */
int ifg_bpe_encode_word(const struct ifg_bpe *t, const uint8_t *w, size_t n, struct ifg_ids *out);

/* The tokens header's tokenizer map: packs the map {name, sha256,
 * vocab_size, eot} (the caller packs the key). */
void ifg_bpe_pack_identity(msgpack_packer *pk, const struct ifg_bpe *t);
/* Checks a header's tokenizer map against t: 0 when sha256 (and
 * vocab_size) agree, else -1 with a message naming both. */
int ifg_bpe_check_identity(const struct ifg_bpe *t, const msgpack_object *tok);

/* GPT-2's reversible byte <-> character map (bytes_to_unicode in
 * encoder.py): byte b is shown as code point ifg_bpe_byte_char(b). */
uint32_t ifg_bpe_byte_char(uint8_t b);

#endif
