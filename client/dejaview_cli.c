/* dejaview — the command-line client (libdejaview). Speaks the TCP protocol,
 * or HTTP with --http. Human-readable output by default, the server's JSON
 * with --json. Images from files or standard input ("-").
 *
 * Exit codes: 0 done; 1 usage; 2 the server cannot be reached (or the
 * transport failed); 3 the server refused the request (4xx: bad input,
 * unknown key, no such person, no face, ...); 4 the server failed (5xx). */
#include "dejaview.h"
#include "dv_buf.h"
#include "dv_jsonp.h"
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int json_out;

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: dejaview [options] COMMAND [args]\n"
	    "\n"
	    "commands:\n"
	    "  recognize [--location L] [--camera C] IMAGE   who is in the photo\n"
	    "  detect IMAGE                                  the faces only\n"
	    "  verify IMAGE IMAGE | verify --person ID IMAGE  the same person?\n"
	    "  enrol --name NAME [--external-id X] IMAGE...  a new person with this face (and more of theirs)\n"
	    "  enrol --person ID IMAGE...                    more faces of a person (two or three recall best)\n"
	    "  enrol --person ID --event EVENT_ID            the face a recognition kept (its event_id)\n"
	    "  person list [--query Q] [--limit N] | person show ID | person delete ID\n"
	    "  tenant create NAME                            (the admin key; over HTTP)\n"
	    "  hooks list | get NAME | versions NAME          the tenant's stored Lua hooks\n"
	    "  hooks push NAME FILE [--comment C] [--stage]  a new version, checked, activated (--stage: not yet)\n"
	    "  hooks test NAME [--event FILE | IMAGE] [--source FILE] [--version V]\n"
	    "                                                a dry run on an event (JSON), a photo's first face,\n"
	    "                                                or the last visit; nothing is kept\n"
	    "  hooks activate NAME VERSION | hooks rm NAME   roll back or forward / deactivate\n"
	    "  batch N IMAGE                                 N recognitions pipelined on one connection\n"
	    "IMAGE is a file or - for standard input.\n"
	    "\n"
	    "options:\n"
	    "  -H, --host HOST     server (default 127.0.0.1, or $DEJAVIEW_HOST)\n"
	    "  -p, --port PORT     default 7070 (TCP) or 8080 (--http), or $DEJAVIEW_PORT\n"
	    "  -k, --key KEY       API key (or $DEJAVIEW_KEY)\n"
	    "      --http          HTTP instead of the TCP protocol\n"
	    "      --json          print the server's JSON\n"
	    "  -t, --timeout MS    per call (default 30000)\n"
	    "\n"
	    "exit codes: 0 done, 1 usage, 2 cannot reach the server, 3 request refused (4xx), 4 server error (5xx)\n");
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f) {
		fprintf(stderr, "dejaview: cannot read %s\n", path);
		return NULL;
	}
	size_t cap = 1 << 16, len = 0;
	char *b = malloc(cap);
	size_t r;
	while (b && (r = fread(b + len, 1, cap - len, f)) > 0) {
		len += r;
		if (len == cap)
			b = realloc(b, cap *= 2);
	}
	if (f != stdin)
		fclose(f);
	*n = len;
	return b;
}

/* Print the reply; returns the exit code. */
static int finish(const struct dv_reply *r, void (*human)(const struct dv_jv *))
{
	if (r->status >= 400) {
		if (json_out)
			printf("%s\n", r->body ? r->body : "");
		struct dv_jv *v = r->body ? dv_jsonp_parse(r->body, r->len, NULL, 0) : NULL;
		const struct dv_jv *e = dv_jv_get(v, "error"), *m = dv_jv_get(e, "message");
		fprintf(stderr, "dejaview: %d %s: %s\n", r->status, r->code[0] ? r->code : "error",
		    m && m->type == DV_JSTR ? m->str : "");
		dv_jv_free(v);
		return r->status >= 500 ? 4 : 3;
	}
	if (json_out || !human) {
		printf("%s\n", r->body ? r->body : "");
		return 0;
	}
	struct dv_jv *v = dv_jsonp_parse(r->body, r->len, NULL, 0);
	if (!v) {
		printf("%s\n", r->body ? r->body : "");
		return 0;
	}
	human(v);
	dv_jv_free(v);
	return 0;
}

