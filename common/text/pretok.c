/* pretok.c: GPT-2's pre-tokenizer as a scanner over UTF-8, NFC via utf8proc.
 * See pretok.h for the expression it implements. */
#include "pretok.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "util.h"

/* Classes of ASCII (the common case, without a utf8proc call): letters,
 * digits, and the White_Space characters TAB..CR and space; 0x1C..0x1F are
 * Cc, not White_Space.  The same as ifg_cclass_of below 0x80. */
#define O IFG_CC_OTHER
#define L IFG_CC_LETTER
#define N IFG_CC_NUMBER
#define S IFG_CC_SPACE
static const uint8_t ascii_cc[128] = {
	O, O, O, O, O, O, O, O, O, S, S, S, S, S, O, O,	/* 00 */
	O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,	/* 10 */
	S, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,	/* 20 */
	N, N, N, N, N, N, N, N, N, N, O, O, O, O, O, O,	/* 30 */
	O, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,	/* 40 */
	L, L, L, L, L, L, L, L, L, L, L, O, O, O, O, O,	/* 50 */
	O, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,	/* 60 */
	L, L, L, L, L, L, L, L, L, L, L, O, O, O, O, O,	/* 70 */
};
#undef O
#undef L
#undef N
#undef S

int ifg_utf8_decode(const uint8_t *s, size_t n, int32_t *cp)
{
	uint8_t b = s[0];
	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	/* Well-formed sequences per Unicode table 3-7: no overlong forms, no
	 * surrogates, nothing above U+10FFFF. */
	int len;
	uint8_t lo = 0x80, hi = 0xbf;
	int32_t c;
	if (b >= 0xc2 && b <= 0xdf) {
		len = 2, c = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		len = 3, c = b & 0x0f;
		if (b == 0xe0)
			lo = 0xa0;
		else if (b == 0xed)
			hi = 0x9f;
	} else if (b >= 0xf0 && b <= 0xf4) {
		len = 4, c = b & 0x07;
		if (b == 0xf0)
			lo = 0x90;
		else if (b == 0xf4)
			hi = 0x8f;
	} else {
		*cp = -1;
		return 1;
	}
	if ((size_t)len > n || s[1] < lo || s[1] > hi) {
		*cp = -1;
		return 1;
	}
	c = (c << 6) | (s[1] & 0x3f);
	for (int k = 2; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80) {
			*cp = -1;
			return 1;
		}
		c = (c << 6) | (s[k] & 0x3f);
	}
	*cp = c;
	return len;
}

enum ifg_cclass ifg_cclass_of(int32_t cp)
{
	if (cp < 0)
		return IFG_CC_OTHER;
	/* White_Space (PropList.txt) is the separators Z* plus six controls. */
	if ((cp >= 0x09 && cp <= 0x0d) || cp == 0x85)
		return IFG_CC_SPACE;
	switch (utf8proc_category(cp)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
		return IFG_CC_LETTER;
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
		return IFG_CC_NUMBER;
	case UTF8PROC_CATEGORY_ZS:
	case UTF8PROC_CATEGORY_ZL:
	case UTF8PROC_CATEGORY_ZP:
		return IFG_CC_SPACE;
	default:
		return IFG_CC_OTHER;
	}
}

/* Length of the character at s[i] and its class. */
static inline size_t char_at(const uint8_t *s, size_t n, size_t i, enum ifg_cclass *cc)
{
	if (s[i] < 0x80) {
		*cc = (enum ifg_cclass)ascii_cc[s[i]];
		return 1;
	}
	int32_t cp;
	size_t l = (size_t)ifg_utf8_decode(s + i, n - i, &cp);
	*cc = ifg_cclass_of(cp);
	return l;
}

size_t ifg_pretok_next(const uint8_t *s, size_t n, size_t i)
{
	/* 's|'t|'re|'ve|'m|'ll|'d (case-sensitive, as in GPT-2) */
	if (s[i] == '\'' && i + 1 < n) {
		uint8_t a = s[i + 1];
		if (a == 's' || a == 't' || a == 'm' || a == 'd')
			return i + 2;
		if (i + 2 < n) {
			uint8_t b = s[i + 2];
			if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
				return i + 3;
		}
	}
	enum ifg_cclass cc;
	size_t l = char_at(s, n, i, &cc);
	size_t j = i;
	/* " ?X+" for X in L, N, other: an optional space before a run. */
	if (s[i] == ' ' && i + 1 < n) {
		enum ifg_cclass c2;
		size_t l2 = char_at(s, n, i + 1, &c2);
		if (c2 != IFG_CC_SPACE)
			j = i + 1, l = l2, cc = c2;
	}
	if (cc != IFG_CC_SPACE) {
		j += l;
		if (cc == IFG_CC_LETTER) {
			/* ASCII letters first: the common case. */
			while (j < n && s[j] < 0x80 && ascii_cc[s[j]] == IFG_CC_LETTER)
				j++;
		}
		while (j < n) {
			enum ifg_cclass c3;
			size_t l3 = char_at(s, n, j, &c3);
			if (c3 != cc)
				break;
			j += l3;
		}
		return j;
	}
	/* \s+(?!\S) | \s+ : a run of white space.  Unless it ends the text,
	 * the greedy run backs off by one character so that the last one can
	 * lead the next word; a single character stays on its own. */
	size_t last = i, nchar = 0;
	j = i;
	while (j < n) {
		enum ifg_cclass c3;
		size_t l3 = char_at(s, n, j, &c3);
		if (c3 != IFG_CC_SPACE)
			break;
		last = j;
		j += l3;
		nchar++;
	}
	if (j == n || nchar < 2)
		return j;
	return last;
}

int ifg_nfc_trivial(const uint8_t *s, size_t n)
{
	/* U+0300 is encoded CC 80; every lead byte below 0xCC starts a code
	 * point below U+0300 (invalid bytes 0x80..0xC1 are copied anyway). */
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 0xcc)
			return 0;
	return 1;
}

static int append(uint8_t **out, size_t *len, size_t *cap, const void *p, size_t n)
{
	if (*len + n > *cap) {
		size_t c = *cap ? *cap : 256;
		while (c < *len + n)
			c *= 2;
		uint8_t *q = realloc(*out, c);
		if (!q)
			return ifg_seterr("out of memory");
		*out = q;
		*cap = c;
	}
	if (n)
		memcpy(*out + *len, p, n);
	*len += n;
	return 0;
}

static int nfc_run(const uint8_t *s, size_t n, uint8_t **out, size_t *len, size_t *cap)
{
	if (n == 0)
		return 0;
	if (ifg_nfc_trivial(s, n))
		return append(out, len, cap, s, n);
	utf8proc_uint8_t *dst = NULL;
	utf8proc_ssize_t r = utf8proc_map(s, (utf8proc_ssize_t)n, &dst,
					  UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	if (r < 0)
		return ifg_seterr("NFC normalisation: %s", utf8proc_errmsg(r));
	int rc = append(out, len, cap, dst, (size_t)r);
	free(dst);
	return rc;
}

int ifg_nfc_append(const uint8_t *s, size_t n, uint8_t **out, size_t *len, size_t *cap)
{
	size_t start = 0, i = 0;
	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		int32_t cp;
		int l = ifg_utf8_decode(s + i, n - i, &cp);
		if (cp >= 0) {
			i += (size_t)l;
			continue;
		}
		if (nfc_run(s + start, i - start, out, len, cap) < 0 ||
		    append(out, len, cap, s + i, 1) < 0)
			return -1;
		start = ++i;
	}
	return nfc_run(s + start, n - start, out, len, cap);
}
