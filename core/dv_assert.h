/* dv_assert.h — always-on checks of invariants (never compiled out: a
 * broken invariant in a server that holds people's faces must stop it, not
 * let it answer wrongly). DV_ASSERT(cond) logs the condition and where, then
 * aborts; DV_CHECK_MAGIC checks an object's magic number (a use after free,
 * or a pointer to the wrong kind of object). */
#ifndef DV_ASSERT_H
#define DV_ASSERT_H
#include <stdint.h>

_Noreturn void dv_assert_fail(const char *cond, const char *file, int line);
void dv_check_magic(uint32_t got, uint32_t want, const char *file, int line);

#define DV_ASSERT(cond) ((cond) ? (void)0 : dv_assert_fail(#cond, __FILE__, __LINE__))
#define DV_CHECK_MAGIC(obj, want) dv_check_magic((obj) ? (obj)->magic : 0, (want), __FILE__, __LINE__)
#endif
