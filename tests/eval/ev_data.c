/* ev_data.c — the evaluation photos and their embeddings: see ev_data.h. */
#include "ev_data.h"
#include "dv_sha256.h"
#include <ctype.h>
#include <math.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

float ev_dist(const float *a, const float *b, int dim)
{
	float s = 0;
	for (int i = 0; i < dim; i++) {
		float d = a[i] - b[i];
		s += d * d;
	}
	return sqrtf(s);
}

int ev_data_set(const struct ev_data *d, const char *set)
{
	for (int i = 0; i < d->n_sets; i++)
		if (!strcmp(d->sets[i], set))
			return i;
	return -1;
}

/* A person's name is the folder's name (cfp's "NNN_" number dropped); a
 * numbered subject belongs to its set. */
static char *ev_ident(const char *set, const char *id)
{
	const char *p = id;
	if (!strcmp(set, "cfp"))
		while (isdigit((unsigned char)*p) || (*p == '_' && p > id && isdigit((unsigned char)p[-1])))
			p++;
	bool numbered = !strcmp(set, "att_orl") || !strcmp(set, "yale");
	char buf[1024];
	snprintf(buf, sizeof buf, "%s%s%s", numbered ? set : "", numbered ? "/" : "", p);
	return strdup(buf);
}

int ev_data_load(const char *dir, struct ev_data *d)
{
	memset(d, 0, sizeof *d);
	char path[4096];
	snprintf(path, sizeof path, "%s/identities.csv", dir);
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "cannot read %s\n", path);
		return -1;
	}
	char line[8192];
	int cap = 0;
	while (fgets(line, sizeof line, f)) {
		char p[4096], set[256], id[512], role[32];
		if (sscanf(line, "%4095[^,],%255[^,],%511[^,],%31[^,\n]", p, set, id, role) != 4 || !strcmp(p, "path"))
			continue;
		if (d->n == cap) {
			cap = cap ? cap * 2 : 1024;
			d->it = realloc(d->it, sizeof *d->it * (size_t)cap);
		}
		struct ev_item *it = &d->it[d->n++];
		memset(it, 0, sizeof *it);
		it->path = strdup(p);
		it->set = strdup(set);
		it->ident = ev_ident(set, id);
		it->gallery = !strcmp(role, "gallery");
		if (ev_data_set(d, set) < 0) {
			d->sets = realloc(d->sets, sizeof *d->sets * (size_t)(d->n_sets + 1));
			d->sets[d->n_sets++] = strdup(set);
		}
	}
	fclose(f);
	return d->n ? 0 : -1;
}

/* The cache's key: the configuration's text, the embedder's fingerprint and
 * every plugin file's size and time, and the list of photos. */
static void ev_key(const struct ev_data *d, const struct ev_pipe *p, const char *conf_path, char hex[17])
{
	struct dv_sha256 s;
	dv_sha256_init(&s);
	size_t n;
	uint8_t *text = ev_slurp(conf_path, &n);
	if (text)
		dv_sha256_update(&s, text, n);
	free(text);
	dv_sha256_update(&s, (const uint8_t *)p->fingerprint, strlen(p->fingerprint));
	static const char version[] = "ev_data 3: quality with the blur ramp 0.005-0.03";
	dv_sha256_update(&s, (const uint8_t *)version, sizeof version);
	if (p->frame_side > 0) {
		int fr[3] = {p->frame_w, p->frame_h, p->frame_side};
		dv_sha256_update(&s, (const uint8_t *)fr, sizeof fr);
	}
	for (int r = 0; r < DV_ROLE_COUNT; r++)
		if (p->g->mods[r]) {
			struct stat st;
			if (stat(p->g->mods[r]->path, &st) == 0) {
				long long v[2] = {(long long)st.st_size, (long long)st.st_mtime};
				dv_sha256_update(&s, (const uint8_t *)v, sizeof v);
			}
		}
	/* the networks' int8 tables (landmarks_darknet's changes no fingerprint) */
	DIR *md = opendir(p->g->conf->model_dir);
	for (struct dirent *e; md && (e = readdir(md)) != NULL;) {
		size_t l = strlen(e->d_name);
		char path[4096];
		struct stat st;
		if (l > 9 && !strcmp(e->d_name + l - 9, ".int8.tsv") &&
		    snprintf(path, sizeof path, "%s/%s", p->g->conf->model_dir, e->d_name) < (int)sizeof path &&
		    stat(path, &st) == 0) {
			long long v[2] = {(long long)st.st_size, (long long)st.st_mtime};
			dv_sha256_update(&s, (const uint8_t *)e->d_name, l);
			dv_sha256_update(&s, (const uint8_t *)v, sizeof v);
		}
	}
	if (md)
		closedir(md);
	for (int i = 0; i < d->n; i++)
		dv_sha256_update(&s, (const uint8_t *)d->it[i].path, strlen(d->it[i].path) + 1);
	uint8_t h[32];
	dv_sha256_final(&s, h);
	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
}

