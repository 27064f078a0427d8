/* lexicon.c: profanity lexicons (cuss, swearjar) and word matching
 * (lexicon.h). */
#include "lexicon.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

struct entry {
	char *key;	/* words joined by single spaces; NULL: an empty slot */
	double sev;
};

struct ifg_toxlex {
	struct entry *tab;	/* open addressing, linear probing; cap a power of 2 */
	size_t cap, used, loaded;
	int maxwords;
	const char *kind;
};

static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static struct entry *slot(const struct ifg_toxlex *lx, const char *k, size_t n)
{
	size_t i = (size_t)hash(k, n) & (lx->cap - 1);
	while (lx->tab[i].key && !(strlen(lx->tab[i].key) == n && !memcmp(lx->tab[i].key, k, n)))
		i = (i + 1) & (lx->cap - 1);
	return &lx->tab[i];
}

static void insert(struct ifg_toxlex *lx, const char *k, size_t n, double sev)
{
	if (2 * (lx->used + 1) > lx->cap) {	/* load factor <= 1/2 */
		struct entry *old = lx->tab;
		size_t ocap = lx->cap;
		lx->cap = ocap ? 2 * ocap : 1024;
		lx->tab = ifg_xcalloc(lx->cap, sizeof *lx->tab);
		for (size_t i = 0; i < ocap; i++)
			if (old[i].key)
				*slot(lx, old[i].key, strlen(old[i].key)) = old[i];
		free(old);
	}
	struct entry *e = slot(lx, k, n);
	if (e->key) {
		if (sev > e->sev)
			e->sev = sev;
		return;
	}
	e->key = ifg_xmalloc(n + 1, 1);
	memcpy(e->key, k, n);
	e->key[n] = 0;
	e->sev = sev;
	lx->used++;
}

static inline int word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c >= 0x80;
}

static inline char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* An entry as written in the source: its words joined by spaces, and, when
 * it was hyphenated, also solid. */
static void add_entry(struct ifg_toxlex *lx, const char *s, size_t n, double sev)
{
	char *k = ifg_xmalloc(n + 1, 1), *solid = ifg_xmalloc(n + 1, 1);
	size_t kn = 0, sn = 0;
	int words = 0, hyphen = 0;
	for (size_t i = 0; i < n;) {
		if (!word_byte((unsigned char)s[i])) {
			hyphen |= s[i] == '-';
			i++;
			continue;
		}
		if (kn)
			k[kn++] = ' ';
		words++;
		while (i < n && word_byte((unsigned char)s[i]))
			k[kn++] = solid[sn++] = lower(s[i++]);
	}
	if (kn) {
		insert(lx, k, kn, sev);
		if (hyphen && words > 1)
			insert(lx, solid, sn, sev);
		if (words > lx->maxwords)
			lx->maxwords = words;
		lx->loaded++;
	}
	free(k), free(solid);
}

static struct ifg_toxlex *toxlex_new(const char *kind)
{
	struct ifg_toxlex *lx = ifg_xcalloc(1, sizeof *lx);
	lx->kind = kind;
	return lx;
}

void ifg_toxlex_free(struct ifg_toxlex *lx)
{
	if (!lx)
		return;
	for (size_t i = 0; i < lx->cap; i++)
		free(lx->tab[i].key);
	free(lx->tab);
	free(lx);
}

size_t ifg_toxlex_size(const struct ifg_toxlex *lx) { return lx->loaded; }
const char *ifg_toxlex_kind(const struct ifg_toxlex *lx) { return lx->kind; }

/* ---- sources ---- */

/* cuss: every line of the object literal that reads `key: N` (optional
 * trailing comma), key bare or in single or double quotes; other lines
 * (comments, `export const cuss = {`, `}`) are skipped. */
