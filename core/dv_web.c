/* dv_web.c — static files of the front-desk page (see dv_web.h). */
#include "dv_web.h"
#include "dv_conf.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DV_WEB_MAX (8 << 20)

static const char *dv_web_type(const char *name)
{
	static const struct { const char *ext, *type; } t[] = {{".html", "text/html; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"}, {".svg", "image/svg+xml"},
	    {".png", "image/png"}, {".ico", "image/x-icon"}, {".json", "application/json"}, {".txt", "text/plain; charset=utf-8"}};
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < sizeof t / sizeof t[0]; i++)
		if (!strcmp(dot, t[i].ext))
			return t[i].type;
	return NULL;
}

static int dv_web_name_ok(const char *n)
{
	if (!n[0] || n[0] == '.' || strlen(n) >= 64)
		return 0;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		        *p == '-' || *p == '_'))
			return 0;
	return 1;
}

void dv_web_free(struct dv_web *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->n; i++)
		free(w->files[i].data);
	free(w->files);
	free(w);
}

int dv_web_load(const struct dv_conf *c, struct dv_web **out, struct dv_conf_errs *errs)
{
	*out = NULL;
	if (!c->web_dir || !c->web_dir[0])
		return 0;
	DIR *d = opendir(c->web_dir);
	if (!d)
		return 0; /* not installed: the API works without the page */
	struct dv_web *w = calloc(1, sizeof *w);
	size_t total = 0;
	int bad = 0;
	struct dirent *e;
	while (w && (e = readdir(d)) != NULL) {
		if (!dv_web_name_ok(e->d_name) || !dv_web_type(e->d_name))
			continue;
		char path[4200];
		snprintf(path, sizeof path, "%s/%s", c->web_dir, e->d_name);
		struct stat st;
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		total += (size_t)st.st_size;
		if (total > DV_WEB_MAX) {
			dv_conf_errs_add(errs, c->path, 0, 0, "web.dir: %s holds more than 8 MiB of files", c->web_dir);
			bad = 1;
			break;
		}
		FILE *f = fopen(path, "rb");
		struct dv_web_file *v = f ? realloc(w->files, sizeof *v * (size_t)(w->n + 1)) : NULL;
		if (!v) {
			if (f)
				fclose(f);
			continue;
		}
		w->files = v;
		struct dv_web_file *x = &w->files[w->n];
		memset(x, 0, sizeof *x);
		snprintf(x->name, sizeof x->name, "%.63s", e->d_name);
		x->ctype = dv_web_type(e->d_name);
		x->data = malloc((size_t)st.st_size + 1);
		x->len = x->data ? fread(x->data, 1, (size_t)st.st_size, f) : 0;
		fclose(f);
		if (x->data)
			w->n++;
	}
	closedir(d);
	if (bad) {
		dv_web_free(w);
		return -1;
	}
	*out = w;
	return 0;
}

const struct dv_web_file *dv_web_find(const struct dv_web *w, const char *path)
{
	if (!w || !path || path[0] != '/')
		return NULL;
	const char *name = path[1] ? path + 1 : "index.html";
	if (!dv_web_name_ok(name))
		return NULL;
	for (int i = 0; i < w->n; i++)
		if (!strcmp(w->files[i].name, name))
			return &w->files[i];
	return NULL;
}
