/* dv_frametool — a raw TCP frame client for tests. Prints every frame it
 * receives as "frame type=0xTT id=N len=L body=..." and "closed" when the
 * server closes.
 *   dv_frametool [-t MS] PORT frame TYPE ID FILE|-   one frame, print replies
 *   dv_frametool [-t MS] PORT raw FILE               raw bytes, print replies
 *   dv_frametool [-t MS] PORT pipeline N TYPE FILE   N frames at once, check ids
 *   dv_frametool [-t MS] PORT partial FILE           header + half the payload, then wait
 * With DV_API_KEY in the environment, "frame" and "pipeline" first send an
 * AUTH frame with it and wait for AUTH_OK (printed as the first frame). */
#include "dv_frame.h"
#include "../util.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int timeout_ms = 5000;

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f) {
		perror(path);
		exit(2);
	}
	size_t cap = 1 << 16, n = 0;
	uint8_t *b = malloc(cap);
	size_t r;
	while ((r = fread(b + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap)
			b = realloc(b, cap *= 2);
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return b;
}

static void send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			printf("send failed: %s\n", strerror(errno));
			return;
		}
		b += w;
		n -= (size_t)w;
	}
}

/* Read frames until `want` frames arrived, the server closed, or timeout.
 * Returns the number of frames; marks ids seen in `seen` if given. */
static int read_frames(int fd, int want, unsigned char *seen, int nseen, int quiet, int *errors)
{
	uint8_t *buf = malloc(1 << 20);
	size_t cap = 1 << 20, len = 0;
	int got = 0;
	double deadline = test_now_ms() + timeout_ms;
	while (want <= 0 || got < want) {
		int left = (int)(deadline - test_now_ms());
		if (left <= 0) {
			printf("timeout after %d frames\n", got);
			break;
		}
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, left) <= 0)
			continue;
		if (cap - len < 65536)
			buf = realloc(buf, cap *= 2);
		ssize_t n = recv(fd, buf + len, cap - len, 0);
		if (n <= 0) {
			printf("closed\n");
			break;
		}
		len += (size_t)n;
		for (;;) {
			struct dv_frame_hdr h;
			if (len < DV_FRAME_HDR || dv_frame_parse(buf, len, 1u << 30, &h) != 0 || len < DV_FRAME_HDR + h.len)
				break;
			got++;
			if (h.type == DV_FT_ERROR && errors)
				(*errors)++;
			if (seen && h.req_id >= 1 && (int)h.req_id <= nseen)
				seen[h.req_id]++;
			if (!quiet)
				printf("frame type=0x%02x id=%u len=%u body=%.*s\n", h.type, h.req_id, h.len,
				    (int)(h.len > 400 ? 400 : h.len), (const char *)buf + DV_FRAME_HDR);
			memmove(buf, buf + DV_FRAME_HDR + h.len, len - DV_FRAME_HDR - h.len);
			len -= DV_FRAME_HDR + h.len;
		}
	}
	free(buf);
	return got;
}

int main(int argc, char **argv)
{
	int a = 1;
	if (a + 1 < argc && !strcmp(argv[a], "-t")) {
		timeout_ms = atoi(argv[a + 1]);
		a += 2;
	}
	if (argc - a < 2) {
		fprintf(stderr, "usage: see the comment at the top of dv_frametool.c\n");
		return 2;
	}
	int port = atoi(argv[a]);
	const char *cmd = argv[a + 1];
	char **v = argv + a + 2;
	int nv = argc - a - 2;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		printf("connect failed: %s\n", strerror(errno));
		return 1;
	}
	uint8_t h[DV_FRAME_HDR];
	size_t len;
	const char *key = getenv("DV_API_KEY");
	if (key && *key && (!strcmp(cmd, "frame") || !strcmp(cmd, "pipeline"))) {
		dv_frame_write(h, DV_FT_AUTH, 0, (uint32_t)strlen(key));
		send_all(fd, h, sizeof h);
		send_all(fd, key, strlen(key));
		if (read_frames(fd, 1, NULL, 0, 1, NULL) != 1)
			return 1;
	}
	if (!strcmp(cmd, "frame") && nv == 3) {
		uint8_t *p = slurp(v[2], &len);
		dv_frame_write(h, (uint8_t)strtol(v[0], NULL, 0), (uint32_t)strtoul(v[1], NULL, 0), (uint32_t)len);
		send_all(fd, h, sizeof h);
		send_all(fd, p, len);
		read_frames(fd, 1, NULL, 0, 0, NULL);
		free(p);
	} else if (!strcmp(cmd, "raw") && nv == 1) {
		uint8_t *p = slurp(v[0], &len);
		send_all(fd, p, len);
		read_frames(fd, -1, NULL, 0, 0, NULL);
		free(p);
	} else if (!strcmp(cmd, "pipeline") && nv == 3) {
		int n = atoi(v[0]);
		uint8_t type = (uint8_t)strtol(v[1], NULL, 0);
		uint8_t *p = slurp(v[2], &len);
		unsigned char *seen = calloc((size_t)n + 1, 1);
		/* write everything, reading concurrently so neither side blocks */
		int errors = 0, got = 0;
		double t0 = test_now_ms();
		for (int i = 1; i <= n; i++) {
			dv_frame_write(h, type, (uint32_t)i, (uint32_t)len);
			send_all(fd, h, sizeof h);
			send_all(fd, p, len);
		}
		got = read_frames(fd, n, seen, n, 1, &errors);
		int matched = 0, dup = 0;
		for (int i = 1; i <= n; i++) {
			matched += seen[i] == 1;
			dup += seen[i] > 1;
		}
		printf("pipeline sent=%d received=%d matched=%d duplicates=%d errors=%d ms=%.0f\n", n, got, matched, dup, errors,
		    test_now_ms() - t0);
		free(seen);
		free(p);
	} else if (!strcmp(cmd, "partial") && nv == 1) {
		uint8_t *p = slurp(v[0], &len);
		dv_frame_write(h, DV_FT_RECOGNIZE, 1, (uint32_t)len);
		send_all(fd, h, sizeof h);
		send_all(fd, p, len / 2);
		double t0 = test_now_ms();
		read_frames(fd, -1, NULL, 0, 0, NULL);
		printf("elapsed_ms=%.0f\n", test_now_ms() - t0);
		free(p);
	} else {
		fprintf(stderr, "unknown command\n");
		return 2;
	}
	close(fd);
	fflush(stdout);
	return 0;
}
