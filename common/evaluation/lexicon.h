/* lexicon.h: a profanity lexicon with severities, and robust word matching,
 * for the lexicon toxicity scorer (ifg-toxicity score -l).
 *
 * Sources (the npm packages, as fetched by pipelines/fetch-data.sh):
 *   cuss@2.2.0      index.js, a JS object literal of `word: N,` and quoted
 *                   `'multi word': N,` entries, N the rating 0..2 of how
 *                   surely the word is profane; severity = N / 2.
 *   swearjar@0.2.0  lib/config/en_US.json, {"word": ["category", ...]};
 *                   severity = the largest category weight: discriminatory,
 *                   insult and sexual 1, inappropriate and blasphemy 0.5
 *                   (swearjar's mild words: damn, hell, fart), any other 1.
 * An entry appearing twice keeps its largest severity.
 *
 * Matching (ifg_toxlex_scan), chosen to catch the usual spellings of a word
 * without turning innocent words into slurs:
 *   case        ASCII letters are compared lower-cased;
 *   words       a word is a maximal run of ASCII letters and digits and
 *               bytes >= 0x80; everything else (spaces, punctuation,
 *               apostrophes, hyphens) separates words, so "SHIT!!!",
 *               "(bitch)" and "ass-hat" are found;
 *   entries     are split into words the same way, so a multi-word entry
 *               ("camel jockey") or hyphenated one ("ass-hat") matches its
 *               words in sequence, whatever separates them in the text; a
 *               hyphenated entry also matches written solid ("asshat");
 *   repeats     a word with a run of 3 or more equal characters is also
 *               tried with those runs cut to 2, then to 1 ("fuuuuck" ->
 *               "fuck", "asssss" -> "ass"); runs of 2 are never cut, so
 *               "as" is not "ass";
 *   inflection  a word not found as it is is tried without a plural
 *               "-s"/"-es" ("-ies" -> "-y"), "-ing" or "-ed" ("-ied" ->
 *               "-y"), also with an "e" restored ("raping" -> "rape") or a
 *               doubled final consonant undone ("fucking", "shitted"); the
 *               stem must keep at least 3 characters, and a stem is only
 *               tried when the inflected word itself is not an entry.
 *               Only the last word of a multi-word entry is inflected.
 *   overlap     at each word the longest entry (in words) is taken and the
 *               scan continues after it.
 * Not handled: look-alike spellings that the lists do not contain
 * ("f*ck", "sh1t"), words split by spaces ("f u c k"), other languages. */
#ifndef IFG_LEXICON_H
#define IFG_LEXICON_H

#include <stddef.h>

struct ifg_toxlex;

/* path: a cuss or swearjar package directory (index.js, lib/config/en_US.json
 * or config/en_US.json in it), or one of those files (".json": swearjar,
 * else cuss).  NULL with a message. */
struct ifg_toxlex *ifg_toxlex_load(const char *path);
/* From the text of a cuss index.js or a swearjar JSON file; name is for
 * messages ("'name': line N: why").  NULL with a message. */
struct ifg_toxlex *ifg_toxlex_parse_cuss(const char *src, size_t n, const char *name);
struct ifg_toxlex *ifg_toxlex_parse_swearjar(const char *src, size_t n, const char *name);
void ifg_toxlex_free(struct ifg_toxlex *lx);

/* Entries as loaded (hyphenated entries count once). */
size_t ifg_toxlex_size(const struct ifg_toxlex *lx);
/* "cuss" or "swearjar". */
const char *ifg_toxlex_kind(const struct ifg_toxlex *lx);

struct ifg_toxlex_match {
	size_t off, len;	/* the matched bytes of the text */
	const char *entry;	/* the entry, its words joined by single spaces */
	double severity;	/* in [0, 1] */
};

/* The largest severity of an entry matched in text[0..n) (0 when none);
 * fn, when not NULL, is called for every match in text order. */
double ifg_toxlex_scan(const struct ifg_toxlex *lx, const char *text, size_t n,
		       void (*fn)(void *arg, const struct ifg_toxlex_match *m), void *arg);

#endif
