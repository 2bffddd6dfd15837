/* dv_soak — mixed traffic for make soak: THREADS clients, each on its own
 * keep-alive HTTP/1.1 connection, for SECONDS, pick operations at random:
 * recognize, detect, verify, enrol (a new person and a face), erase (the
 * client's oldest person, once it holds more than 20: the gallery stays
 * bounded, so memory can be judged), list persons, and async jobs (submit,
 * then poll until done). Every answer is tallied by status; a 5xx other than
 * 503, or a 503 without Retry-After, is a failure. Acknowledged enrolments
 * and erasures are written to DIR/acks (one "E person face" or "D person"
 * line each), for the check against PostgreSQL afterwards. Every 10 s one
 * line of figures; at the end one JSON line.
 *
 *   dv_soak -p PORT -k KEY -s SECONDS [-c THREADS] -d DIR IMAGE...   */
#include "../util.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { OP_RECOGNIZE, OP_DETECT, OP_VERIFY, OP_ENROL, OP_ERASE, OP_LIST, OP_ASYNC, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"recognize", "detect", "verify", "enrol", "erase", "list", "async"};
static const int op_weight[OP_COUNT] = {40, 10, 8, 15, 10, 5, 12};

static int port;
static const char *key, *dir;
static char **imgs;
static size_t *img_len;
static char **img_b64;
static int n_imgs;
static double t_end;
static atomic_long st_count[OP_COUNT][6]; /* per op: 2xx, 4xx, 503, bad 5xx, transport errors, 503 without Retry-After */
static atomic_long total;
static pthread_mutex_t ack_mu = PTHREAD_MUTEX_INITIALIZER;
static FILE *acks;

struct conn {
	int fd;
	char *in;
	size_t len, cap;
	unsigned seed;
	long persons[64];
	int n_persons;
};

struct reply {
	int status;
	int retry_after;
	char *body; /* NUL-terminated, owned by the conn's buffer until the next call */
	size_t len;
};

static int dial(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct timeval tv = {300, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One request; 0 with the reply, or -1 when the transport failed. */
static int call(struct conn *c, const char *method, const char *path, const char *ctype, const void *body, size_t blen,
    struct reply *r)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (c->fd < 0 && (c->fd = dial()) < 0)
			return -1;
		char head[512];
		int hl = snprintf(head, sizeof head,
		    "%s %s HTTP/1.1\r\nHost: soak\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
		    method, path, key, ctype ? ctype : "application/json", blen);
		if (send_all(c->fd, head, (size_t)hl) || (blen && send_all(c->fd, body, blen))) {
			close(c->fd);
			c->fd = -1;
			continue; /* the server closed an idle connection: once more on a new one */
		}
		c->len = 0;
		for (;;) {
			if (c->cap - c->len < 65536) {
				c->cap = c->cap ? c->cap * 2 : 262144;
				c->in = realloc(c->in, c->cap);
			}
			ssize_t n = recv(c->fd, c->in + c->len, c->cap - c->len - 1, 0);
			if (n <= 0)
				break;
			c->len += (size_t)n;
			c->in[c->len] = 0;
			char *end = strstr(c->in, "\r\n\r\n");
			if (!end)
				continue;
			size_t hlen = (size_t)(end - c->in) + 4;
			long cl = 0;
			int close_after = 0;
			r->retry_after = 0;
			for (char *p = c->in; p < end; p++) {
				if (*p != '\n')
					continue;
				if (!strncasecmp(p + 1, "Content-Length:", 15))
					cl = atol(p + 16);
				if (!strncasecmp(p + 1, "Connection: close", 17))
					close_after = 1;
				if (!strncasecmp(p + 1, "Retry-After:", 12))
					r->retry_after = 1;
			}
			if (c->len < hlen + (size_t)cl)
				continue;
			r->status = atoi(c->in + 9);
			r->body = c->in + hlen;
			r->len = (size_t)cl;
			if (close_after) {
				close(c->fd);
				c->fd = -1;
			}
			return 0;
		}
		close(c->fd);
		c->fd = -1;
		if (c->len > 0)
			return -1; /* a reply cut short */
	}
	return -1;
}

