/* dv_hookd — a webhook receiver for tests: listens on 127.0.0.1 (any free
 * port, written to PORTFILE), answers N HTTP requests with 200 and appends
 * each body as one line to OUT, then exits (or after 30 s).
 *   dv_hookd PORTFILE OUT N */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: dv_hookd PORTFILE OUT N\n");
		return 2;
	}
	int n = atoi(argv[3]);
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	socklen_t sl = sizeof sa;
	if (bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 16) != 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) != 0)
		return 1;
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
	FILE *pf = fopen(tmp, "w");
	fprintf(pf, "%d\n", ntohs(sa.sin_port));
	fclose(pf);
	rename(tmp, argv[1]);
	for (int i = 0; i < n; i++) {
		struct pollfd p = {ls, POLLIN, 0};
		if (poll(&p, 1, 30000) != 1)
			return 1;
		int c = accept(ls, NULL, NULL);
		if (c < 0)
			continue;
		static char buf[1 << 20];
		size_t len = 0;
		long want = -1;
		for (;;) {
			ssize_t r = recv(c, buf + len, sizeof buf - 1 - len, 0);
			if (r <= 0)
				break;
			len += (size_t)r;
			buf[len] = 0;
			char *he = strstr(buf, "\r\n\r\n");
			if (he && want < 0) {
				for (char *h = buf; h && h < he; h = strstr(h, "\r\n") ? strstr(h, "\r\n") + 2 : NULL)
					if (!strncasecmp(h, "Content-Length:", 15))
						want = atol(h + 15);
				if (want < 0)
					want = 0;
			}
			if (he && (long)(len - (size_t)(he + 4 - buf)) >= want)
				break;
		}
		char *he = strstr(buf, "\r\n\r\n");
		FILE *o = fopen(argv[2], "a");
		if (o && he) {
			fprintf(o, "%s\n", he + 4);
			fclose(o);
		}
		static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		ssize_t w = send(c, ok, sizeof ok - 1, MSG_NOSIGNAL);
		(void)w;
		close(c);
	}
	return 0;
}
