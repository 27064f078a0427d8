/* json.h: msgpack objects as JSON text, for the record viewer and for
 * programs that print JSON lines; JSON values as msgpack, for ifg-pack; and
 * lookups in parsed JSON (jansson). */
#ifndef IFG_JSON_H
#define IFG_JSON_H

#include <jansson.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdio.h>

/* A JSON string literal of bytes s[0..n): control characters escaped, bytes
 * that are not valid UTF-8 written as \u00XX (their Latin-1 reading). */
void ifg_json_str(FILE *f, const char *s, size_t n);
/* A finite double as the shortest %.9g form; NaN and infinities as strings
 * ("NaN", "Infinity", "-Infinity"), which JSON cannot represent otherwise. */
void ifg_json_num(FILE *f, double v);

/* Any object.  Typed arrays ({dtype, shape, data} maps) print as
 * {"dtype", "shape", "data": [all values]} when full, or else as a summary
 * {"dtype", "shape", "n", "min", "max", "mean", "head": [first values]}. */
void ifg_json_obj(FILE *f, const msgpack_object *o, bool full);

/* v as msgpack: objects, arrays and scalars as themselves, except that an
 * object of exactly {"dtype", "shape", "data": [numbers]} becomes a typed
 * array (rec.h: data a little-endian bin; "NaN", "Infinity" and "-Infinity"
 * strings are those values; integer dtypes must hold the numbers exactly).
 * The inverse of ifg_json_obj(..., full).  0, or -1 with a message naming
 * the field. */
int ifg_json_pack(msgpack_packer *pk, json_t *v);

/* o's member name, or else the member at the dotted path name into nested
 * objects ("prompt.text", as RealToxicityPrompts nests it); NULL if absent. */
json_t *ifg_json_field(json_t *o, const char *name);

#endif