static int ev_cache_read(struct ev_data *d, const char *file)
{
	FILE *f = fopen(file, "rb");
	if (!f)
		return -1;
	int n = 0, dim = 0;
	int ok = fread(&n, sizeof n, 1, f) == 1 && fread(&dim, sizeof dim, 1, f) == 1 && n == d->n && dim > 0 && dim < 4096;
	for (int i = 0; ok && i < n; i++) {
		struct ev_face *x = &d->it[i].f;
		int has = 0;
		ok = fread(&x->fallback, sizeof x->fallback, 1, f) == 1 && fread(&x->error, sizeof x->error, 1, f) == 1 &&
		     fread(&x->w, sizeof x->w, 1, f) == 1 && fread(&x->h, sizeof x->h, 1, f) == 1 &&
		     fread(x->box, sizeof x->box, 1, f) == 1 && fread(&x->q, sizeof x->q, 1, f) == 1 &&
		     fread(&has, sizeof has, 1, f) == 1;
		if (ok && has) {
			x->emb = malloc(sizeof *x->emb * (size_t)dim);
			ok = fread(x->emb, sizeof *x->emb, (size_t)dim, f) == (size_t)dim;
		}
	}
	fclose(f);
	if (ok)
		d->dim = dim;
	return ok ? 0 : -1;
}

static void ev_cache_write(const struct ev_data *d, const char *file)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", file);
	FILE *f = fopen(tmp, "wb");
	if (!f)
		return;
	fwrite(&d->n, sizeof d->n, 1, f);
	fwrite(&d->dim, sizeof d->dim, 1, f);
	for (int i = 0; i < d->n; i++) {
		const struct ev_face *x = &d->it[i].f;
		int has = x->emb != NULL;
		fwrite(&x->fallback, sizeof x->fallback, 1, f);
		fwrite(&x->error, sizeof x->error, 1, f);
		fwrite(&x->w, sizeof x->w, 1, f);
		fwrite(&x->h, sizeof x->h, 1, f);
		fwrite(x->box, sizeof x->box, 1, f);
		fwrite(&x->q, sizeof x->q, 1, f);
		fwrite(&has, sizeof has, 1, f);
		if (has)
			fwrite(x->emb, sizeof *x->emb, (size_t)d->dim, f);
	}
	if (fclose(f) == 0)
		rename(tmp, file);
}

int ev_data_embed(struct ev_data *d, struct ev_pipe *p, const char *dir, const char *conf_path, const char *cache_dir)
{
	char file[4096] = "";
	if (cache_dir) {
		char key[17];
		ev_key(d, p, conf_path, key);
		mkdir(cache_dir, 0755);
		snprintf(file, sizeof file, "%s/embeddings-%s.bin", cache_dir, key);
		if (ev_cache_read(d, file) == 0) {
			fprintf(stderr, "embeddings of %d photos from %s\n", d->n, file);
			return 0;
		}
	}
	for (int i = 0; i < d->n; i++) {
		char path[8192];
		snprintf(path, sizeof path, "%s/%s", dir, d->it[i].path);
		ev_pipe_embed_file(p, path, &d->it[i].f);
		if (d->it[i].f.error)
			fprintf(stderr, "%s: %s\n", d->it[i].path, d->it[i].f.why);
		if (isatty(2) && (i % 50 == 0 || i == d->n - 1))
			fprintf(stderr, "\rembedding %d/%d photos", i + 1, d->n);
	}
	if (isatty(2))
		fprintf(stderr, "\n");
	d->dim = p->dim;
	if (file[0])
		ev_cache_write(d, file);
	return 0;
}
