/* dv_chipcheck — our alignment against dlib's own chip (make eval-align,
 * tests/models/dlib_chip.sh).
 *
 *   dv_chipcheck -c CONFIG -x DATASET.xml [-r DLIB_CHIPS.rgb] [-v]
 *
 * For every face of a dlib imglab dataset with 68 parts (the two
 * ..._with_face_landmarks.xml of ../shared/testdata/reference/dlib_faces:
 * hand-labelled boxes, and the 68 points of dlib's own shape predictor), in
 * file order:
 *   1. the chip: our aligner (dv_align.c) cuts the 150x150 chip from dlib's
 *      landmarks out of our decode of the photo; with -r, compared byte for
 *      byte with dlib's own chip of the same landmarks (tests/oracle/
 *      dlib_chip.cc: load_image, get_face_chip_details(shape, 150, 0.25),
 *      extract_image_chip) — the bytes identical, the largest difference;
 *   2. the landmarks: our pipeline run on the labelled box (the configured
 *      landmarker) — the mean distance of its 68 points to dlib's, over the
 *      distance between the outer eye corners;
 *   3. what the embedder sees of the difference: the descriptor of our chip
 *      from our landmarks against that of the chip from dlib's landmarks
 *      (both embedded as the configuration embeds: embed.flip), beside the
 *      distances that decide (0.4-0.6).
 * Prints a line per face (-v) and a summary; exits 1 when a chip differs
 * from dlib's by more than one grey level anywhere (with -r). */
#include "dv_align.h"
#include "dv_image.h"
#include "dv_pipeline.h"
#include "dv_plugin.h"
#include "ev_data.h"
#include "../util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct face {
	char file[256];
	float box[4];   /* x, y, w, h */
	float lm[68][2];
	int parts;
};

/* The value of attribute name in the tag at s ('...' or "..."), or NULL. */
static const char *attr(const char *s, const char *end, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);
	for (const char *p = s; p + nl + 2 < end; p++) {
		if (strncmp(p, name, nl) || p[nl] != '=' || (p[nl + 1] != '\'' && p[nl + 1] != '"') ||
		    (p > s && p[-1] != ' ' && p[-1] != '\t' && p[-1] != '\n'))
			continue;
		char q = p[nl + 1];
		const char *v = p + nl + 2, *e = memchr(v, q, (size_t)(end - v));
		if (!e || (size_t)(e - v) >= len)
			return NULL;
		memcpy(out, v, (size_t)(e - v));
		out[e - v] = 0;
		return out;
	}
	return NULL;
}

/* The faces with 68 parts, in file order. */
static int load_faces(const char *xml, struct face **out)
{
	size_t n;
	char *t = (char *)ev_slurp(xml, &n);
	if (!t)
		return -1;
	int cap = 0, nf = 0;
	struct face *f = NULL, cur;
	char file[256] = "", v[64];
	int in_box = 0;
	for (char *p = t; (p = strchr(p, '<')) != NULL; p++) {
		char *e = strchr(p, '>');
		if (!e)
			break;
		if (!strncmp(p, "<image ", 7)) {
			if (!attr(p, e, "file", file, sizeof file))
				file[0] = 0;
		} else if (!strncmp(p, "<box ", 5)) {
			memset(&cur, 0, sizeof cur);
			snprintf(cur.file, sizeof cur.file, "%s", file);
			static const char *const k[] = {"left", "top", "width", "height"};
			in_box = 1;
			for (int i = 0; i < 4; i++)
				if (attr(p, e, k[i], v, sizeof v))
					cur.box[i] = (float)atof(v);
				else
					in_box = 0;
		} else if (!strncmp(p, "<part ", 6) && in_box) {
			char x[32], y[32];
			if (attr(p, e, "name", v, sizeof v) && attr(p, e, "x", x, sizeof x) && attr(p, e, "y", y, sizeof y)) {
				int i = atoi(v);
				if (i >= 0 && i < 68) {
					cur.lm[i][0] = (float)atof(x);
					cur.lm[i][1] = (float)atof(y);
					cur.parts++;
				}
			}
		} else if (!strncmp(p, "</box>", 6) && in_box) {
			in_box = 0;
			if (cur.parts == 68 && cur.file[0]) {
				if (nf == cap) {
					cap = cap ? cap * 2 : 32;
					f = realloc(f, sizeof *f * (size_t)cap);
				}
				f[nf++] = cur;
			}
		}
		p = e;
	}
	free(t);
	*out = f;
	return nf;
}