static double num(const struct dv_jv *o, const char *k)
{
	const struct dv_jv *v = dv_jv_get(o, k);
	return v && v->type == DV_JNUM ? v->num : 0;
}

static const char *str(const struct dv_jv *o, const char *k)
{
	const struct dv_jv *v = dv_jv_get(o, k);
	return v && v->type == DV_JSTR ? v->str : NULL;
}

static void print_hooks(const struct dv_jv *hooks)
{
	if (!hooks || hooks->type != DV_JOBJ)
		return;
	for (int i = 0; i < hooks->n; i++) {
		const struct dv_jv *h = hooks->items[i];
		const char *msg = str(h, "message") ? str(h, "message") : str(h, "greeting");
		if (msg)
			printf("    %s: %s\n", hooks->keys[i], msg);
	}
}

static void human_faces(const struct dv_jv *v)
{
	const struct dv_jv *faces = dv_jv_get(v, "faces");
	if (!faces || faces->n == 0) {
		printf("no face\n");
		return;
	}
	for (int i = 0; i < faces->n; i++) {
		const struct dv_jv *f = faces->items[i], *b = dv_jv_get(f, "box"), *m = dv_jv_get(f, "match");
		printf("face %d at %.0f,%.0f %.0fx%.0f", i + 1, num(b, "x"), num(b, "y"), num(b, "w"), num(b, "h"));
		if (m && m->type == DV_JOBJ) {
			const struct dv_jv *p = dv_jv_get(m, "person");
			printf(": %s (person %.0f, distance %.3f, similarity %.2f)\n", str(p, "name") ? str(p, "name") : "?",
			    num(p, "id"), num(m, "distance"), num(m, "similarity"));
		} else if (dv_jv_get(f, "unknown")) {
			printf(": unknown\n");
		} else {
			printf(" (score %.2f)\n", num(f, "score"));
		}
		print_hooks(dv_jv_get(f, "hooks"));
	}
}

static void human_verify(const struct dv_jv *v)
{
	const struct dv_jv *s = dv_jv_get(v, "same");
	printf("%s (distance %.3f, threshold %.2f, similarity %.2f)\n", s && s->b ? "same person" : "different people",
	    num(v, "distance"), num(v, "threshold"), num(v, "similarity"));
}

static void human_enrolled(const struct dv_jv *v)
{
	printf("enrolled face %.0f of person %.0f (quality %.2f)\n", num(v, "face_id"), num(v, "person_id"), num(v, "quality"));
	const struct dv_jv *d = dv_jv_get(v, "duplicate_of");
	if (d) {
		const struct dv_jv *p = dv_jv_get(d, "person");
		printf("note: this face also matches %s (person %.0f, distance %.3f)\n", str(p, "name") ? str(p, "name") : "?",
		    num(p, "id"), num(d, "distance"));
	}
}

static void human_person(const struct dv_jv *p)
{
	printf("%6.0f  %-30s %-16s %2.0f face%s\n", num(p, "id"), str(p, "name") ? str(p, "name") : "",
	    str(p, "external_id") ? str(p, "external_id") : "-", num(p, "face_count"), num(p, "face_count") == 1 ? "" : "s");
}

static void human_persons(const struct dv_jv *v)
{
	const struct dv_jv *ps = dv_jv_get(v, "persons");
	for (int i = 0; ps && i < ps->n; i++)
		human_person(ps->items[i]);
	if (!ps || ps->n == 0)
		printf("nobody\n");
}

static void human_deleted(const struct dv_jv *v)
{
	printf("deleted person %.0f and %.0f face%s\n", num(v, "id"), num(v, "faces_deleted"), num(v, "faces_deleted") == 1 ? "" : "s");
}

