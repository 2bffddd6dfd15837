/* dv_form.h — the fields of a request body, whatever its form (pure, no
 * I/O): a raw image (an image type, application/octet-stream, or no type), a
 * multipart/form-data body (file or text parts), or a JSON object whose
 * image fields are base64 (plain or a data: URL). Every form gives named
 * fields: images as bytes, the rest as text; JSON keeps its tree too. */
#ifndef DV_FORM_H
#define DV_FORM_H
#include <stddef.h>
#include <stdint.h>

struct dv_jv;

#define DV_FORM_MAX_FIELDS 32

struct dv_field {
	char name[64];
	const uint8_t *data; /* into the body, or into owned */
	size_t len;
	uint8_t *owned;      /* decoded base64, or a NUL-terminated copy */
	int is_file;         /* multipart part with a filename, or a raw body */
};

struct dv_form {
	struct dv_field f[DV_FORM_MAX_FIELDS];
	int n;
	struct dv_jv *json;  /* the JSON body's tree, or NULL */
};

/* Parse body by its Content-Type (NULL = raw). Fields named in image_keys
 * (NULL-terminated; the raw body is the first of them) are decoded from
 * base64 in JSON. Returns 0, or a dv_err with a reason in err. */
int dv_form_parse(struct dv_form *f, const char *ctype, const uint8_t *body, size_t len,
    const char *const *image_keys, char *err, size_t errlen);
void dv_form_fini(struct dv_form *f);
/* A field, or NULL. */
const struct dv_field *dv_form_get(const struct dv_form *f, const char *name);
/* A text field as a NUL-terminated string (copied into the form), or NULL.
 * JSON numbers are given as their text. */
const char *dv_form_text(struct dv_form *f, const char *name);
/* Decode base64 (standard or URL alphabet, padding optional, whitespace
 * skipped) into a new buffer; NULL when malformed. */
uint8_t *dv_base64_decode(const char *s, size_t n, size_t *out_len);
#endif
