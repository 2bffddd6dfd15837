/* dv_jsonp.h — a small JSON parser into a tree (pure, no I/O). */
#ifndef DV_JSONP_H
#define DV_JSONP_H
#include <stdbool.h>
#include <stddef.h>

enum { DV_JNULL, DV_JBOOL, DV_JNUM, DV_JSTR, DV_JARR, DV_JOBJ };

struct dv_jv {
	int type;
	bool b;
	double num;
	char *str;           /* DV_JSTR: NUL-terminated UTF-8 */
	size_t len;          /* DV_JSTR: bytes (strings may hold NULs) */
	struct dv_jv **items; /* DV_JARR, DV_JOBJ (values) */
	char **keys;         /* DV_JOBJ */
	int n;
};

/* Parse len bytes. Returns NULL with a reason ("at byte N: ...") in err.
 * Depth is limited to 64. The caller frees the tree with dv_jv_free. */
struct dv_jv *dv_jsonp_parse(const char *text, size_t len, char *err, size_t errlen);
void dv_jv_free(struct dv_jv *v);
/* Member of an object, or NULL. */
const struct dv_jv *dv_jv_get(const struct dv_jv *obj, const char *key);
#endif
