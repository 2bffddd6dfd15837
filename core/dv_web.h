/* dv_web.h — the front-desk page's static files (web/), read into memory
 * with each configuration generation and served by dv_http.c on the loop
 * thread: only regular files directly in web.dir, with safe names. */
#ifndef DV_WEB_H
#define DV_WEB_H
#include <stddef.h>

struct dv_conf;
struct dv_conf_errs;

struct dv_web_file {
	char name[64];
	const char *ctype;
	char *data;
	size_t len;
};

struct dv_web {
	struct dv_web_file *files;
	int n;
};

/* Read web.dir (NULL when disabled or absent: the page is not served).
 * Returns 0, or -1 with a reason in errs (unreadable, too large). */
int dv_web_load(const struct dv_conf *c, struct dv_web **out, struct dv_conf_errs *errs);
void dv_web_free(struct dv_web *w);
/* The file for a request path ("/" = index.html), or NULL. Pure. */
const struct dv_web_file *dv_web_find(const struct dv_web *w, const char *path);
#endif
