/* pretok.h: GPT-2's pre-tokenizer and NFC normalisation, on UTF-8 bytes.
 *
 * GPT-2 (and tiktoken's r50k/gpt2 encoding, and Hugging Face's ByteLevel
 * pre-tokenizer) split text with the regular expression
 *
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * ifg_pretok_next() implements exactly that expression as a scanner:
 * \p{L} and \p{N} are Unicode general categories L* and N* (from utf8proc),
 * \s is the Unicode White_Space property (as in Rust's regex crate, which
 * tiktoken uses, and Oniguruma, which Hugging Face tokenizers use).
 *
 * Bytes that are not valid UTF-8 (stray continuation bytes, overlong forms,
 * surrogates, truncated sequences) are each taken as one character of the
 * "other" class, which is where U+FFFD, what a UTF-8 decoder would make of
 * them, belongs; the bytes themselves are kept, so byte-level BPE encodes and
 * decodes them exactly.  Nothing here allocates or fails on any input. */
#ifndef IFG_PRETOK_H
#define IFG_PRETOK_H

#include <stddef.h>
#include <stdint.h>

/* Character classes of the expression above. */
enum ifg_cclass { IFG_CC_OTHER = 0, IFG_CC_LETTER, IFG_CC_NUMBER, IFG_CC_SPACE };

/* Decodes one UTF-8 character at s[0..n) (n >= 1): returns its length in
 * bytes (1..4) and stores the code point in *cp, or -1 in *cp for an invalid
 * byte (length 1). */
int ifg_utf8_decode(const uint8_t *s, size_t n, int32_t *cp);

/* Class of a code point (-1, an invalid byte, is IFG_CC_OTHER). */
enum ifg_cclass ifg_cclass_of(int32_t cp);

/* End of the pre-token that starts at s[i], for i < n; always > i.
 * The pre-tokens of s are [0, e1), [e1, e2), ... up to n. */
size_t ifg_pretok_next(const uint8_t *s, size_t n, size_t i);

/* Unicode NFC of s[0..n) (utf8proc), appended to *out (capacity *cap,
 * grown with realloc; *len is the used length).  Maximal runs of valid
 * UTF-8 are normalised; invalid bytes are copied as they are.  Returns 0,
 * or -1 with a message (out of memory, utf8proc error). */
int ifg_nfc_append(const uint8_t *s, size_t n, uint8_t **out, size_t *len, size_t *cap);

/* 1 when s[0..n) is certainly unchanged by NFC (every code point is below
 * U+0300, the first whose NFC quick-check property is not Yes), else 0. */
int ifg_nfc_trivial(const uint8_t *s, size_t n);

#endif
