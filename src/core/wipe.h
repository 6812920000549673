/*
 * Clearing secrets (private): postie_wipe() clears memory that is about to
 * go out of scope (a key, a pad or a digest on the stack). A memset() there
 * is a dead store that an optimising compiler may drop, leaving key
 * material on the stack; the writes through a volatile pointer cannot be.
 */
#ifndef POSTIE_WIPE_H
#define POSTIE_WIPE_H

#include <stddef.h>

void postie_wipe(void *p, size_t n);

#endif /* POSTIE_WIPE_H */
