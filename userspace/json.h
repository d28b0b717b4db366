/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A minimal JSON writer: one object on one line, nested objects, no arrays
 * (the callers that print arrays write the brackets themselves).
 */
#ifndef COLOCTL_JSON_H
#define COLOCTL_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 4

struct json {
	FILE *f;
	int depth;
	bool comma[JSON_MAX_DEPTH];
};

void json_init(struct json *j, FILE *f);
/* @key is NULL for the outermost object */
void json_obj_start(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_bool(struct json *j, const char *key, bool v);
void json_str(struct json *j, const char *key, const char *s);

#endif
