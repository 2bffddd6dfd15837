/* dv_eval — accuracy of the full pipeline on labelled pairs (make eval).
 *
 *   dv_eval -c CONFIG [-o OUT.csv] [-d DLIB_FACES_DIR] [-p PEER.txt] PAIRS.csv
 *
 * With -p, face-api's own pipeline is printed side by side: PEER.txt holds its
 * descriptors for every image at detector input sizes 224, 320 and 416 with
 * the whole-image fallback (written by tests/oracle/eval.sh); per set, its
 * accuracy at the same threshold and at its own best threshold, and whether
 * our accuracy at the configured threshold reaches face-api's best at any size.
 *
 * With -d, it also prints the detector's recall at IoU >= 0.5 on dlib's
 * hand-labelled photos (imglab training.xml and testing.xml in that folder)
 * for several input sizes, with the false detections.
 *
 * PAIRS.csv: img_a,img_b,same,set (paths relative to the file), as
 * ../shared/testdata/pairs.csv; the columns are found by the header's names,
 * and without a set column every pair belongs to one set named after the
 * file. A file with no pair in it is an error, with the line that is wrong. Every image goes through the configured
 * recognize pipeline (decode, detect, landmarks, align, embed) through the
 * daemon's own plugin loader and pipeline engine; the largest face is taken.
 * Where nothing is detected (tight crops), the whole image is used as the
 * face box, and the table says how often. Per set: pairs, images, whole-image
 * fallbacks, accuracy at the configured threshold, the best accuracy and its
 * threshold, and ROC AUC. OUT gets img_a,img_b,same,distance (empty distance
 * when an image could not be embedded). */
#include "dv_conf.h"
#include "dv_err.h"
#include "dv_gen.h"
#include "dv_job.h"
#include "dv_log.h"
#include "dv_pipeline.h"
#include "ev_pipe.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define N_PEER 3
static const int peer_sizes[N_PEER] = {224, 320, 416};

struct img {
	char *path;
	float *emb;      /* NULL when no embedding */
	float *peer[N_PEER];  /* face-api's descriptor per input size, or NULL */
	int peer_fb[N_PEER];  /* face-api used the whole image */
	int fallback;    /* whole image used as the box */
	int w, h;        /* image size, for the fallback list */
	int error;       /* could not decode */
};

struct pair {
	int a, b, same, set;
	double d;        /* < 0: missing */
	double dp[N_PEER]; /* face-api's distance per input size, < 0: missing */
};

static struct img *imgs;
static int n_imgs, cap_imgs;
static char **sets;
static int n_sets;

static int img_index(const char *p)
{
	for (int i = n_imgs - 1; i >= 0; i--)
		if (!strcmp(imgs[i].path, p))
			return i;
	if (n_imgs == cap_imgs) {
		cap_imgs = cap_imgs ? cap_imgs * 2 : 256;
		imgs = realloc(imgs, sizeof *imgs * (size_t)cap_imgs);
	}
	memset(&imgs[n_imgs], 0, sizeof imgs[n_imgs]);
	imgs[n_imgs].path = strdup(p);
	return n_imgs++;
}

static int set_index(const char *s)
{
	for (int i = 0; i < n_sets; i++)
		if (!strcmp(sets[i], s))
			return i;
	sets = realloc(sets, sizeof *sets * (size_t)(n_sets + 1));
	sets[n_sets] = strdup(s);
	return n_sets++;
}

static struct ev_pipe evp;

static void embed_one(const char *base, struct img *im)
{
	char path[8192];
	snprintf(path, sizeof path, "%s/%s", base, im->path);
	struct ev_face f;
	ev_pipe_embed_file(&evp, path, &f);
	im->emb = f.emb;
	im->fallback = f.fallback;
	im->w = f.w;
	im->h = f.h;
	im->error = f.error;
	if (f.error)
		fprintf(stderr, "dv_eval: %s: %s\n", im->path, f.why);
}

