/*
 * netx_prose_names - a first NetX Duo program written from the text of
 * chapter 1 of the NetX Duo POP3 and SMTP client guides, which name three
 * services differently from their reference sections:
 * nx_pop3_client_get_mail_item, nx_pop3_client_mail_item_get_message_data and
 * nx_smtp_client_mail. postie_netx accepts those names (aliases of
 * nx_pop3_client_mail_item_get, nx_pop3_client_mail_item_message_get and
 * nx_smtp_mail_send; docs/netx-compat.md). Only the prose names are used
 * here for those three services. Driven by the scripted server
 * (tests/scripted/cases/netx_prose_names_*.txt):
 *
 *   netx_prose_names HOST PORT pop3 USER PASS
 *       every mail item: size, the message packet by packet, delete; QUIT
 *   netx_prose_names HOST PORT smtp USER PASS FROM TO
 *       one mail, subject "Hello", body "Hello from NetX.\r\n"
 *
 * Prints one line per service call; exit 0 when all returned NX_SUCCESS.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx_api.h"
#include "nxd_pop3_client.h"
#include "nxd_smtp_client.h"

static ULONG pool_memory[8192];
static NX_PACKET_POOL pool;
static NX_IP ip;
static NX_POP3_CLIENT pop3;
static NX_SMTP_CLIENT smtp;
static char message[4096];

/* The message on one line, \r and \n escaped. */
static void print_escaped(const char *p, size_t n)
{
    size_t i;
    fputs("message: ", stdout);
    for (i = 0; i < n; i++) {
        if (p[i] == '\r') fputs("\\r", stdout);
        else if (p[i] == '\n') fputs("\\n", stdout);
        else if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e) printf("\\x%02x", (unsigned char)p[i]);
        else putchar(p[i]);
    }
    putchar('\n');
}

static int pop3_session(NXD_ADDRESS *server, ULONG port, CHAR *user, CHAR *pass)
{
    UINT items = 0, i, st;
    ULONG total = 0;
    int rc = 0;

    st = nxd_pop3_client_create(&pop3, NX_FALSE, &ip, &pool, server, port, user, pass);
    printf("create 0x%02x\n", st);
    if (st != NX_SUCCESS) {
        return 1;
    }
    st = nx_pop3_client_mail_items_get(&pop3, &items, &total);
    printf("items %u %lu (0x%02x)\n", items, total, st);
    for (i = 1; st == NX_SUCCESS && i <= items; i++) {
        ULONG size = 0, got, bytes = 0;
        UINT final = NX_FALSE;
        NX_PACKET *pkt;

        /* "the application can obtain the size of a specific mail item,
         * using the nx_pop3_client_get_mail_item service" */
        st = nx_pop3_client_get_mail_item(&pop3, i, &size);
        printf("get_mail_item %u: size %lu (0x%02x)\n", i, size, st);
        /* "call the nx_pop3_client_mail_item_get_message_data service to
         * retrieve the mail message packets until the service indicates the
         * last packet is received by the final_packet input argument" */
        while (st == NX_SUCCESS && !final) {
            st = nx_pop3_client_mail_item_get_message_data(&pop3, &pkt, &got, &final);
            if (st == NX_SUCCESS) {
                printf("packet %lu bytes\n", got);
                if (bytes + got <= sizeof message) {
                    memcpy(message + bytes, pkt->nx_packet_prepend_ptr, got);
                }
                bytes += got;
                nx_packet_release(pkt);
            }
        }
        printf("get_message_data %u: %lu bytes, final %u (0x%02x)\n", i, bytes, final, st);
        if (bytes <= sizeof message) {
            print_escaped(message, bytes);
        }
        if (st == NX_SUCCESS) {
            st = nx_pop3_client_mail_item_delete(&pop3, i);
            printf("delete %u (0x%02x)\n", i, st);
        }
    }
    if (st != NX_SUCCESS) {
        rc = 1;
    }
    st = nx_pop3_client_quit(&pop3);
    printf("quit 0x%02x\n", st);
    nx_pop3_client_delete(&pop3);
    return rc || st != NX_SUCCESS;
}

static int smtp_session(NXD_ADDRESS *server, UINT port, CHAR *user, CHAR *pass, CHAR *from, CHAR *to)
{
    static CHAR subject[] = "Hello";
    static CHAR body[] = "Hello from NetX.\r\n";
    UINT st = nxd_smtp_client_create(&smtp, &ip, &pool, user, pass, from, "client.example",
                                     NX_SMTP_CLIENT_AUTH_PLAIN, server, port);
    printf("create 0x%02x\n", st);
    if (st != NX_SUCCESS) {
        return 1;
    }
    /* "an application that wishes to send mail must supply a recipient
     * address in the nx_smtp_client_mail call" */
    st = nx_smtp_client_mail(&smtp, to, NX_SMTP_MAIL_PRIORITY_NORMAL, subject, body,
                             (UINT)strlen(body));
    printf("client_mail 0x%02x reply %u\n", st, smtp.nx_smtp_client_reply_code_status);
    nx_smtp_client_delete(&smtp);
    return st != NX_SUCCESS;
}

int main(int argc, char **argv)
{
    NXD_ADDRESS server;
    unsigned char a[4];
    int rc;

    if (argc < 6 || inet_pton(AF_INET, argv[1], a) != 1 ||
        (strcmp(argv[3], "smtp") == 0 && argc != 8)) {
        fprintf(stderr, "usage: %s HOST PORT pop3 USER PASS | HOST PORT smtp USER PASS FROM TO\n",
                argv[0]);
        return 2;
    }
    memset(&server, 0, sizeof server);
    server.nxd_ip_version = NX_IP_VERSION_V4;
    server.nxd_ip_address.v4 = IP_ADDRESS(a[0], a[1], a[2], a[3]);
    nx_system_initialize();
    if (nx_packet_pool_create(&pool, "pool", 64, pool_memory, sizeof pool_memory) != NX_SUCCESS ||
        nx_ip_create(&ip, "ip", IP_ADDRESS(127, 0, 0, 1), 0xFFFFFF00UL, &pool, _nx_ram_network_driver,
                     pool_memory, 0, 1) != NX_SUCCESS ||
        nx_tcp_enable(&ip) != NX_SUCCESS) {
        puts("setup failed");
        return 1;
    }
    if (strcmp(argv[3], "pop3") == 0) {
        rc = pop3_session(&server, (ULONG)atol(argv[2]), argv[4], argv[5]);
    } else {
        rc = smtp_session(&server, (UINT)atoi(argv[2]), argv[4], argv[5], argv[6], argv[7]);
    }
    nx_packet_pool_delete(&pool);
    return rc;
}
