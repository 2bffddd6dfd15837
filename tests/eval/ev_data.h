/* ev_data.h — the labelled photos of ../shared/testdata (identities.csv) for
 * make calibrate and make eval-openset: every photo with its set and a global
 * identity (a named person is the same person in every set — Jim_Parsons of
 * faceapi_bbt and of facerecjs_bbt, Barack_Obama of face_recognition and of
 * cfp; numbered subjects, att_orl's s1 or yale's subject01, belong to their
 * set), embedded once through the configured pipeline and cached under a
 * key of the configuration, the embedder's fingerprint and the plugins. */
#ifndef EV_DATA_H
#define EV_DATA_H
#include "ev_pipe.h"

struct ev_item {
	char *path;   /* relative to the testdata folder */
	char *set;
	char *ident;  /* global identity key */
	int gallery;  /* identities.csv's role: the identity's first photo */
	struct ev_face f;
};

struct ev_data {
	struct ev_item *it;
	int n;
	char **sets;
	int n_sets;
	int dim;
};

/* Read dir/identities.csv. 0, or -1 with the reason printed. */
int ev_data_load(const char *dir, struct ev_data *d);
/* Embed every photo (from the cache in cache_dir when its key matches; -1
 * there: no cache). Prints progress on a terminal. 0 or -1. */
int ev_data_embed(struct ev_data *d, struct ev_pipe *p, const char *dir, const char *conf_path, const char *cache_dir);
int ev_data_set(const struct ev_data *d, const char *set);
float ev_dist(const float *a, const float *b, int dim);
#endif