/* ---------------------------------------------------------------- recall */

static double iou(const float *a, const float *b)
{
	double x0 = fmax(a[0], b[0]), y0 = fmax(a[1], b[1]);
	double x1 = fmin(a[0] + a[2], b[0] + b[2]), y1 = fmin(a[1] + a[3], b[1] + b[3]);
	double in = fmax(0, x1 - x0) * fmax(0, y1 - y0);
	double un = (double)a[2] * a[3] + (double)b[2] * b[3] - in;
	return un > 0 ? in / un : 0;
}

/* Detector recall on imglab XML files: every <box> is a labelled face. */
static void recall(const char *dir, const struct dv_conf *base)
{
	/* the last row adds the tile pass at twice the photo's size */
	static const int sizes[] = {320, 416, 608, 0, 0};
	static const char *const files[] = {"training.xml", "testing.xml"};
	const size_t nsizes = sizeof sizes / sizeof *sizes;
	printf("\ndetector recall on %s (hand-labelled boxes, IoU >= 0.5)\n", dir);
	printf("%-12s %6s %6s %8s %8s %9s\n", "input_size", "faces", "found", "recall", "false", "ms/image");
	for (size_t si = 0; si < nsizes; si++) {
		char text[4096];
		snprintf(text, sizeof text,
		    "plugin_dir: \"%s\"\nmodel_dir: \"%s\"\nplugins:\n  detector: {so: detect_darknet, input_size: %d, tile_scale: %d}\n"
		    "pipelines:\n  detect: [decode, detect]\n", base->plugin_dir, base->model_dir, sizes[si], si == nsizes - 1 ? 2 : 0);
		struct dv_conf_errs e = {0};
		struct dv_conf *c = dv_conf_parse("recall.yaml", text, strlen(text), &e);
		struct dv_gen *g = NULL;
		if (e.n || dv_gen_build(c, 1, &g, &e) != 0) {
			for (int i = 0; i < e.n; i++)
				fprintf(stderr, "%s\n", e.msg[i]);
			dv_conf_errs_fini(&e);
			return;
		}
		struct dv_pipeline_ctx ctx = {.conf = g->conf};
		char err[512];
		if (dv_instance_new(g->mods[DV_ROLE_DETECTOR], &ctx.inst[DV_ROLE_DETECTOR], err, sizeof err) != 0) {
			fprintf(stderr, "%s\n", err);
			return;
		}
		int faces = 0, found = 0, falsepos = 0, images = 0;
		double ms = 0;
		for (int fi = 0; fi < 2; fi++) {
			char path[8192];
			snprintf(path, sizeof path, "%s/%s", dir, files[fi]);
			size_t n;
			char *xml = (char *)ev_slurp(path, &n);
			if (!xml)
				continue;
			xml = realloc(xml, n + 1);
			xml[n] = 0;
			for (char *im = strstr(xml, "<image file='"); im; im = strstr(im + 1, "<image file='")) {
				char name[1024];
				if (sscanf(im, "<image file='%1023[^']'", name) != 1)
					continue;
				char *end = strstr(im, "</image>");
				float truth[64][4];
				int nt = 0;
				for (char *b = strstr(im, "<box "); b && (!end || b < end) && nt < 64; b = strstr(b + 1, "<box ")) {
					int t, l, w, h;
					if (sscanf(b, "<box top='%d' left='%d' width='%d' height='%d'", &t, &l, &w, &h) == 4) {
						truth[nt][0] = (float)l; truth[nt][1] = (float)t;
						truth[nt][2] = (float)w; truth[nt][3] = (float)h;
						nt++;
					}
				}
				snprintf(path, sizeof path, "%s/%s", dir, name);
				size_t il;
				uint8_t *img = ev_slurp(path, &il);
				if (!img)
					continue;
				struct timespec t0;
				clock_gettime(CLOCK_MONOTONIC, &t0);
				struct ev_pipe rp = {.g = g, .ctx = ctx};
				struct dv_job *j = ev_pipe_run(&rp, DV_OP_DETECT, img, il, NULL);
				ms += dv_ms_since(&t0);
				images++;
				free(img);
				faces += nt;
				char *hit = calloc((size_t)j->res.n_embeddings + 1, 1);
				for (int k = 0; k < nt; k++) {
					int best = -1;
					double bi = 0.5;
					for (int d = 0; d < j->res.n_embeddings; d++) {
						double v = iou(truth[k], j->res.face_boxes + 5 * d);
						if (!hit[d] && v >= bi) {
							bi = v;
							best = d;
						}
					}
					if (best >= 0) {
						hit[best] = 1;
						found++;
					}
				}
				for (int d = 0; d < j->res.n_embeddings; d++)
					falsepos += !hit[d];
				free(hit);
				dv_job_free(j);
			}
			free(xml);
		}
		char label[16];
		snprintf(label, sizeof label, sizes[si] ? "%d" : si == nsizes - 1 ? "auto+tiles" : "auto", sizes[si]);
		printf("%-12s %6d %6d %7.1f%% %8d %9.1f\n", label, faces, found, faces ? 100.0 * found / faces : 0, falsepos,
		    images ? ms / images : 0);
		dv_instance_free(ctx.inst[DV_ROLE_DETECTOR]);
		dv_gen_unref(g);
		dv_conf_errs_fini(&e);
	}
}