int main(int argc, char **argv)
{
	const char *conf = NULL, *xml = NULL, *ref = NULL;
	int verbose = 0, o;
	while ((o = getopt(argc, argv, "c:x:r:v")) != -1) {
		if (o == 'c')
			conf = optarg;
		else if (o == 'x')
			xml = optarg;
		else if (o == 'r')
			ref = optarg;
		else if (o == 'v')
			verbose = 1;
		else
			return 2;
	}
	if (!conf || !xml) {
		fprintf(stderr, "usage: dv_chipcheck -c CONFIG -x DATASET.xml [-r DLIB_CHIPS.rgb] [-v]\n");
		return 2;
	}
	struct face *faces;
	int nf = load_faces(xml, &faces);
	if (nf <= 0) {
		fprintf(stderr, "%s: no faces with 68 parts\n", xml);
		return 1;
	}
	enum { S = 150 };
	const size_t cs = (size_t)S * S * 3;
	uint8_t *dlib = NULL;
	if (ref) {
		size_t n;
		dlib = ev_slurp(ref, &n);
		if (!dlib || n != cs * (size_t)nf) {
			fprintf(stderr, "%s: expected %d chips of 150x150 RGB (%zu bytes)\n", ref, nf, cs * (size_t)nf);
			return 1;
		}
	}
	struct ev_pipe p;
	if (ev_pipe_open(&p, conf) != 0)
		return 1;
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", xml);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof dir, ".");
	long long same = 0, total = 0;
	int worst = 0, bad = 0, embedded = 0;
	double *lmerr = calloc((size_t)nf, sizeof *lmerr), *demb = calloc((size_t)nf, sizeof *demb);
	uint8_t *chip = malloc(cs);
	if (verbose)
		printf("%-18s %4s %5s | %9s %8s | %10s | %10s\n", "photo", "box", "side", "identical", "maxdiff", "landmarks",
		    "descriptor");
	for (int i = 0; i < nf; i++) {
		char path[8192];
		snprintf(path, sizeof path, "%s/%s", dir, faces[i].file);
		size_t n;
		uint8_t *b = ev_slurp(path, &n);
		struct dv_img img = {0};
		char err[200];
		if (!b || dv_image_decode(b, n, 100000000, &img, err, sizeof err) != 0) {
			fprintf(stderr, "%s: cannot decode\n", path);
			return 1;
		}
		/* 1. our aligner on dlib's landmarks */
		struct dv_align_fit fit;
		if (dv_align_fit68(faces[i].lm, 0.25, S, &fit) != 0 || dv_align_chip(img.pixels, img.width, img.height,
		                                                             img.width * 3, &fit, S, chip) != 0) {
			fprintf(stderr, "%s: the chip cannot be cut\n", path);
			return 1;
		}
		long long sm = 0;
		int md = 0;
		if (dlib) {
			const uint8_t *r = dlib + cs * (size_t)i;
			for (size_t k = 0; k < cs; k++) {
				int d = abs((int)chip[k] - (int)r[k]);
				sm += d == 0;
				md = d > md ? d : md;
			}
			same += sm;
			total += (long long)cs;
			worst = md > worst ? md : worst;
			bad += md > 1;
		}
		/* 2. our landmarks on the labelled box, and 3. the descriptors */
		struct dv_job *j = ev_pipe_run(&p, DV_OP_RECOGNIZE, b, n, faces[i].box);
		lmerr[i] = demb[i] = NAN;
		if (!j->res.err && j->res.faces && j->res.faces[0].n_landmarks == 68 && j->res.embeddings) {
			const float(*ours)[2] = j->res.faces[0].landmarks;
			const float(*dl)[2] = faces[i].lm;
			double iod = hypot(dl[45][0] - dl[36][0], dl[45][1] - dl[36][1]), s = 0;
			for (int k = 0; k < 68; k++)
				s += hypot(ours[k][0] - dl[k][0], ours[k][1] - dl[k][1]);
			lmerr[i] = s / 68 / iod;
			struct dv_image view = {.pixels = chip, .width = S, .height = S, .stride = S * 3, .channels = 3};
			int dim = j->res.embedding_dim;
			float *e = malloc(sizeof *e * (size_t)dim);
			if (dv_embed_chips(p.ctx.inst[DV_ROLE_EMBEDDER], &view, chip, 1, &j->res.einfo, p.g->conf->embed_flip, 0,
			        e) == 0) {
				demb[i] = ev_dist(e, j->res.embeddings, dim);
				embedded++;
			}
			free(e);
		}
		if (verbose)
			printf("%-18s %4d %5.0f | %8.2f%% %8d | %9.3f | %10.4f\n", faces[i].file, i, faces[i].box[2],
			    dlib ? 100.0 * (double)sm / (double)cs : NAN, md, lmerr[i], demb[i]);
		dv_job_free(j);
		dv_img_fini(&img);
		free(b);
	}
	/* medians and maxima over the faces measured */
	double l[3] = {0}, e[3] = {0};
	for (int pass = 0; pass < 2; pass++) {
		double *v = pass ? demb : lmerr, *s = malloc(sizeof *s * (size_t)nf), *r = pass ? e : l;
		int m = 0;
		double sum = 0;
		for (int i = 0; i < nf; i++)
			if (!isnan(v[i])) {
				s[m++] = v[i];
				sum += v[i];
			}
		qsort(s, (size_t)m, sizeof *s, test_cmpd);
		r[0] = m ? sum / m : NAN;
		r[1] = m ? s[m / 2] : NAN;
		r[2] = m ? s[m - 1] : NAN;
		free(s);
	}
	printf("faces: %d (%s)\n", nf, xml);
	if (dlib)
		printf("chips from dlib's landmarks, ours against dlib's own: %.4f%% of the bytes identical, the largest "
		       "difference %d grey level%s, %d chip%s differing by more than 1\n",
		    100.0 * (double)same / (double)total, worst, worst == 1 ? "" : "s", bad, bad == 1 ? "" : "s");
	printf("our landmarks against dlib's (mean distance over the outer-eye-corner distance): mean %.3f, median %.3f, "
	       "max %.3f\n",
	    l[0], l[1], l[2]);
	printf("descriptors, our chip from our landmarks against the chip from dlib's (%d faces): mean %.4f, median %.4f, "
	       "max %.4f\n",
	    embedded, e[0], e[1], e[2]);
	free(lmerr);
	free(demb);
	free(chip);
	free(faces);
	free(dlib);
	ev_pipe_close(&p);
	return dlib && bad ? 1 : 0;
}