static void human_tenant(const struct dv_jv *v)
{
	printf("tenant %.0f %s\napi key (shown once): %s\n", num(v, "id"), str(v, "name"), str(v, "api_key"));
}

static void human_hooks(const struct dv_jv *v)
{
	const struct dv_jv *hs = dv_jv_get(v, "hooks"), *fs = dv_jv_get(v, "files");
	for (int i = 0; fs && i < fs->n; i++)
		printf("%-20s file %s%s\n", str(fs->items[i], "name"), str(fs->items[i], "file"),
		    dv_jv_get(fs->items[i], "replaced_by_stored") && dv_jv_get(fs->items[i], "replaced_by_stored")->b
		        ? " (replaced by the stored hook)" : "");
	for (int i = 0; hs && i < hs->n; i++) {
		const struct dv_jv *h = hs->items[i], *fn = dv_jv_get(h, "functions"), *by = dv_jv_get(h, "updated_by");
		const struct dv_jv *av = dv_jv_get(h, "active_version");
		if (av && av->type == DV_JNUM)
			printf("%-20s v%-4.0f", str(h, "name"), av->num);
		else
			printf("%-20s %-5s", str(h, "name"), "off");
		for (int k = 0; fn && k < fn->n; k++)
			printf("%s%s", k ? "," : " ", fn->items[k]->str);
		printf("  (%s by %s)\n", str(h, "updated_at") ? str(h, "updated_at") : "", str(by, "name") ? str(by, "name") : "?");
	}
	if ((!hs || hs->n == 0) && (!fs || fs->n == 0))
		printf("no hooks\n");
}

static void human_hook(const struct dv_jv *v) { printf("%s", str(v, "source") ? str(v, "source") : ""); }

static void human_hook_versions(const struct dv_jv *v)
{
	const struct dv_jv *vs = dv_jv_get(v, "versions");
	for (int i = 0; vs && i < vs->n; i++) {
		const struct dv_jv *x = vs->items[i], *a = dv_jv_get(x, "active"), *au = dv_jv_get(x, "author");
		printf("%s v%-4.0f %s  %-16s %s\n", a && a->b ? "*" : " ", num(x, "version"),
		    str(x, "created_at") ? str(x, "created_at") : "", str(au, "name") ? str(au, "name") : "?",
		    str(x, "comment") ? str(x, "comment") : "");
	}
}

static void human_hook_put(const struct dv_jv *v)
{
	const struct dv_jv *av = dv_jv_get(v, "active_version");
	printf("%s version %.0f stored; active version %s", str(v, "name"), num(v, "version"),
	    av && av->type == DV_JNUM ? "" : "none");
	if (av && av->type == DV_JNUM)
		printf("%.0f", av->num);
	printf("\n");
}

static void human_hook_test(const struct dv_jv *v)
{
	const struct dv_jv *okv = dv_jv_get(v, "ok"), *e = dv_jv_get(v, "error"), *ln = dv_jv_get(e, "line");
	if (okv && okv->b) {
		printf("ok (%s, %.0f instructions, %.2f ms)\n", str(v, "event"), num(v, "instructions"), num(v, "time_ms"));
	} else {
		printf("failed: ");
		if (ln && ln->type == DV_JNUM)
			printf("line %.0f: ", ln->num);
		printf("%s\n", str(e, "message") ? str(e, "message") : "?");
	}
	const struct dv_jv *w = dv_jv_get(v, "writes"), *l = dv_jv_get(v, "log");
	for (int i = 0; w && i < w->n; i++)
		printf("  would %s person %.0f %s.%s\n", str(w->items[i], "op"), num(w->items[i], "person"),
		    str(w->items[i], "ns"), str(w->items[i], "key"));
	for (int i = 0; l && i < l->n; i++)
		printf("  log: %s\n", l->items[i]->str);
	const struct dv_jv *o = dv_jv_get(v, "output");
	if (o) {
		struct dv_buf b;
		dv_buf_init(&b);
		dv_json_value(&b, o);
		printf("  output: %s\n", b.data ? b.data : "{}");
		dv_buf_fini(&b);
	}
}