static long json_id(const char *body, const char *field)
{
	char pat[40];
	snprintf(pat, sizeof pat, "\"%s\":", field);
	const char *p = strstr(body, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	return atol(p);
}

/* 4xx answers by operation and error code, to tell the client's own mistakes
 * (a photo with no face to enrol) from anything the server should not say */
#define MAX_CODES 32
static struct {
	int op;
	char code[40];
	long n;
} codes[MAX_CODES];
static int n_codes;
static pthread_mutex_t code_mu = PTHREAD_MUTEX_INITIALIZER;

static void count_code(int op, const struct reply *r)
{
	char code[40] = "?";
	const char *p = r->body ? strstr(r->body, "\"code\"") : NULL;
	if (p && (p = strchr(p + 6, '"'))) {
		size_t n = strcspn(p + 1, "\"");
		if (n >= sizeof code)
			n = sizeof code - 1;
		memcpy(code, p + 1, n);
		code[n] = 0;
	}
	pthread_mutex_lock(&code_mu);
	int i = 0;
	while (i < n_codes && (codes[i].op != op || strcmp(codes[i].code, code)))
		i++;
	if (i == n_codes && n_codes < MAX_CODES) {
		codes[i].op = op;
		snprintf(codes[i].code, sizeof codes[i].code, "%s", code);
		n_codes++;
	}
	if (i < n_codes)
		codes[i].n++;
	pthread_mutex_unlock(&code_mu);
}

static void tally(int op, int rc, const struct reply *r)
{
	atomic_fetch_add(&total, 1);
	int k = rc ? 4 : r->status < 400 ? 0 : r->status < 500 ? 1 : r->status == 503 ? 2 : 3;
	if (k == 1)
		count_code(op, r);
	atomic_fetch_add(&st_count[op][k], 1);
	if (!rc && r->status == 503 && !r->retry_after)
		atomic_fetch_add(&st_count[op][5], 1);
}

static void one(struct conn *c)
{
	int w = rand_r(&c->seed) % 100, op = 0;
	for (int acc = 0; op < OP_COUNT; op++) {
		acc += op_weight[op];
		if (w < acc)
			break;
	}
	if (op == OP_ERASE && c->n_persons <= 20)
		op = OP_ENROL;
	int i = rand_r(&c->seed) % n_imgs, j = rand_r(&c->seed) % n_imgs;
	struct reply r = {0};
	int rc;
	char path[128];
	switch (op) {
	case OP_RECOGNIZE:
		rc = call(c, "POST", "/v1/recognize?location=soak", "application/octet-stream", imgs[i], img_len[i], &r);
		break;
	case OP_DETECT:
		rc = call(c, "POST", "/v1/detect", "application/octet-stream", imgs[i], img_len[i], &r);
		break;
	case OP_VERIFY: {
		size_t n = strlen(img_b64[i]) + strlen(img_b64[j]) + 64;
		char *b = malloc(n);
		snprintf(b, n, "{\"image_a\":\"%s\",\"image_b\":\"%s\"}", img_b64[i], img_b64[j]);
		rc = call(c, "POST", "/v1/verify", "application/json", b, strlen(b), &r);
		free(b);
		break;
	}
	case OP_ENROL: {
		if (c->n_persons == 64) {
			op = OP_LIST;
			rc = call(c, "GET", "/v1/persons?limit=5", NULL, NULL, 0, &r);
			break;
		}
		char b[96];
		snprintf(b, sizeof b, "{\"name\":\"soak %u\"}", rand_r(&c->seed));
		rc = call(c, "POST", "/v1/persons", "application/json", b, strlen(b), &r);
		tally(op, rc, &r);
		if (rc || r.status != 201)
			return;
		long person = json_id(r.body, "id");
		snprintf(path, sizeof path, "/v1/persons/%ld/faces", person);
		rc = call(c, "POST", path, "application/octet-stream", imgs[i], img_len[i], &r);
		if (!rc && r.status == 201) {
			long face = json_id(r.body, "face_id");
			pthread_mutex_lock(&ack_mu);
			fprintf(acks, "E %ld %ld\n", person, face);
			fflush(acks);
			pthread_mutex_unlock(&ack_mu);
		}
		c->persons[c->n_persons++] = person; /* erased later even without a face */
		break;
	}
	case OP_ERASE: {
		long person = c->persons[0];
		memmove(c->persons, c->persons + 1, sizeof c->persons[0] * (size_t)--c->n_persons);
		snprintf(path, sizeof path, "/v1/persons/%ld", person);
		rc = call(c, "DELETE", path, NULL, NULL, 0, &r);
		if (!rc && r.status == 200) {
			pthread_mutex_lock(&ack_mu);
			fprintf(acks, "D %ld\n", person);
			fflush(acks);
			pthread_mutex_unlock(&ack_mu);
		}
		break;
	}
	case OP_LIST:
		rc = call(c, "GET", "/v1/persons?limit=20", NULL, NULL, 0, &r);
		break;
	default: { /* async: submit, then poll until the job is done */
		size_t n = strlen(img_b64[i]) + 64;
		char *b = malloc(n);
		snprintf(b, n, "{\"op\":\"recognize\",\"image\":\"%s\"}", img_b64[i]);
		rc = call(c, "POST", "/v1/jobs", "application/json", b, strlen(b), &r);
		free(b);
		tally(op, rc, &r);
		if (rc || r.status != 202)
			return;
		long id = json_id(r.body, "id");
		snprintf(path, sizeof path, "/v1/jobs/%ld", id);
		for (int k = 0; k < 6000; k++) {
			rc = call(c, "GET", path, NULL, NULL, 0, &r);
			if (rc || r.status != 200 || (!strstr(r.body, "\"status\": \"queued\"") && !strstr(r.body, "\"status\": \"running\"")))
				break;
			usleep(20000);
		}
		break;
	}
	}
	tally(op, rc, &r);
}

static void *worker(void *arg)
{
	struct conn c = {.fd = -1, .seed = (unsigned)(uintptr_t)arg * 7919u + 17u};
	while (test_now_ms() < t_end)
		one(&c);
	if (c.fd >= 0)
		close(c.fd);
	free(c.in);
	return NULL;
}

static char *b64(const unsigned char *p, size_t n)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = malloc(4 * ((n + 2) / 3) + 1), *q = o;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		*q++ = t[v >> 18 & 63];
		*q++ = t[v >> 12 & 63];
		*q++ = i + 1 < n ? t[v >> 6 & 63] : '=';
		*q++ = i + 2 < n ? t[v & 63] : '=';
	}
	*q = 0;
	return o;
}