struct pd {
	double d;
	int same;
};

static int cmp_pd(const void *a, const void *b)
{
	const struct pd *x = a, *y = b;
	return x->d < y->d ? -1 : x->d > y->d;
}

struct score {
	int n;           /* pairs with both images embedded */
	double acc;      /* at the given threshold, % */
	double best;     /* at the best threshold, % */
	double best_t;
	double auc;
};

/* Accuracy of one set from distances d[i] (< 0: missing). */
static struct score score_set(const struct pair *pairs, int np, int set, int which, double thr)
{
	struct pd *v = malloc(sizeof *v * (size_t)(np ? np : 1));
	int n = 0, nsame = 0, ndiff = 0, correct = 0;
	for (int i = 0; i < np; i++) {
		double d = which < 0 ? pairs[i].d : pairs[i].dp[which];
		if (pairs[i].set != set || d < 0)
			continue;
		v[n++] = (struct pd){d, pairs[i].same == 1};
		nsame += pairs[i].same == 1;
		ndiff += pairs[i].same != 1;
		correct += (d <= thr) == (pairs[i].same == 1);
	}
	qsort(v, (size_t)n, sizeof *v, cmp_pd);
	/* best threshold: between consecutive distances; AUC by ranks */
	int best = ndiff, same_below = 0, diff_below = 0;
	double best_t = 0, auc_num = 0;
	for (int i = 0; i < n; i++) {
		if (v[i].same) {
			same_below++;
		} else {
			diff_below++;
			auc_num += same_below; /* same pairs closer than this different one */
		}
		int acc = same_below + (ndiff - diff_below);
		if (acc > best) {
			best = acc;
			best_t = i + 1 < n ? (v[i].d + v[i + 1].d) / 2 : v[i].d + 1e-6;
		}
	}
	/* ties count half */
	for (int i = 0; i < n; i++)
		for (int k = i + 1; k < n && v[k].d == v[i].d; k++)
			if (v[i].same != v[k].same)
				auc_num += v[i].same ? -0.5 : 0.5;
	free(v);
	struct score sc = {n, n ? 100.0 * correct / n : 0, n ? 100.0 * best / n : 0, best_t,
	    nsame && ndiff ? auc_num / ((double)nsame * ndiff) : NAN};
	return sc;
}