/* A query-string value, percent-encoded. */
static void qenc(char *out, size_t cap, const char *v)
{
	size_t n = strlen(out);
	for (; *v && n + 4 < cap; v++) {
		unsigned char ch = (unsigned char)*v;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("-_.~", ch))
			out[n++] = (char)ch;
		else
			n += (size_t)snprintf(out + n, cap - n, "%%%02X", ch);
	}
	out[n] = 0;
}

/* Print a refused hook's line with its message; returns the exit code. */
static int finish_hook(const struct dv_reply *r, void (*human)(const struct dv_jv *))
{
	if (r->status == 422 && !json_out && r->body) {
		struct dv_jv *v = dv_jsonp_parse(r->body, r->len, NULL, 0);
		const struct dv_jv *e = dv_jv_get(v, "error"), *ln = dv_jv_get(e, "line");
		if (str(e, "code") && !strcmp(str(e, "code"), "invalid_hook")) {
			fprintf(stderr, "dejaview: %s: ", str(e, "hook") ? str(e, "hook") : "hook");
			if (ln && ln->type == DV_JNUM)
				fprintf(stderr, "line %.0f: ", ln->num);
			fprintf(stderr, "%s\n", str(e, "message") ? str(e, "message") : "invalid");
			dv_jv_free(v);
			return 3;
		}
		dv_jv_free(v);
	}
	return finish(r, human);
}

