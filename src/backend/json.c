/* json.c - see json.h */
#include "json.h"
#include "names.h"

#include <errno.h>
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The depth of nesting a real response needs is 6; json-c's default 32
 * keeps a hostile body from exhausting the stack. */
#define JSON_MAX_DEPTH 32

/* Whether @text (@len bytes) is JSON whitespace only. The body need not be
 * NUL-terminated, so no str* function may look at it. */
static bool only_whitespace(const char *text, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!memchr(" \t\r\n", text[i], 4))
			return false;
	return true;
}

struct json_object *pfs_json_parse(const char *body, size_t len, int type,
				   char *err, size_t errsize)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end;

	if (len > INT32_MAX) {
		snprintf(err, errsize, "body too large");
		return NULL;
	}
	tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	if (!tok) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	obj = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue)
		snprintf(err, errsize, "truncated JSON");
	else if (jerr != json_tokener_success)
		snprintf(err, errsize, "not JSON: %s", json_tokener_error_desc(jerr));
	else if (end > len || !only_whitespace(body + end, len - end))
		snprintf(err, errsize, "text after the JSON value");
	else if (!json_object_is_type(obj, (enum json_type)type))
		snprintf(err, errsize, "the body is not a JSON %s",
			 type == json_type_array ? "array" : "object");
	else
		goto out;
	json_object_put(obj);
	obj = NULL;
out:
	json_tokener_free(tok);
	return obj;
}

struct json_object *pfs_json_get(struct json_object *obj, const char *key)
{
	struct json_object *value = NULL;

	if (obj && json_object_is_type(obj, json_type_object))
		json_object_object_get_ex(obj, key, &value);
	return value;
}

const char *pfs_json_text(struct json_object *value, size_t *len)
{
	const char *text;

	if (!value) {
		*len = 0;
		return NULL;
	}
	if (json_object_is_type(value, json_type_string)) {
		*len = (size_t)json_object_get_string_len(value);
		return json_object_get_string(value);
	}
	text = json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN |
						     JSON_C_TO_STRING_NOSLASHESCAPE);
	*len = strlen(text);
	return text;
}

char *pfs_json_id(struct json_object *value)
{
	const char *text;
	size_t len;

	if (!value || !(json_object_is_type(value, json_type_string) ||
			json_object_is_type(value, json_type_int)))
		return NULL;
	text = pfs_json_text(value, &len);
	if (strlen(text) != len || !pfs_name_is_valid_id(text))
		return NULL;
	return g_strdup(text);
}

int pfs_json_objects(struct json_object *obj, const char *key,
		     struct json_object **array, char *err, size_t errsize)
{
	size_t i, n;

	*array = pfs_json_get(obj, key);
	if (!*array)
		return 0;
	if (!json_object_is_type(*array, json_type_array)) {
		snprintf(err, errsize, "\"%s\" is not an array", key);
		return -EPROTO;
	}
	n = json_object_array_length(*array);
	for (i = 0; i < n; i++)
		if (!json_object_is_type(json_object_array_get_idx(*array, i),
					 json_type_object)) {
			snprintf(err, errsize,
				 "an element of \"%s\" is not an object", key);
			return -EPROTO;
		}
	return 0;
}