static double dist(const float *x, const float *y, int d)
{
	if (!x || !y)
		return -1;
	double s = 0;
	for (int k = 0; k < d; k++)
		s += ((double)x[k] - y[k]) * ((double)x[k] - y[k]);
	return sqrt(s);
}

/* Reads tests/oracle/eval.js's output; returns how many lines were used. */
static int load_peer(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "dv_eval: cannot read %s\n", path);
		return 0;
	}
	char *line = NULL;
	size_t cap = 0;
	int used = 0;
	while (getline(&line, &cap, f) > 0) {
		char *tab = strchr(line, '\t');
		if (!tab)
			continue;
		*tab = 0;
		int ix = -1;
		for (int i = 0; i < n_imgs; i++)
			if (!strcmp(imgs[i].path, line))
				ix = i;
		char *p = tab + 1, *e;
		long size = strtol(p, &e, 10);
		long fb = strtol(e, &e, 10);
		int si = -1;
		for (int k = 0; k < N_PEER; k++)
			if (peer_sizes[k] == size)
				si = k;
		if (ix < 0 || si < 0)
			continue;
		float v[512];
		int nv = 0;
		for (p = e; nv < 512; p = e) {
			float x = strtof(p, &e);
			if (e == p)
				break;
			v[nv++] = x;
		}
		if (nv == 0 || (evp.dim && nv != evp.dim))
			continue;
		free(imgs[ix].peer[si]);
		imgs[ix].peer[si] = malloc(sizeof(float) * (size_t)nv);
		memcpy(imgs[ix].peer[si], v, sizeof(float) * (size_t)nv);
		imgs[ix].peer_fb[si] = fb != 0;
		used++;
	}
	free(line);
	fclose(f);
	return used;
}