struct ifg_toxlex *ifg_toxlex_parse_cuss(const char *src, size_t n, const char *name)
{
	struct ifg_toxlex *lx = toxlex_new("cuss");
	size_t line = 0;
	int inside = 0;
	for (size_t p = 0; p < n;) {
		const char *s = src + p, *nl = memchr(s, '\n', n - p);
		size_t len = nl ? (size_t)(nl - s) : n - p;
		p += len + 1;
		line++;
		size_t i = 0;
		while (i < len && strchr(" \t\r", s[i]))
			i++;
		if (!inside) {	/* entries start after the line with the opening brace */
			inside = memchr(s, '{', len) != NULL && !memchr(s, '}', len);
			continue;
		}
		if (i == len || s[i] == '}' || s[i] == '/' || s[i] == '*')
			continue;
		const char *k = s + i;
		size_t kn = 0;
		if (s[i] == '\'' || s[i] == '"') {
			const char *q = memchr(s + i + 1, s[i], len - i - 1);
			if (!q)
				goto bad;
			k = s + i + 1, kn = (size_t)(q - k);
			i = (size_t)(q - s) + 1;
		} else {
			while (i + kn < len && s[i + kn] != ':' && !strchr(" \t", s[i + kn]))
				kn++;
			i += kn;
		}
		while (i < len && strchr(" \t", s[i]))
			i++;
		if (i == len || s[i] != ':')
			goto bad;
		i++;
		while (i < len && strchr(" \t", s[i]))
			i++;
		if (i == len || s[i] < '0' || s[i] > '2' || (i + 1 < len && s[i + 1] >= '0' &&
							      s[i + 1] <= '9'))
			goto bad;
		add_entry(lx, k, kn, (s[i] - '0') / 2.0);
		continue;
bad:
		ifg_seterr("'%s': line %zu: not a `word: rating` entry with a rating 0, 1 or 2",
			   name, line);
		ifg_toxlex_free(lx);
		return NULL;
	}
	if (!lx->loaded) {
		ifg_seterr("'%s': no entries (not cuss's index.js?)", name);
		ifg_toxlex_free(lx);
		return NULL;
	}
	return lx;
}

static double category_weight(const char *c)
{
	static const struct { const char *name; double w; } tab[] = {
		{ "discriminatory", 1 }, { "insult", 1 }, { "sexual", 1 },
		{ "inappropriate", 0.5 }, { "blasphemy", 0.5 },
	};
	for (size_t i = 0; i < sizeof tab / sizeof *tab; i++)
		if (!strcmp(c, tab[i].name))
			return tab[i].w;
	return 1;
}

struct ifg_toxlex *ifg_toxlex_parse_swearjar(const char *src, size_t n, const char *name)
{
	json_error_t je;
	json_t *root = json_loadb(src, n, 0, &je);
	if (!root) {
		ifg_seterr("'%s': line %d: %s", name, je.line, je.text);
		return NULL;
	}
	struct ifg_toxlex *lx = toxlex_new("swearjar");
	const char *key;
	json_t *v;
	if (!json_is_object(root)) {
		ifg_seterr("'%s': not a JSON object of words", name);
		goto fail;
	}
	json_object_foreach(root, key, v) {
		if (!json_is_array(v)) {
			ifg_seterr("'%s': word '%s': categories are not an array", name, key);
			goto fail;
		}
		double sev = json_array_size(v) ? 0 : 1;
		size_t i;
		json_t *c;
		json_array_foreach(v, i, c) {
			if (!json_is_string(c)) {
				ifg_seterr("'%s': word '%s': a category is not a string", name, key);
				goto fail;
			}
			double w = category_weight(json_string_value(c));
			sev = w > sev ? w : sev;
		}
		add_entry(lx, key, strlen(key), sev);
	}
	json_decref(root);
	if (!lx->loaded) {
		ifg_seterr("'%s': no entries", name);
		ifg_toxlex_free(lx);
		return NULL;
	}
	return lx;
fail:
	json_decref(root);
	ifg_toxlex_free(lx);
	return NULL;
}