/* --name=X or --name X among argv[*i]; advances *i. */
static const char *opt(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	if (!strncmp(argv[*i], name, n) && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (!strcmp(argv[*i], name) && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

int main(int argc, char **argv)
{
	const char *host = getenv("DEJAVIEW_HOST"), *key = getenv("DEJAVIEW_KEY"), *penv = getenv("DEJAVIEW_PORT");
	int port = penv ? atoi(penv) : 0, http = 0, timeout = 30000, o;
	static const struct option opts[] = {{"host", required_argument, NULL, 'H'}, {"port", required_argument, NULL, 'p'},
	    {"key", required_argument, NULL, 'k'}, {"http", no_argument, NULL, 'h' + 256}, {"json", no_argument, NULL, 'j'},
	    {"timeout", required_argument, NULL, 't'}, {"help", no_argument, NULL, '?' + 256}, {NULL, 0, NULL, 0}};
	while ((o = getopt_long(argc, argv, "+H:p:k:t:", opts, NULL)) != -1) {
		switch (o) {
		case 'H': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'k': key = optarg; break;
		case 't': timeout = atoi(optarg); break;
		case 'j': json_out = 1; break;
		case 'h' + 256: http = 1; break;
		case '?' + 256: usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	const char *cmd = argv[optind];
	char **a = argv + optind + 1;
	int na = argc - optind - 1;
	if (!strcmp(cmd, "tenant"))
		http = 1; /* the admin API is HTTP only */
	if (!port)
		port = http ? 8080 : 7070;
	char err[300];
	dv_client *c = dv_client_open(host, port, http ? DV_CLIENT_HTTP : DV_CLIENT_TCP, key, timeout, err, sizeof err);
	if (!c) {
		fprintf(stderr, "dejaview: %s\n", err);
		return 2;
	}
	struct dv_reply r = {0};
	int rc = -1, ex = 1;
	char *img = NULL, *img2 = NULL;
	size_t n = 0, n2 = 0;
	if ((!strcmp(cmd, "recognize") || !strcmp(cmd, "detect")) && na >= 1) {
		char q[600] = "";
		const char *file = NULL;
		for (int i = 0; i < na; i++) {
			const char *v;
			if ((v = opt(na, a, &i, "--location")))
				snprintf(q + strlen(q), sizeof q - strlen(q), "%slocation=%s", q[0] ? "&" : "", v);
			else if ((v = opt(na, a, &i, "--camera")))
				snprintf(q + strlen(q), sizeof q - strlen(q), "%scamera=%s", q[0] ? "&" : "", v);
			else
				file = a[i];
		}
		if (file && (img = slurp(file, &n))) {
			rc = !strcmp(cmd, "detect") ? dv_client_detect(c, img, n, &r) : dv_client_recognize(c, img, n, q, &r);
			if (!rc)
				ex = finish(&r, human_faces);
		}
	} else if (!strcmp(cmd, "verify") && na >= 2) {
		if (!strcmp(a[0], "--person") && na == 3) {
			if ((img = slurp(a[2], &n)) && !(rc = dv_client_verify(c, img, n, NULL, 0, strtoull(a[1], NULL, 10), &r)))
				ex = finish(&r, human_verify);
		} else if (na == 2 && (img = slurp(a[0], &n)) && (img2 = slurp(a[1], &n2))) {
			if (!(rc = dv_client_verify(c, img, n, img2, n2, 0, &r)))
				ex = finish(&r, human_verify);
		}
	} else if (!strcmp(cmd, "enrol") || !strcmp(cmd, "enroll")) {
		const char *name = NULL, *ext = NULL, *files[16];
		int nf = 0;
		uint64_t person = 0, event = 0;
		for (int i = 0; i < na; i++) {
			const char *v;
			if ((v = opt(na, a, &i, "--name")))
				name = v;
			else if ((v = opt(na, a, &i, "--external-id")))
				ext = v;
			else if ((v = opt(na, a, &i, "--person")))
				person = strtoull(v, NULL, 10);
			else if ((v = opt(na, a, &i, "--event")))
				event = strtoull(v, NULL, 10);
			else if (nf < 16)
				files[nf++] = a[i];
		}
		if (event && person && nf == 0) {
			/* the face a recognition kept: no photo sent */
			char path[96];
			snprintf(path, sizeof path, "/v1/persons/%llu/faces?event_id=%llu", (unsigned long long)person,
			    (unsigned long long)event);
			if (!(rc = dv_client_call(c, "POST", path, NULL, NULL, 0, &r)))
				ex = finish(&r, human_enrolled);
		} else if (!event && nf > 0 && (name || person) && (img = slurp(files[0], &n))) {
			rc = 0;
			if (!person) {
				/* a new person first; the name goes in JSON, escaped */
				char body[1024], *w = body;
				w += sprintf(w, "{\"name\":\"");
				for (const char *s = name; *s && w < body + 400; s++)
					w += (*s == '"' || *s == '\\') ? sprintf(w, "\\%c", *s) : (unsigned char)*s < 0x20 ? 0 : sprintf(w, "%c", *s);
				w += sprintf(w, "\"");
				if (ext) {
					w += sprintf(w, ",\"external_id\":\"");
					for (const char *s = ext; *s && w < body + 900; s++)
						w += (*s == '"' || *s == '\\') ? sprintf(w, "\\%c", *s) : (unsigned char)*s < 0x20 ? 0 : sprintf(w, "%c", *s);
					w += sprintf(w, "\"");
				}
				sprintf(w, "}");
				rc = dv_client_call(c, "POST", "/v1/persons", "application/json", body, strlen(body), &r);
				if (!rc && r.status == 201) {
					const char *id = strstr(r.body, "\"id\":");
					person = id ? strtoull(id + 5, NULL, 10) : 0;
					dv_reply_free(&r);
				} else if (!rc) {
					ex = finish(&r, NULL);
					person = 0;
				}
			}
			/* each photo in turn; the worst outcome is the exit code */
			if (!rc && person)
				ex = 0;
			for (int f = 0; !rc && person && f < nf; f++) {
				if (f > 0) {
					free(img);
					if (!(img = slurp(files[f], &n))) {
						ex = ex ? ex : 1;
						break;
					}
				}
				rc = dv_client_enrol(c, person, img, n, &r);
				if (!rc) {
					if (nf > 1 && !json_out)
						printf("%s: ", files[f]);
					int e = finish(&r, human_enrolled);
					ex = e > ex ? e : ex;
					dv_reply_free(&r);
				}
			}
		}
	} else if (!strcmp(cmd, "person") && na >= 1) {
		char path[700];
		if (!strcmp(a[0], "list")) {
			char q[400] = "";
			for (int i = 1; i < na; i++) {
				const char *v;
				if ((v = opt(na, a, &i, "--query")))
					snprintf(q + strlen(q), sizeof q - strlen(q), "%squery=%s", q[0] ? "&" : "", v);
				else if ((v = opt(na, a, &i, "--limit")))
					snprintf(q + strlen(q), sizeof q - strlen(q), "%slimit=%s", q[0] ? "&" : "", v);
			}
			snprintf(path, sizeof path, "/v1/persons%s%s", q[0] ? "?" : "", q);
			if (!(rc = dv_client_call(c, "GET", path, NULL, NULL, 0, &r)))
				ex = finish(&r, human_persons);
		} else if ((!strcmp(a[0], "show") || !strcmp(a[0], "delete")) && na == 2) {
			snprintf(path, sizeof path, "/v1/persons/%s", a[1]);
			int del = !strcmp(a[0], "delete");
			if (!(rc = dv_client_call(c, del ? "DELETE" : "GET", path, NULL, NULL, 0, &r)))
				ex = finish(&r, del ? human_deleted : human_person);
		}
	} else if (!strcmp(cmd, "tenant") && na == 2 && !strcmp(a[0], "create")) {
		char body[600];
		snprintf(body, sizeof body, "{\"name\":\"%.500s\"}", a[1]);
		if (strpbrk(a[1], "\"\\")) {
			fprintf(stderr, "dejaview: a tenant name without quotes or backslashes, please\n");
		} else if (!(rc = dv_client_call(c, "POST", "/v1/admin/tenants", "application/json", body, strlen(body), &r))) {
			ex = finish(&r, human_tenant);
		}
	} else if (!strcmp(cmd, "hooks") && na >= 1) {
		char path[800];
		const char *sub = a[0], *name = na >= 2 ? a[1] : NULL;
		rc = 0; /* stays 0 unless a call is made and fails */
		if (name && (strlen(name) > 64 || strpbrk(name, "/?#% "))) {
			fprintf(stderr, "dejaview: a hook's name is letters, digits and _\n");
		} else if (!strcmp(sub, "list") && na == 1) {
			if (!(rc = dv_client_call(c, "GET", "/v1/hooks", NULL, NULL, 0, &r)))
				ex = finish(&r, human_hooks);
		} else if ((!strcmp(sub, "get") || !strcmp(sub, "versions") || !strcmp(sub, "rm")) && na == 2) {
			snprintf(path, sizeof path, "/v1/hooks/%s%s", name, !strcmp(sub, "versions") ? "/versions" : "");
			if (!(rc = dv_client_call(c, !strcmp(sub, "rm") ? "DELETE" : "GET", path, NULL, NULL, 0, &r)))
				ex = finish(&r, !strcmp(sub, "get") ? human_hook : !strcmp(sub, "versions") ? human_hook_versions : NULL);
		} else if (!strcmp(sub, "activate") && na == 3) {
			char body[64];
			snprintf(body, sizeof body, "{\"version\":%d}", atoi(a[2]));
			snprintf(path, sizeof path, "/v1/hooks/%s/activate", name);
			if (!(rc = dv_client_call(c, "POST", path, "application/json", body, strlen(body), &r)))
				ex = finish(&r, NULL);
		} else if (!strcmp(sub, "push") && na >= 3) {
			const char *comment = NULL, *file = NULL;
			int stage = 0;
			for (int i = 2; i < na; i++) {
				const char *v;
				if ((v = opt(na, a, &i, "--comment")))
					comment = v;
				else if (!strcmp(a[i], "--stage"))
					stage = 1;
				else
					file = a[i];
			}
			snprintf(path, sizeof path, "/v1/hooks/%s?activate=%s", name, stage ? "false" : "true");
			if (comment) {
				snprintf(path + strlen(path), sizeof path - strlen(path), "&comment=");
				qenc(path, sizeof path, comment);
			}
			if (file && (img = slurp(file, &n)) && !(rc = dv_client_call(c, "PUT", path, "text/x-lua", img, n, &r)))
				ex = finish_hook(&r, human_hook_put);
		} else if (!strcmp(sub, "test") && na >= 2) {
			const char *evf = NULL, *srcf = NULL, *photo = NULL, *ver = NULL;
			for (int i = 2; i < na; i++) {
				const char *v;
				if ((v = opt(na, a, &i, "--event")))
					evf = v;
				else if ((v = opt(na, a, &i, "--source")))
					srcf = v;
				else if ((v = opt(na, a, &i, "--version")))
					ver = v;
				else
					photo = a[i];
			}
			if (photo) {
				/* the photo's first face is the event */
				if (ver)
					snprintf(path, sizeof path, "/v1/hooks/%s/test?version=%d", name, atoi(ver));
				else
					snprintf(path, sizeof path, "/v1/hooks/%s/test", name);
				if ((img = slurp(photo, &n)) &&
				    !(rc = dv_client_call(c, "POST", path, "application/octet-stream", img, n, &r)))
					ex = finish(&r, human_hook_test);
				goto hooks_done;
			}
			char *evj = evf ? slurp(evf, &n) : NULL, *src = srcf ? slurp(srcf, &n2) : NULL;
			struct dv_buf b;
			dv_buf_init(&b);
			dv_buf_puts(&b, "{");
			if (ver)
				dv_buf_printf(&b, "\"version\":%d,", atoi(ver));
			dv_buf_puts(&b, "\"event\":");
			if (evj) {
				dv_buf_add(&b, evj, n);
			} else {
				dv_buf_puts(&b, "\"last\"");
			}
			if (src) {
				dv_buf_puts(&b, ",\"source\":");
				dv_json_escape(&b, src, n2);
			}
			dv_buf_puts(&b, "}");
			snprintf(path, sizeof path, "/v1/hooks/%s/test", name);
			if ((!evf || evj) && (!srcf || src) &&
			    !(rc = dv_client_call(c, "POST", path, "application/json", b.data, b.len, &r)))
				ex = finish(&r, human_hook_test);
			free(evj);
			free(src);
			dv_buf_fini(&b);
		hooks_done:;
		} else {
			usage(stderr);
			dv_client_close(c);
			return 1;
		}
	} else if (!strcmp(cmd, "batch") && na == 2) {
		int count = atoi(a[0]);
		if (count > 0 && count <= 100000 && (img = slurp(a[1], &n))) {
			struct dv_call *calls = calloc((size_t)count, sizeof *calls);
			for (int i = 0; i < count; i++)
				calls[i] = (struct dv_call){.method = "POST", .path = "/v1/recognize",
				    .content_type = "application/octet-stream", .body = img, .len = n};
			int got = dv_client_batch(c, calls, count), ok200 = 0;
			for (int i = 0; i < count; i++) {
				ok200 += calls[i].rc == 0 && calls[i].reply.status == 200;
				dv_reply_free(&calls[i].reply);
			}
			printf("batch sent=%d received=%d matched=%d ok=%d\n", count, got, got, ok200);
			free(calls);
			rc = got == count ? 0 : -1;
			ex = got == count ? (ok200 == count ? 0 : 3) : 2;
			if (got != count)
				fprintf(stderr, "dejaview: %s\n", dv_client_error(c));
		}
	} else {
		usage(stderr);
		dv_client_close(c);
		return 1;
	}
	if (rc && ex == 1 && !img && strcmp(cmd, "person") && strcmp(cmd, "tenant") && strcmp(cmd, "hooks")) {
		/* the image could not be read, or arguments were missing */
	} else if (rc) {
		fprintf(stderr, "dejaview: %s\n", dv_client_error(c));
		ex = 2;
	}
	dv_reply_free(&r);
	free(img);
	free(img2);
	dv_client_close(c);
	return ex;
}
