/*
 * tools/netrc.h - ~/.netrc lookup.
 */
#ifndef POSTIE_TOOLS_NETRC_H
#define POSTIE_TOOLS_NETRC_H


/* ---- ~/.netrc ---------------------------------------------------------- */

/* Looks up the password for host (and user, when non-NULL: a "machine" entry
 * with another login is skipped) in netrc text; "default" matches any host.
 * Returns a malloc'd password, or NULL when none matches. */
char *tool_netrc_lookup(const char *text, const char *host, const char *user);

#endif /* POSTIE_TOOLS_NETRC_H */
