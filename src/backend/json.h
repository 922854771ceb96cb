/* json.h - reading the service's JSON answers, whichever API: one value
 * of a bounded depth in exactly the bytes received, and the lenient
 * readings every field gets (any field may be null, missing or of
 * another type). Thread-safe, no state.
 */
#ifndef PFS_JSON_H
#define PFS_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

/* One JSON value of @type (json_type_object or json_type_array) in
 * exactly @len bytes of @body, which need not be NUL-terminated (nothing
 * but whitespace may follow it; nesting deeper than 32 is refused): a new
 * json-c object (json_object_put it), or NULL with a one-line reason in
 * @err. Every JSON answer of the service is read with it. */
struct json_object *pfs_json_parse(const char *body, size_t len, int type,
				   char *err, size_t errsize);

/* @obj's member @key, or NULL (missing, or @obj no object). */
struct json_object *pfs_json_get(struct json_object *obj, const char *key);

/* A value as text: a string as itself (*@len bytes; it may hold NULs),
 * anything else (a wrong type) as its JSON text; NULL for null or
 * missing. Not a copy: valid while @value is and until the next call on
 * the same value. */
const char *pfs_json_text(struct json_object *value, size_t *len);

/* An id as the API gives it, a string or an integer that is a valid id
 * (names.h): a g_malloc'd copy, else NULL. */
char *pfs_json_id(struct json_object *value);

/* The array at @key of @obj in *@array: 0 with NULL when missing or
 * null; -EPROTO with the reason in @err when it is anything but an array
 * of objects. */
int pfs_json_objects(struct json_object *obj, const char *key,
		     struct json_object **array, char *err, size_t errsize);

#endif
