/* dv_gallery.h — keeps each generation's matcher equal to the faces in
 * PostgreSQL. One thread per server owns a connection that LISTENs on
 * dv_gallery (announced by a trigger on every insert and delete of a face,
 * cascades included): it loads a generation's gallery in full (the faces
 * stamped with its embedder's model and fingerprint), then applies every
 * announcement, whichever dejaviewd made the change. After a lost connection
 * it reloads in full and drops what was deleted meanwhile. Workers apply
 * their own committed changes at once (no wait for the echo); removed ids
 * are remembered so that a late add can never bring a face back. */
#ifndef DV_GALLERY_H
#define DV_GALLERY_H
#include <stdbool.h>
#include <stdint.h>

struct dv_gen;
struct dv_hooklib;
struct dv_keyuse;
struct dv_gallery;

/* node: this server's name; once connected, the async jobs it left queued
 * or running before a restart are marked failed (interrupted). */
/* ... keys (or NULL) gets the origins of the publishable keys, at every
 * (re)connection and when keys change (channel dv_keys); hooks (or NULL) is told of the tenants' hook changes announced on the
 * channel dv_hooks, and to forget them all when the connection was lost. */
struct dv_gallery *dv_gallery_start(const char *conninfo, const char *node, struct dv_hooklib *hooks,
    struct dv_keyuse *keys);
void dv_gallery_stop(struct dv_gallery *g);
/* Serve generation gen from now on (a reference is taken); its
 * gallery_ready is set once loaded. Without a database, or without a
 * matcher, it is ready at once. */
void dv_gallery_serve(struct dv_gallery *g, struct dv_gen *gen);
/* A worker committed face (tenant) with this vector / deleted these faces. */
void dv_gallery_added(struct dv_gallery *g, struct dv_gen *gen, uint64_t tenant, uint64_t face, const float *vec,
    int dim);
void dv_gallery_removed(struct dv_gallery *g, struct dv_gen *gen, uint64_t tenant, const uint64_t *faces, int n);
/* Faces of one tenant held for the served generation: the N of the
 * decision by false-positive identification rate. */
long long dv_gallery_tenant_faces(struct dv_gallery *g, uint64_t tenant);
/* The people a tenant has enrolled (the cohort decision's gallery size), as
 * last counted in the background after its gallery changed (0 before the
 * first count), never more than its faces held now. */
long long dv_gallery_tenant_people(struct dv_gallery *g, uint64_t tenant);
/* The tenant's correction of the decision (match.tenant_correction): the
 * distance to take off the calibrated threshold, computed by the gallery's
 * thread from the tenant's own impostors whenever its gallery changes; 0 when
 * none. */
double dv_gallery_tenant_shift(struct dv_gallery *g, uint64_t tenant);
/* Faces held for the served generation, and notifications applied. */
void dv_gallery_stats(struct dv_gallery *g, long long *faces, long long *notifications, bool *connected);
#endif
