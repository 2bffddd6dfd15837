/* check_face_recognition — runs models/face_recognition.cfg with the
 * converted weights on a 150x150 face image and prints the 128-D descriptor's
 * Euclidean distance to a reference descriptor (JSON array).
 *   check_face_recognition CFG WEIGHTS IMAGE REFERENCE.json [255|256]
 * Prints "distance D". Darknet's own chatter goes to stderr. */
#include "../util.h"
#include "dv_image.h"
#include "dv_jsonp.h"
#include <darknet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>


int main(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	double div = argc > 5 ? atof(argv[5]) : 255.0;
	size_t n;
	char *img = test_slurp(argv[3], &n), err[256];
	struct dv_img im;
	if (dv_image_decode((uint8_t *)img, n, 1 << 30, &im, err, sizeof err) || im.width != 150 || im.height != 150) {
		fprintf(stderr, "need a 150x150 image: %s\n", err);
		return 2;
	}
	const float mean[3] = {122.782f, 117.001f, 104.298f};
	float *x = malloc(sizeof *x * 150 * 150 * 3);
	for (int c = 0; c < 3; c++)
		for (int i = 0; i < 150 * 150; i++)
			x[c * 150 * 150 + i] = (float)(((float)im.pixels[i * 3 + c] - mean[c]) / (float)div);
	network *net = parse_network_cfg(argv[1]);
	load_weights(net, argv[2]);
	set_batch_network(net, 1);
	float *d = network_predict(net, x);
	size_t rn;
	char *rt = test_slurp(argv[4], &rn);
	struct dv_jv *ref = dv_jsonp_parse(rt, rn, err, sizeof err);
	if (!ref || ref->type != DV_JARR || ref->n != 128) {
		fprintf(stderr, "bad reference: %s\n", err);
		return 2;
	}
	double s = 0, norm = 0;
	for (int i = 0; i < 128; i++) {
		double t = d[i] - ref->items[i]->num;
		s += t * t;
		norm += (double)d[i] * d[i];
	}
	printf("distance %.6f norm %.4f\n", sqrt(s), sqrt(norm));
	fflush(stdout);
	dv_jv_free(ref);
	free(rt);
	free(x);
	free(img);
	dv_img_fini(&im);
	/* free_network() leaves these behind */
	free(net->workspace);
	free(net->seen);
	free(net->t);
	free(net->cost);
	free_network(net);
	return 0;
}