int main(int argc, char **argv)
{
	const char *conf = NULL, *outp = NULL, *dlib = NULL, *peer = NULL;
	int o;
	while ((o = getopt(argc, argv, "c:o:d:p:")) != -1) {
		if (o == 'c')
			conf = optarg;
		else if (o == 'o')
			outp = optarg;
		else if (o == 'd')
			dlib = optarg;
		else if (o == 'p')
			peer = optarg;
		else
			return 2;
	}
	if (!conf || optind != argc - 1) {
		fprintf(stderr, "usage: dv_eval -c CONFIG [-o OUT.csv] [-d DLIB_FACES_DIR] [-p PEER.txt] PAIRS.csv\n");
		return 2;
	}
	const char *pairs_path = argv[optind];
	/* one core, as a worker runs */
	if (ev_pipe_open(&evp, conf) != 0)
		return 1;
	struct dv_gen *g = evp.g;
	size_t plen;
	char *text = (char *)ev_slurp(pairs_path, &plen);
	if (!text) {
		fprintf(stderr, "dv_eval: cannot read %s\n", pairs_path);
		return 1;
	}
	text = realloc(text, plen + 1);
	text[plen] = 0;
	char base[8192];
	snprintf(base, sizeof base, "%s", pairs_path);
	char *slash = strrchr(base, '/');
	if (slash)
		*slash = 0;
	else
		strcpy(base, ".");
	struct pair *pairs = NULL;
	int np = 0, capp = 0, bad = 0;
	char *save = NULL;
	int line = 0;
	/* columns by the header (img_a, img_b, same and, optionally, set), or
	 * img_a,img_b,same[,set] without one; without a set column every pair
	 * belongs to one set named after the file */
	int col[4] = {0, 1, 2, 3};
	char one_set[256];
	const char *fname = strrchr(pairs_path, '/') ? strrchr(pairs_path, '/') + 1 : pairs_path;
	snprintf(one_set, sizeof one_set, "%.*s", (int)strcspn(fname, "."), fname);
	for (char *l = strtok_r(text, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
		line++;
		char *f[16];
		int nf = 0;
		char *sv = NULL;
		for (char *t = strtok_r(l, ",", &sv); t && nf < 16; t = strtok_r(NULL, ",", &sv)) {
			while (*t == ' ' || *t == '"')
				t++;
			size_t tl = strlen(t);
			while (tl && (t[tl - 1] == ' ' || t[tl - 1] == '"'))
				t[--tl] = 0;
			f[nf++] = t;
		}
		/* a first line whose third field is not 0 or 1 is a header */
		if (line == 1 && !(nf >= 3 && (!strcmp(f[2], "0") || !strcmp(f[2], "1")))) {
			static const char *const names[4] = {"img_a", "img_b", "same", "set"};
			for (int k = 0; k < 4; k++) {
				col[k] = -1;
				for (int i = 0; i < nf; i++)
					if (!strcmp(f[i], names[k]))
						col[k] = i;
			}
			if (col[0] < 0 || col[1] < 0 || col[2] < 0) {
				fprintf(stderr, "dv_eval: %s: the header must name the columns img_a, img_b and same (and, optionally, set)\n",
				    pairs_path);
				return 1;
			}
			continue;
		}
		int need = col[0] > col[1] ? col[0] : col[1];
		need = need > col[2] ? need : col[2];
		char *endp = NULL;
		long same = nf > need ? strtol(f[col[2]], &endp, 10) : -1;
		if (nf <= need || !*f[col[0]] || !*f[col[1]] || !endp || *endp || (same != 0 && same != 1)) {
			if (bad++ < 5)
				fprintf(stderr, "dv_eval: %s:%d: expected img_a,img_b,same(0 or 1)[,set]\n", pairs_path, line);
			continue;
		}
		const char *set = col[3] >= 0 && col[3] < nf && *f[col[3]] ? f[col[3]] : one_set;
		if (np == capp) {
			capp = capp ? capp * 2 : 1024;
			pairs = realloc(pairs, sizeof *pairs * (size_t)capp);
		}
		pairs[np++] = (struct pair){img_index(f[col[0]]), img_index(f[col[1]]), (int)same, set_index(set), -1, {-1, -1, -1}};
	}
	if (bad)
		fprintf(stderr, "dv_eval: %d malformed line%s skipped\n", bad, bad == 1 ? "" : "s");
	if (np == 0) {
		fprintf(stderr, "dv_eval: %s holds no pairs (expected lines img_a,img_b,same[,set])\n", pairs_path);
		return 1;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n_imgs; i++) {
		embed_one(base, &imgs[i]);
		if (isatty(2) && (i % 25 == 0 || i == n_imgs - 1))
			fprintf(stderr, "\rdv_eval: %d/%d images", i + 1, n_imgs);
	}
	if (isatty(2))
		fprintf(stderr, "\n");
	double secs = dv_ms_since(&t0) / 1000;
	int have_peer = peer && load_peer(peer) > 0;
	for (int i = 0; i < np; i++) {
		pairs[i].d = dist(imgs[pairs[i].a].emb, imgs[pairs[i].b].emb, evp.dim);
		for (int k = 0; k < N_PEER; k++)
			pairs[i].dp[k] = dist(imgs[pairs[i].a].peer[k], imgs[pairs[i].b].peer[k], evp.dim);
	}
	double thr = g->conf->match_threshold;
	printf("dejaview eval: %s, %d images in %.1f s (%.0f ms per image), threshold %.2f\n", pairs_path, n_imgs, secs,
	    secs * 1000 / (n_imgs ? n_imgs : 1), thr);
	printf("%-20s %6s %7s %9s %8s %9s %9s %8s %7s\n", "set", "pairs", "images", "fallback", "missing", "acc@thr",
	    "best_acc", "best_thr", "auc");
	struct score *ours = calloc((size_t)n_sets, sizeof *ours);
	for (int s = 0; s < n_sets; s++) {
		int nimg = 0, fb = 0, miss = 0;
		char *seen = calloc((size_t)n_imgs, 1);
		for (int i = 0; i < np; i++) {
			if (pairs[i].set != s)
				continue;
			for (int k = 0; k < 2; k++) {
				int ix = k ? pairs[i].b : pairs[i].a;
				if (!seen[ix]) {
					seen[ix] = 1;
					nimg++;
					fb += imgs[ix].fallback;
					miss += imgs[ix].emb == NULL;
				}
			}
		}
		free(seen);
		struct score sc = ours[s] = score_set(pairs, np, s, -1, thr);
		printf("%-20s %6d %7d %9d %8d %8.2f%% %8.2f%% %8.3f %7.4f\n", sets[s], sc.n, nimg, fb, miss, sc.acc, sc.best,
		    sc.best_t, sc.auc);
	}
	if (have_peer) {
		printf("\nside by side: face-api 1.7.15's own pipeline (detectSingleFace + 68 landmarks + descriptor,\n"
		       "whole image where no face is found), accuracy at %.2f / at its own best threshold, per input size;\n"
		       "fb = its whole-image fallbacks. Verdicts (sets of 50+ pairs): 'same thr' = ours at %.2f >= face-api's\n"
		       "best at any size at %.2f; 'tuned' = ours at %.2f >= face-api's best at any size and any threshold\n",
		    thr, thr, thr, thr);
		printf("%-20s %8s", "set", "ours");
		for (int k = 0; k < N_PEER; k++)
			printf("   %4d: fb  acc@thr  best", peer_sizes[k]);
		printf("  %-10s %s\n", "same thr", "tuned");
		for (int s = 0; s < n_sets; s++) {
			printf("%-20s %7.2f%%", sets[s], ours[s].acc);
			double peer_best = 0, peer_at_thr = 0;
			for (int k = 0; k < N_PEER; k++) {
				int fbk = 0;
				char *seen = calloc((size_t)n_imgs, 1);
				for (int i = 0; i < np; i++)
					for (int j = 0; j < 2 && pairs[i].set == s; j++) {
						int ix = j ? pairs[i].b : pairs[i].a;
						if (!seen[ix]) {
							seen[ix] = 1;
							fbk += imgs[ix].peer_fb[k];
						}
					}
				free(seen);
				struct score sc = score_set(pairs, np, s, k, thr);
				printf("   %9d %7.2f%% %6.2f%%", fbk, sc.acc, sc.best);
				if (sc.best > peer_best)
					peer_best = sc.best;
				if (sc.acc > peer_at_thr)
					peer_at_thr = sc.acc;
			}
			if (ours[s].n < 50)
				printf("  (fewer than 50 pairs)\n");
			else
				printf("  %-10s %s\n", ours[s].acc + 1e-9 >= peer_at_thr ? "ok" : "BELOW",
				    ours[s].acc + 1e-9 >= peer_best ? "ok" : "below");
		}
	}
	free(ours);
	int nfb = 0;
	for (int i = 0; i < n_imgs; i++)
		nfb += imgs[i].fallback;
	if (nfb) {
		printf("\nwhole-image fallbacks (no face found; the whole image was embedded as the face):\n");
		for (int i = 0; i < n_imgs; i++)
			if (imgs[i].fallback)
				printf("  %-60s %4dx%-4d\n", imgs[i].path, imgs[i].w, imgs[i].h);
	}
	if (dlib)
		recall(dlib, g->conf);
	if (outp) {
		FILE *f = fopen(outp, "w");
		if (f) {
			fprintf(f, "img_a,img_b,same,distance\n");
			for (int i = 0; i < np; i++) {
				fprintf(f, "%s,%s,%d,", imgs[pairs[i].a].path, imgs[pairs[i].b].path, pairs[i].same);
				if (pairs[i].d >= 0)
					fprintf(f, "%.6f", pairs[i].d);
				fprintf(f, "\n");
			}
			fclose(f);
		}
	}
	return 0;
}