int main(int argc, char **argv)
{
	int threads = 4, o;
	double secs = 60;
	while ((o = getopt(argc, argv, "p:k:s:c:d:")) != -1) {
		switch (o) {
		case 'p': port = atoi(optarg); break;
		case 'k': key = optarg; break;
		case 's': secs = atof(optarg); break;
		case 'c': threads = atoi(optarg); break;
		case 'd': dir = optarg; break;
		default: fprintf(stderr, "usage: dv_soak -p PORT -k KEY -s SECONDS [-c THREADS] -d DIR IMAGE...\n"); return 2;
		}
	}
	n_imgs = argc - optind;
	if (!port || !key || !dir || n_imgs < 1) {
		fprintf(stderr, "usage: dv_soak -p PORT -k KEY -s SECONDS [-c THREADS] -d DIR IMAGE...\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	imgs = calloc((size_t)n_imgs, sizeof *imgs);
	img_len = calloc((size_t)n_imgs, sizeof *img_len);
	img_b64 = calloc((size_t)n_imgs, sizeof *img_b64);
	for (int i = 0; i < n_imgs; i++) {
		imgs[i] = (char *)test_slurp(argv[optind + i], &img_len[i]);
		if (!imgs[i]) {
			fprintf(stderr, "dv_soak: cannot read %s\n", argv[optind + i]);
			return 2;
		}
		img_b64[i] = b64((unsigned char *)imgs[i], img_len[i]);
	}
	char ap[4096];
	snprintf(ap, sizeof ap, "%s/acks", dir);
	acks = fopen(ap, "w");
	if (!acks)
		return 2;
	double t0 = test_now_ms();
	t_end = t0 + secs * 1000;
	pthread_t *tid = calloc((size_t)threads, sizeof *tid);
	for (int i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	long last = 0;
	while (test_now_ms() < t_end) {
		usleep(200000);
		double el = (test_now_ms() - t0) / 1000;
		if ((long)el / 10 != last) {
			last = (long)el / 10;
			long s[6] = {0};
			for (int op = 0; op < OP_COUNT; op++)
				for (int k = 0; k < 6; k++)
					s[k] += atomic_load(&st_count[op][k]);
			printf("t=%.0f requests=%ld ok=%ld 4xx=%ld 503=%ld bad5xx=%ld transport=%ld\n", el, atomic_load(&total), s[0],
			    s[1], s[2], s[3], s[4]);
			fflush(stdout);
		}
	}
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	free(tid);
	fclose(acks);
	long bad = 0;
	printf("{\"seconds\":%.0f,\"requests\":%ld,\"ops\":{", (test_now_ms() - t0) / 1000, atomic_load(&total));
	for (int op = 0; op < OP_COUNT; op++) {
		printf("%s\"%s\":{\"ok\":%ld,\"4xx\":%ld,\"503\":%ld,\"bad5xx\":%ld,\"transport\":%ld,\"503_no_retry_after\":%ld}",
		    op ? "," : "", op_names[op], atomic_load(&st_count[op][0]), atomic_load(&st_count[op][1]),
		    atomic_load(&st_count[op][2]), atomic_load(&st_count[op][3]), atomic_load(&st_count[op][4]),
		    atomic_load(&st_count[op][5]));
		bad += atomic_load(&st_count[op][3]) + atomic_load(&st_count[op][4]) + atomic_load(&st_count[op][5]);
	}
	printf("},\"4xx_codes\":{");
	for (int i = 0; i < n_codes; i++)
		printf("%s\"%s %s\":%ld", i ? "," : "", op_names[codes[i].op], codes[i].code, codes[i].n);
	printf("},\"failures\":%ld}\n", bad);
	return bad ? 1 : 0;
}
