/*
 * demo_settings.h - where the NetX Duo sample programs send and fetch mail.
 *
 * On a target, edit the values in the #else branch (as in the NetX Duo
 * guides). The test build compiles the samples with NETX_DEMO_FROM_ENV, so
 * that the same unchanged sources talk to the loopback Dovecot and Postfix of
 * scripts/teststack.sh: each value then comes from the environment variable
 * named beside it (the names of the stack's env file), or the default.
 */
#ifndef NETX_DEMO_SETTINGS_H
#define NETX_DEMO_SETTINGS_H

#include "nx_api.h"

#ifdef NETX_DEMO_FROM_ENV
#include <arpa/inet.h>
#include <stdlib.h>

static ULONG demo_env_address(const char *name, ULONG fallback)
{
    const char *v = getenv(name);
    unsigned char a[4];
    if (v == NULL || inet_pton(AF_INET, v, a) != 1) {
        return fallback;
    }
    return IP_ADDRESS(a[0], a[1], a[2], a[3]);
}

static ULONG demo_env_number(const char *name, ULONG fallback)
{
    const char *v = getenv(name);
    return (v != NULL && *v != '\0') ? strtoul(v, NULL, 10) : fallback;
}

static CHAR *demo_env_string(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return (CHAR *)((v != NULL && *v != '\0') ? v : fallback);
}

#define DEMO_SERVER_ADDRESS  demo_env_address("STACK_HOST", IP_ADDRESS(192, 2, 2, 34))
#define DEMO_POP3_PORT       demo_env_number("POP3_PORT", 110)
#define DEMO_SMTP_PORT       ((UINT)demo_env_number("SMTP_PORT", 25))
#define DEMO_USERNAME        demo_env_string("USER1", "recipient@domain.com")
#define DEMO_PASSWORD        demo_env_string("PASS1", "testpwd")
#define DEMO_FROM_ADDRESS    demo_env_string("USER1", "recipient@domain.com")
#define DEMO_RECIPIENT       demo_env_string("NETX_DEMO_RECIPIENT", "recipient@domain.com")
#define DEMO_SUBJECT         demo_env_string("NETX_DEMO_SUBJECT", "NetX Duo SMTP client demo")
#define DEMO_APOP            ((UINT)demo_env_number("NETX_DEMO_APOP", NX_TRUE))
#else
#define DEMO_SERVER_ADDRESS  IP_ADDRESS(192, 2, 2, 34)
#define DEMO_POP3_PORT       110
#define DEMO_SMTP_PORT       25
#define DEMO_USERNAME        "recipient@domain.com"
#define DEMO_PASSWORD        "testpwd"
#define DEMO_FROM_ADDRESS    "recipient@domain.com"
#define DEMO_RECIPIENT       "recipient@domain.com"
#define DEMO_SUBJECT         "NetX Duo SMTP client demo"
#define DEMO_APOP            NX_TRUE
#endif

#endif /* NETX_DEMO_SETTINGS_H */
