/* dv_buf.h — growable byte buffer and a small JSON writer on top of it. */
#ifndef DV_BUF_H
#define DV_BUF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dv_buf {
	char *data;   /* NUL-terminated when len > 0 */
	size_t len;
	size_t cap;
	bool failed;  /* an allocation failed; content is incomplete */
};

void dv_buf_init(struct dv_buf *b);
void dv_buf_fini(struct dv_buf *b);
void dv_buf_reset(struct dv_buf *b);
/* Take the data out (caller frees); the buffer becomes empty. */
char *dv_buf_steal(struct dv_buf *b, size_t *len);
int dv_buf_reserve(struct dv_buf *b, size_t extra);
void dv_buf_add(struct dv_buf *b, const void *p, size_t n);
void dv_buf_puts(struct dv_buf *b, const char *s);
void dv_buf_printf(struct dv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* n bytes as 2n lowercase hex digits. */
void dv_buf_hex(struct dv_buf *b, const void *p, size_t n);
/* Hex digits (an even count, NUL-terminated, either case) into bytes; 0, or -1 on a bad digit. */
int dv_hex_decode(const char *h, uint8_t *out);

/* JSON writer. Commas are inserted automatically: call dv_json_key() before
 * every value inside an object. Numbers that are not finite become null. */
struct dv_json {
	struct dv_buf *b;
	int depth;
	bool need_comma[32];
};
void dv_json_init(struct dv_json *j, struct dv_buf *b);
void dv_json_obj_open(struct dv_json *j);
void dv_json_obj_close(struct dv_json *j);
void dv_json_arr_open(struct dv_json *j);
void dv_json_arr_close(struct dv_json *j);
void dv_json_key(struct dv_json *j, const char *k);
void dv_json_str(struct dv_json *j, const char *s);
void dv_json_strn(struct dv_json *j, const char *s, size_t n);
void dv_json_int(struct dv_json *j, long long v);
void dv_json_uint(struct dv_json *j, unsigned long long v);
void dv_json_num(struct dv_json *j, double v);
/* A float32-sourced value: 7 significant digits, so 77.2f prints as 77.2. */
void dv_json_float(struct dv_json *j, float v);
void dv_json_bool(struct dv_json *j, bool v);
void dv_json_null(struct dv_json *j);
/* Insert pre-serialised JSON as a value. */
void dv_json_raw(struct dv_json *j, const char *json);
/* Escape s as a JSON string (with quotes) into b. */
void dv_json_escape(struct dv_buf *b, const char *s, size_t n);
/* Free n strings of v (NULL entries allowed) and v itself. */
void dv_strv_free(char **v, int n);
/* A malloc'd copy of len bytes (at least one byte is allocated), or NULL. */
void *dv_memdup(const void *src, size_t len);

struct dv_jv;
/* A parsed JSON value (dv_jsonp.h), written back as compact JSON. */
void dv_json_value(struct dv_buf *b, const struct dv_jv *v);

#endif