static char *read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		ifg_seterr("'%s': %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (64 << 20)) {
		ifg_seterr("'%s': not a regular file of at most 64 MiB", path);
		fclose(f);
		return NULL;
	}
	char *b = ifg_xmalloc((size_t)st.st_size + 1, 1);
	*n = fread(b, 1, (size_t)st.st_size, f);
	int err = ferror(f) || *n != (size_t)st.st_size;
	fclose(f);
	if (err) {
		ifg_seterr("'%s': read failed", path);
		free(b);
		return NULL;
	}
	b[*n] = 0;
	return b;
}

struct ifg_toxlex *ifg_toxlex_load(const char *path)
{
	static const char *const inside[] = { "index.js", "lib/config/en_US.json",
					      "config/en_US.json", "en_US.json" };
	struct stat st;
	if (stat(path, &st) != 0) {
		ifg_seterr("lexicon '%s': %s", path, strerror(errno));
		return NULL;
	}
	char *file = NULL;
	if (S_ISDIR(st.st_mode)) {
		for (size_t i = 0; i < sizeof inside / sizeof *inside && !file; i++) {
			size_t n = strlen(path) + strlen(inside[i]) + 2;
			file = ifg_xmalloc(n, 1);
			snprintf(file, n, "%s/%s", path, inside[i]);
			if (stat(file, &st) != 0 || !S_ISREG(st.st_mode))
				free(file), file = NULL;
		}
		if (!file) {
			ifg_seterr("lexicon '%s': a directory without index.js (cuss) or "
				   "lib/config/en_US.json (swearjar)", path);
			return NULL;
		}
	} else {
		file = ifg_xstrdup(path);
	}
	size_t n, fl = strlen(file);
	char *src = read_all(file, &n);
	struct ifg_toxlex *lx = NULL;
	if (src)
		lx = fl >= 5 && !strcmp(file + fl - 5, ".json") ?
			     ifg_toxlex_parse_swearjar(src, n, file) :
			     ifg_toxlex_parse_cuss(src, n, file);
	free(src), free(file);
	return lx;
}

/* ---- matching ---- */

enum { MAXW = 64, MAXC = 24 };	/* longest word inflected; most candidate forms */

struct forms {
	char s[MAXC][MAXW + 2];
	size_t len[MAXC];
	int n;
};

static void form_add(struct forms *f, const char *s, size_t n, const char *suffix)
{
	size_t sn = strlen(suffix);
	if (f->n == MAXC || n + sn > MAXW + 1)
		return;
	memcpy(f->s[f->n], s, n);
	memcpy(f->s[f->n] + n, suffix, sn);
	f->len[f->n++] = n + sn;
}

/* w with every run of 3+ equal bytes cut to keep bytes (1 or 2). */
static size_t cut_runs(const char *w, size_t n, int keep, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && w[j] == w[i])
			j++;
		size_t k = j - i >= 3 ? (size_t)keep : j - i;
		memset(out + o, w[i], k);
		o += k;
		i = j;
	}
	return o;
}

static int vowel(char c)
{
	return strchr("aeiou", c) != NULL;
}

/* Stems of an inflected word b (see lexicon.h), each at least 3 bytes;
 * -ed and -ing as in Porter's stemmer (step 1b), which picks one stem:
 * "fucking" -> "fuck", "shitting" -> "shit", "raped" -> "rape". */
static void inflections(struct forms *f, const char *b, size_t n)
{
#define ENDS(suf) (n >= strlen(suf) + 3 && !memcmp(b + n - strlen(suf), suf, strlen(suf)))
	if (ENDS("s") && b[n - 2] != 's')	/* "ass" and "kiss" are not plurals */
		form_add(f, b, n - 1, "");
	/* -es after a sibilant only: "bitches", "asses", not "prices" -> "pric" */
	if (ENDS("es") && (strchr("sxz", b[n - 3]) || (b[n - 3] == 'h' && strchr("cs", b[n - 4]))))
		form_add(f, b, n - 2, "");
	if (ENDS("ies"))
		form_add(f, b, n - 3, "y");
	static const char *const sfx[] = { "ing", "ed" };
	for (int k = 0; k < 2; k++) {
		size_t m = n - strlen(sfx[k]);
		if (!ENDS(sfx[k]))
			continue;
		char c1 = b[m - 1], c2 = b[m - 2], c3 = b[m - 3];
		if (k == 1 && c1 == 'i')	/* "-ied" -> "-y" */
			form_add(f, b, m - 1, "y");
		else if (c1 == c2 && !vowel(c1) && !strchr("lsz", c1))
			form_add(f, b, m - 1, "");	/* "shitting" -> "shit", not "cunning" -> "cunn" */
		else if (!vowel(c3) && vowel(c2) && !vowel(c1) && !strchr("wxy", c1))
			form_add(f, b, m, "e");	/* consonant-vowel-consonant: "raped" -> "rape" */
		else
			form_add(f, b, m, "");	/* "fucked" -> "fuck", "tested" -> "test" */
	}
#undef ENDS
}

