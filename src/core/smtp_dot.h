/*
 * The DATA encoder's end for the SMTP session (private to the library):
 * postie_smtp_dot_finish() without its argument checks, for a caller that
 * has made POSTIE_SMTP_DOT_FINISH_MAX bytes of room at out. Returns the
 * number of bytes written.
 */
#ifndef POSTIE_SMTP_DOT_H
#define POSTIE_SMTP_DOT_H

#include "postie/smtp_proto.h"

size_t postie_smtp_dot_end(postie_smtp_dot *d, char *out);

#endif /* POSTIE_SMTP_DOT_H */
