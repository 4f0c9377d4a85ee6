#ifndef MAB_JSONPTR_H
#define MAB_JSONPTR_H

/* RFC 6901 JSON Pointers ("/realm_access/roles", "/groups/0", "/a~1b" for the member "a/b"). */
struct json_t;

/* 1 when `ptr` is a syntactically valid pointer: empty, or '/'-separated reference tokens
 * in which '~' is only ever followed by '0' or '1'. Otherwise 0 and *why says what is wrong. */
int mab_jsonptr_valid(const char *ptr, const char **why);

/* The value `ptr` points at inside `root`, or NULL when there is none (a member or index
 * that does not exist, an index into a non-array, "-", a leading zero, a bad escape).
 * The empty pointer is the root itself. The result is borrowed from `root`. */
const struct json_t *mab_jsonptr_get(const struct json_t *root, const char *ptr);

#endif