/* The forms of a lower-cased word tried in turn: as it is; with runs cut;
 * then the stems of each of those. */
static void word_forms(struct forms *f, const char *w, size_t n)
{
	f->n = 0;
	form_add(f, w, n, "");
	if (n > MAXW)
		return;
	char t[MAXW];
	size_t t2 = cut_runs(w, n, 2, t);
	if (t2 != n) {
		form_add(f, t, t2, "");
		size_t t1 = cut_runs(w, n, 1, t);
		form_add(f, t, t1, "");
	}
	int bases = f->n;
	for (int i = 0; i < bases; i++) {
		char b[MAXW + 2];
		memcpy(b, f->s[i], f->len[i]);
		inflections(f, b, f->len[i]);
	}
}

double ifg_toxlex_scan(const struct ifg_toxlex *lx, const char *text, size_t n,
		       void (*fn)(void *arg, const struct ifg_toxlex_match *m), void *arg)
{
	/* words: (offset, length) in text and their lower-cased copies in low */
	size_t nw = 0, cap = 16;
	size_t *wo = ifg_xmalloc(cap, sizeof *wo), *wl = ifg_xmalloc(cap, sizeof *wl);
	char *low = ifg_xmalloc(n + 1, 1);
	for (size_t i = 0; i < n;) {
		if (!word_byte((unsigned char)text[i])) {
			i++;
			continue;
		}
		if (nw == cap) {
			cap *= 2;
			wo = ifg_xrealloc(wo, cap, sizeof *wo);
			wl = ifg_xrealloc(wl, cap, sizeof *wl);
		}
		wo[nw] = i;
		while (i < n && word_byte((unsigned char)text[i])) {
			low[i] = lower(text[i]);
			i++;
		}
		wl[nw] = i - wo[nw];
		nw++;
	}
	double best = 0;
	struct forms *f = ifg_xmalloc(1, sizeof *f);
	char *key = ifg_xmalloc(n + MAXW + 2, 1);
	for (size_t i = 0; i < nw;) {
		const struct entry *hit = NULL;
		size_t k = (size_t)lx->maxwords < nw - i ? (size_t)lx->maxwords : nw - i;
		for (; k >= 1 && !hit; k--) {
			size_t kn = 0;	/* the first k - 1 words as they are */
			for (size_t j = i; j + 1 < i + k; j++) {
				memcpy(key + kn, low + wo[j], wl[j]);
				kn += wl[j];
				key[kn++] = ' ';
			}
			size_t last = i + k - 1;
			word_forms(f, low + wo[last], wl[last]);
			for (int c = 0; c < f->n && !hit; c++) {
				memcpy(key + kn, f->s[c], f->len[c]);
				const struct entry *e = slot(lx, key, kn + f->len[c]);
				hit = e->key ? e : NULL;
			}
			if (hit)
				break;
		}
		if (!hit) {
			i++;
			continue;
		}
		struct ifg_toxlex_match m = {
			.off = wo[i], .len = wo[i + k - 1] + wl[i + k - 1] - wo[i],
			.entry = hit->key, .severity = hit->sev,
		};
		if (m.severity > best)
			best = m.severity;
		if (fn)
			fn(arg, &m);
		i += k;
	}
	free(f), free(key), free(low), free(wo), free(wl);
	return best;
}
